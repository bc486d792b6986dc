"""Every read of the ticket system, always scoped with `visible_to`."""
