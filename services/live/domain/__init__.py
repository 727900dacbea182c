"""The live core: game state per sport and per-fixture event sequencing. No gRPC, no Redis."""
