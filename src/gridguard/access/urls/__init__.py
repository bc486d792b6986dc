"""The access app's page urls, one module per concept (mounted in config/urls.py)."""
