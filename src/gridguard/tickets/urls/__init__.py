"""The ticket app's urls, one module per concept (mounted in config/urls.py)."""
