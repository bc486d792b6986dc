"""The access app's API routers, one module per concept (mounted in config/api.py)."""
