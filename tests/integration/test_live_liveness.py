"""The feed watchdog on real Redis: a fixture whose pricing state it cannot read does not stop
it from suspending every other fixture whose feed died (a poison fixture once left them open)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from services.live.adapters.redis_liveness import RedisLiveness
from services.live.domain.game import MatchStatus


@pytest.fixture
async def liveness(redis_url: str) -> AsyncIterator[RedisLiveness]:
    client = aioredis.Redis.from_url(redis_url)
    yield RedisLiveness(
        client, producer="feed-a", deadline_seconds=1, prefix=f"test:live:{uuid.uuid4().hex[:8]}"
    )
    await client.aclose()  # type: ignore[attr-defined]


async def test_a_dead_feed_is_seen_despite_a_fixture_with_unreadable_state(
    liveness: RedisLiveness,
) -> None:
    client = liveness.client
    poison, healthy = "fx-poison", "fx-healthy"
    await liveness.touch("feed-a", [poison, healthy], recover=False)
    for fixture in (poison, healthy):
        await client.hset(liveness.game_key(fixture), "status", MatchStatus.LIVE.value)
    # Encoded protobuf beside the text fields: not UTF-8.
    await client.hset(liveness.pricing_key(poison), "image", b"\x8f\x00\xff")
    long_ago = await liveness.now() - 60
    await client.zadd(liveness.alive_fixtures_key, {poison: long_ago, healthy: long_ago})
    suspended = await liveness.sweep()
    assert set(suspended) == {poison, healthy}


async def test_the_heartbeat_names_only_watched_fixtures_with_a_live_feed_and_no_hold(
    liveness: RedisLiveness,
) -> None:
    """Bets takes in-play bets only on what live's heartbeat names: never a fixture whose feed
    is late or lost, whose events have a gap, or that an operator holds."""
    client = liveness.client
    fixtures = ["fx-ok", "fx-held", "fx-gap", "fx-lost", "fx-late", "fx-over"]
    for fixture in fixtures:
        await client.hset(liveness.game_key(fixture), "status", MatchStatus.LIVE.value)
    await liveness.touch("feed-a", fixtures, recover=False)
    await client.hset(liveness.pricing_key("fx-held"), "operator", 1)
    await client.hset(liveness.pricing_key("fx-gap"), "gap", 1)
    await client.hset(liveness.pricing_key("fx-lost"), "feed_lost", 1)
    await client.hset(liveness.pricing_key("fx-late"), "alive_at", await liveness.now() - 60)
    # Over: the next touch forgets it (the feed says so before it goes quiet).
    await client.hset(liveness.game_key("fx-over"), "status", MatchStatus.ENDED.value)
    await liveness.touch("feed-a", ["fx-over"], recover=False)
    assert await liveness.watched() == ["fx-ok"]
    # The feed itself gone quiet: nothing of it is vouched for.
    await client.zadd(liveness.alive_producers_key, {"feed-a": await liveness.now() - 60})
    assert await liveness.watched() == []
