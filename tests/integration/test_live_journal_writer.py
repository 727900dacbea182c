"""The live journal's writer (services/live/adapters/redis_journal.py) on real Redis, bus events
published as the gateway publishes them.

A batch can take longer to translate than the writer's lease lasts: hundreds of events replayed
from the bus on a busy machine, or fixture names asked of a gateway that answers slowly. The
writer must keep its lease through the batch; if it let the lease lapse, every commit would be
refused and the writer, starting the same batch over, would never get past it (CI saw every
stream of a module wait in vain while the writer logged "lost its lease" over and over).

A new journal (a new BETMESH_LIVE_STREAM_PREFIX on a bus that has long been running) starts
at its look-back before its first process started, never at the bus's first entry: replaying
weeks of prices, settlements and cancels would hand partners history as news, and take as long
to catch up. A journal that already exists resumes where it stopped, whatever the setting.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import sport_pb2

from service_runtime.events import EventPublisher, Topic, stream_key
from service_runtime.live_bet_delay import LiveBetDelays
from services.live.adapters.redis_journal import JournalWriter, Keys
from tests.integration.test_live_stream import LIVE, new_fixture, publish_prices

LEASE_SECONDS = 3.0


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()  # type: ignore[attr-defined]


async def journal_fixtures(client: aioredis.Redis, keys: Keys) -> set[str]:
    entries: Any = await client.xrange(keys.journal)
    return {fields[b"f"].decode() for _, fields in entries}


def new_keys() -> Keys:
    return Keys(f"test:journal:{uuid.uuid4().hex[:8]}")


def new_writer(
    client: aioredis.Redis, keys: Keys, lookback_seconds: float, fixtures: Any = None
) -> JournalWriter:
    return JournalWriter(
        client,
        keys,
        fixtures,
        window_seconds=300,
        lease_seconds=LEASE_SECONDS,
        delays=LiveBetDelays.standard(),
        lookback_seconds=lookback_seconds,
    )


async def priced(client: aioredis.Redis) -> str:
    """A new fixture whose prices the gateway has just published on the bus."""
    fixture_id = new_fixture()
    await publish_prices(EventPublisher(client, "betmesh.gateway"), fixture_id, LIVE, 20000)
    return fixture_id


async def after_the_bus_end(client: aioredis.Redis) -> None:
    """Returns once the Redis clock is past the millisecond of the bus's newest price: a journal
    opened now starts after it (one opened in the same millisecond includes it)."""
    newest: Any = await client.xrevrange(stream_key(Topic.QUOTE_SET_ACCEPTED), count=1)
    last_ms = int(newest[0][0].decode().split("-")[0])
    while True:
        seconds, micros = await client.time()
        if seconds * 1000 + micros // 1000 > last_ms:
            return
        await asyncio.sleep(0.001)


async def journal_until(
    client: aioredis.Redis, writer: JournalWriter, keys: Keys, wanted: set[str]
) -> set[str]:
    """Steps the writer until the journal has `wanted` (bounded: the bus this session has
    filled may take a few batches); the fixtures the journal then holds."""
    for _ in range(1_000):
        await writer.step()
        journaled = await journal_fixtures(client, keys)
        if wanted <= journaled:
            return journaled
    raise AssertionError(f"{wanted - journaled} never reached the journal")


async def test_a_batch_slower_than_the_lease_is_committed(
    redis_url: str, client: aioredis.Redis
) -> None:
    keys = new_keys()
    slow = {new_fixture() for _ in range(3)}

    async def fixture_names(fixture_id: str) -> sport_pb2.Fixture | None:
        if fixture_id in slow:
            # A gateway slow to answer: the three together take longer than the lease.
            await asyncio.sleep(LEASE_SECONDS / 2)
        return None

    writer = new_writer(client, keys, 0, fixture_names)
    await writer.open()
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


async def test_a_new_journal_starts_at_the_bus_end_not_at_its_first_entry(
    client: aioredis.Redis,
) -> None:
    # History on the bus before the journal exists (and whatever this session published).
    earlier = await priced(client)
    await after_the_bus_end(client)
    keys = new_keys()
    writer = new_writer(client, keys, lookback_seconds=0)
    assert await writer.open()
    assert not await writer.open()  # set once: the next process keeps the first one's start
    later = await priced(client)
    journaled = await journal_until(client, writer, keys, {later})
    assert earlier not in journaled
    assert journaled == {later}


async def test_a_new_journal_takes_the_bus_events_of_its_look_back(
    client: aioredis.Redis,
) -> None:
    # The mesh's gateway prices every scheduled fixture before live starts: a journal that
    # starts within the look-back of those prices still offers them to partners.
    priced_before = await priced(client)
    keys = new_keys()
    writer = new_writer(client, keys, lookback_seconds=3600)
    await journal_until(client, writer, keys, {priced_before})


async def test_an_existing_journal_resumes_where_it_stopped(client: aioredis.Redis) -> None:
    keys = new_keys()
    first = new_writer(client, keys, lookback_seconds=0)
    await first.open()
    before = await priced(client)
    await journal_until(client, first, keys, {before})
    await first.resign()
    # Published while no writer ran: the next one, whatever its look-back, does not skip it.
    while_down = await priced(client)
    second = new_writer(client, keys, lookback_seconds=0)
    assert not await second.open()
    assert await journal_until(client, second, keys, {while_down}) == {before, while_down}
