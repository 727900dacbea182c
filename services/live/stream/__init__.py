"""StreamOdds: the partner odds stream, built only from the internal event bus.

- `filters`, `resume`, `translate`, `settlement`, `book`, `subscriber`, `hub`: the core (pure
  Python and protobuf messages; no gRPC, no Redis);
- `redis_journal`: the adapters (the journal writer, the journal tail, the stream registry);
- `service`: what the servicer calls.

See `redis_journal` for why the journal is written by one leader and read by every process.
"""
