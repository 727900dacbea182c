"""Pricing core: pure functions from a model snapshot and a fixture to a canonical quote set.
Knows nothing of gRPC or storage."""
