"""Fixed-window call counters in Redis (services.identity.domain.throttle.Counter), shared by
every identity process so a client cannot spread its calls over replicas."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis.asyncio as aioredis

PREFIX = "betmesh:identity:throttle:"


class RedisCounter:
    def __init__(self, client: aioredis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock

    async def count(self, key: str, window_seconds: int) -> tuple[int, float]:
        now = self.clock()
        window = int(now // window_seconds)
        name = f"{PREFIX}{key}:{window}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            # A little past the window's end: the key is never read after it.
            pipe.expire(name, window_seconds + 5)
            used, _ = await pipe.execute()
        return int(used), (window + 1) * window_seconds - now
