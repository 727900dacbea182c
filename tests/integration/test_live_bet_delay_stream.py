"""On the wire: a live process's StreamOdds announces, in a live odds_change, the live-bet delay
the bets service reads from the same environment (an operator's delays, a replayed feed's
speed), exact in bet_delay_ms and rounded up in bet_delay_seconds."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from service_runtime.events import EventPublisher
from services.bets.domain.live_delay import live_delay
from services.bets.settings import BetsSettings
from tests.integration.test_live_stream import (
    LIVE,
    Live,
    Reader,
    new_fixture,
    only,
    publish_prices,
    start_live,
)

# One setting for both processes, as the launcher and the common ConfigMap pass it.
SHARED = {
    "BETMESH_BETS_LIVE_DELAY_SECONDS": "football=7.5,tennis=3,basketball=4",
    "BETMESH_BETS_FEED_SPEED": "3",
}


@pytest.fixture
async def live(redis_url: str) -> AsyncIterator[Live]:
    started = await start_live(redis_url, f"test:delay:{uuid.uuid4().hex[:8]}", None, **SHARED)
    yield started
    await started.channel.close()
    await started.host.stop(0)


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[EventPublisher]:
    client = aioredis.Redis.from_url(redis_url)
    yield EventPublisher(client, "betmesh.gateway")
    await client.aclose()  # type: ignore[attr-defined]


async def test_the_stream_announces_the_delay_bets_applies(live: Live, bus: EventPublisher) -> None:
    rules = BetsSettings.from_env({"BETMESH_DATABASE_URL": "postgresql://x/y", **SHARED}).rules
    applied = live_delay(rules, ["FOOTBALL"])
    assert applied == 2.5  # 7.5 s of the feed's time at 3x
    fixture = new_fixture()
    reader = Reader(live.stub, only(fixture))
    await reader.image()
    await publish_prices(bus, fixture, LIVE, 21000)  # a football fixture
    (update,) = await reader.updates(1)
    odds = update.odds_change
    assert odds.phase == LIVE
    assert odds.bet_delay_ms == round(applied * 1000)
    assert odds.bet_delay_seconds == math.ceil(applied) == 3
    reader.cancel()
