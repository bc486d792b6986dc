"""The health app's services, one module per concept."""
