"""The live journal's writer (services/live/adapters/redis_journal.py) on real Redis, bus events
published as the gateway publishes them.

A batch can take longer to translate than the writer's lease lasts: hundreds of events replayed
from the bus on a busy machine, or fixture names asked of a gateway that answers slowly. The
writer must keep its lease through the batch; if it let the lease lapse, every commit would be
refused and the writer, starting the same batch over, would never get past it (CI saw every
stream of a module wait in vain while the writer logged "lost its lease" over and over).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import sport_pb2

from service_runtime.events import EventPublisher
from service_runtime.live_bet_delay import LiveBetDelays
from services.live.adapters.redis_journal import JournalWriter, Keys
from tests.integration.test_live_stream import (
    LIVE,
    new_fixture,
    publish_prices,
    start_journal_at_the_bus_end,
)

LEASE_SECONDS = 3.0


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()  # type: ignore[attr-defined]


async def journal_fixtures(client: aioredis.Redis, keys: Keys) -> set[str]:
    entries: Any = await client.xrange(keys.journal)
    return {fields[b"f"].decode() for _, fields in entries}


async def test_a_batch_slower_than_the_lease_is_committed(
    redis_url: str, client: aioredis.Redis
) -> None:
    keys = Keys(f"test:journal:{uuid.uuid4().hex[:8]}")
    await start_journal_at_the_bus_end(redis_url, keys.prefix)
    slow = {new_fixture() for _ in range(3)}

    async def fixture_names(fixture_id: str) -> sport_pb2.Fixture | None:
        if fixture_id in slow:
            # A gateway slow to answer: the three together take longer than the lease.
            await asyncio.sleep(LEASE_SECONDS / 2)
        return None

    writer = JournalWriter(
        client,
        keys,
        fixture_names,
        window_seconds=300,
        lease_seconds=LEASE_SECONDS,
        delays=LiveBetDelays.standard(),
    )
    bus = EventPublisher(client, "betmesh.gateway")
    for fixture_id in sorted(slow):
        await publish_prices(bus, fixture_id, LIVE, 20000)
    for _ in range(5):
        # A lost lease raises out of step(): the batch was not committed.
        await writer.step()
        if slow <= await journal_fixtures(client, keys):
            break
    assert slow <= await journal_fixtures(client, keys)
    assert writer.leading
