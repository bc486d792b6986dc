"""The health app's api, one module per concept."""
