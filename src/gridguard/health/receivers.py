"""Signal receivers of the health app (connected in HealthConfig.ready)."""
