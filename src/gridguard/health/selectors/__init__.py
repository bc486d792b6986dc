"""The health app's selectors, one module per concept."""
