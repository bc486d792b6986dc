"""Every write of the ticket system: intake, routing and deadlines, handling."""
