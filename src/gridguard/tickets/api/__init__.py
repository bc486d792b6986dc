"""The ticket API: hotline connectors' intake and reads of cases (under /api/v1/tickets)."""
