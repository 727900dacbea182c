"""The Redis client every service opens: a bounded wait on Redis itself.

redis-py waits for an answer without a bound by default, so a Redis that stops answering
without closing its sockets (a partition, a frozen server or proxy) held each command, and the
call or background pass behind it, until the caller's deadline or for ever: live answered
GetGameState DEADLINE_EXCEEDED after the client's whole deadline through a blackholed proxy
(tests/integration/test_store_outages.py). Every connection here waits at most
`answer_seconds` (BETMESH_REDIS_ANSWER_SECONDS) to connect and for each answer; redis-py then
raises its TimeoutError and drops the connection, which a served call answers UNAVAILABLE
DEPENDENCY_UNAVAILABLE (outages.py) and the background runner logs and backs off from. A
blocking read (XREAD BLOCK, a pub/sub wait) must block for less than that: the settings that
set one are checked against it. The gateway (gateway/app.py) does not use it yet.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis


def bounded(answer_seconds: float) -> dict[str, Any]:
    """The connection options that bound every wait on Redis to `answer_seconds`."""
    return {"socket_timeout": answer_seconds, "socket_connect_timeout": answer_seconds}


def connect(url: str, answer_seconds: float) -> aioredis.Redis:
    """A client on `url` whose every command waits at most `answer_seconds` for Redis."""
    return aioredis.Redis.from_url(url, **bounded(answer_seconds))
