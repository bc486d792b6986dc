"""The health app's urls, one module per concept."""
