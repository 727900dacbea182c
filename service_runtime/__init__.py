"""The runtime every betmesh service is built on: server bootstrap, settings, telemetry, logs,
errors, authentication hook, channels and the internal event bus."""
