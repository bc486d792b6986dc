"""Reads of access records, always scoped, one module per concept."""
