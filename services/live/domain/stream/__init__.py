"""StreamOdds' core: the partner odds stream, built only from the internal event bus.

`filters`, `resume`, `translate`, `settlement`, `book`, `owner`, `subscriber` (conflation,
sequencing, resume tokens) and `hub` (fan-out): pure Python and protobuf messages; no gRPC, no
Redis (tests/unit/test_layout.py holds every domain to that).
The journal and the stream registry are adapters (`services/live/adapters/redis_journal.py`,
which says why the journal is written by one leader and read by every process); what the
servicer calls is the service layer (`services/live/service_layer/streams.py`, its ports in
`ports.py`).
"""
