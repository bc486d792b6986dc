"""Ticket pages, one module per concept."""
