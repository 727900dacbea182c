"""Feed liveness and fixture holds in Redis, shared by every live process.

Why: a feed that dies mid-match must never leave markets open on prices nobody is watching.
Every ingest and every feed heartbeat "touches" the fixture and its producer (the feed, as
MatchEvent.source names it); a watchdog in every live process suspends, with reason FEED_LOST,
every live fixture not touched within the deadline, or whose producer is not. The fixture is
then held: the repricer prices nothing for it and reopens nothing (domain/repricing.py), until
the feed is back with nothing missing (the next event applied in sequence, whose touch lifts
the hold, or a heartbeat whose last sequence is the one applied: `progress`; see
domain/liveness.py), and a fresh reprice is accepted. A heartbeat's last sequence ahead of
the applied one holds the fixture FEED_GAP until the events are applied. An operator's
suspension (reason OPERATOR) is a hold of the same kind, lifted by ResumeFixture.

Keys (beside the repricing state of adapters/redis_store.py, same prefix):
- `<prefix>:alive:fixtures` (sorted set): live fixture -> when last touched (Redis TIME);
- `<prefix>:alive:producers` (sorted set): producer -> when last heard from;
- `<prefix>:producer:<source>` (set): the live fixtures a producer covers;
- in `<prefix>:pricing:<fixture_id>`: `source`, `alive_at`, `feed_lost`, `operator` and
  `feed_epoch` (bumped at every recovery: a reprice started before it cannot reopen);
- in `<prefix>:game:<fixture_id>`: `announced_sequence` (adapters/redis_store.py).
A touch is one script (an applied event's recovery is atomic with it); a suspension, and a
heartbeat's last sequence, are WATCHed transactions on the pricing and game hashes, which
every touch and every applied event write, so a touch that lands between the watchdog's read
and its write cancels the suspension, and an event applied between a heartbeat's read and its
write makes it read again. When a feed counts as lost, when it is back and what a hold writes
are the domain's (domain/liveness.py); this adapter reads, asks and writes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2
from betmesh.events.v1 import events_pb2
from redis.exceptions import WatchError

from service_runtime.background import stopping
from service_runtime.errors import Aborted
from service_runtime.events import EventPublisher, Topic
from service_runtime.outages import as_outage
from services.live.domain.game import MatchStatus
from services.live.domain.liveness import (
    FeedCheck,
    FixtureProgress,
    HoldPlan,
    ProgressPlan,
    check_feed,
    feed_lost_plan,
    operator_hold_plan,
    progress_plan,
    vouched_for,
)
from services.live.domain.repricing import FEED_GAP, FEED_LOST, OPERATOR, fixture_hold

log = logging.getLogger(__name__)

# Heartbeats are evidence for seconds: the stream keeps about this many (bets' per-process
# groups read them as they come; a new one reads at most these once).
HEARTBEAT_STREAM_LENGTH = 1_000
# A heartbeat's write races the fixture's events and reprices; this many lost races means
# something is wrong, and the feed may retry.
MAX_ATTEMPTS = 100

# KEYS: alive fixtures, alive producers, the producer's fixture set, pricing hash, game hash,
# due set. ARGV: fixture id, source, "1" when the touch may end a feed loss (the caller asked
# the domain: ingest_ends_feed_loss). Returns 1 when the touch ended a feed loss.
_TOUCH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('ZADD', KEYS[2], now, ARGV[2])
if redis.call('HGET', KEYS[5], 'status') ~= 'LIVE' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], 'source', ARGV[2], 'alive_at', now)
if ARGV[3] == '1' and redis.call('HGET', KEYS[4], 'feed_lost') == '1' then
  redis.call('HSET', KEYS[4], 'feed_lost', 0)
  redis.call('HINCRBY', KEYS[4], 'feed_epoch', 1)
  redis.call('ZADD', KEYS[6], 0, ARGV[1])
  return 1
end
return 0
"""

_PRODUCER = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(t[2]) / 1e6, ARGV[1])
return 1
"""


@dataclass(frozen=True)
class ProducerSeen:
    source: str
    last_seen_at: float
    alive: bool


class RedisLiveness:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        producer: str,
        deadline_seconds: float,
        prefix: str = "betmesh:live",
    ) -> None:
        self.client = client
        self.producer = producer
        self.deadline_seconds = deadline_seconds
        self.prefix = prefix
        self._touch = client.register_script(_TOUCH)
        self._heard = client.register_script(_PRODUCER)

    @property
    def alive_fixtures_key(self) -> str:
        return f"{self.prefix}:alive:fixtures"

    @property
    def alive_producers_key(self) -> str:
        return f"{self.prefix}:alive:producers"

    def producer_key(self, source: str) -> str:
        return f"{self.prefix}:producer:{source}"

    def pricing_key(self, fixture_id: str) -> str:
        return f"{self.prefix}:pricing:{fixture_id}"

    def game_key(self, fixture_id: str) -> str:
        return f"{self.prefix}:game:{fixture_id}"

    @property
    def due_key(self) -> str:
        return f"{self.prefix}:due"

    # ---- heard from the feed -----------------------------------------------------------------

    async def touch(self, source: str, fixture_ids: list[str], *, recover: bool) -> list[str]:
        """The producer and these fixtures are alive now; with `recover`, their feed losses
        end. Returns the fixtures it recovered."""
        if not fixture_ids:
            await self._heard(keys=[self.alive_producers_key], args=[source])
            return []
        recovered = []
        for fixture_id in fixture_ids:
            ended = await self._touch(
                keys=[
                    self.alive_fixtures_key,
                    self.alive_producers_key,
                    self.producer_key(source),
                    self.pricing_key(fixture_id),
                    self.game_key(fixture_id),
                    self.due_key,
                ],
                args=[fixture_id, source, "1" if recover else "0"],
            )
            if ended:
                recovered.append(fixture_id)
        return recovered

    async def progress(self, fixtures: Sequence[FixtureProgress]) -> list[ProgressPlan]:
        """The feed says which sequence it sent up to for each fixture: writes what the domain
        plans from that (progress_plan) and returns the plans, in order. The caller touched
        the fixtures first, so the feed counts as alive. One read of them all; a transaction
        only where the plan writes (a recovery, a gap), read again under WATCH: a heartbeat
        up to date with open fixtures, the usual one, costs one round trip."""
        if not fixtures:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for item in fixtures:
                pipe.hmget(self.game_key(item.fixture_id), *_GAME_FIELDS)
                pipe.hmget(self.pricing_key(item.fixture_id), *_PRICING_FIELDS)
            rows: Any = await pipe.execute()
        plans = []
        for index, item in enumerate(fixtures):
            plan = _progress_plan(item, rows[2 * index], rows[2 * index + 1])
            if plan.writes:
                plan = await self._progress(item)
            plans.append(plan)
        return plans

    async def _progress(self, item: FixtureProgress) -> ProgressPlan:
        fixture_id = item.fixture_id
        pricing_key, game_key = self.pricing_key(fixture_id), self.game_key(fixture_id)
        async with self.client.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(pricing_key, game_key)
                    game: Any = await pipe.hmget(game_key, *_GAME_FIELDS)
                    pricing: Any = await pipe.hmget(pricing_key, *_PRICING_FIELDS)
                    plan = _progress_plan(item, game, pricing)
                    if not plan.writes:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return plan
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if plan.hold.fields:
                        await self._write(pipe, fixture_id, plan.hold)
                    if plan.ends_loss:
                        pipe.hincrby(pricing_key, "feed_epoch", 1)
                    if plan.announced is not None:
                        pipe.hset(game_key, "announced_sequence", plan.announced)
                    await pipe.execute()
                except WatchError:
                    continue
                if plan.behind is not None and plan.hold.publications:
                    log.warning(
                        "feed ahead of live: fixture suspended until the missing events come",
                        extra={
                            "fixture_id": fixture_id,
                            "applied_sequence": plan.behind.applied_sequence,
                            "last_sequence": item.last_sequence,
                        },
                    )
                return plan
        raise Aborted(
            "CONCURRENT_UPDATE",
            f"fixture {fixture_id} kept changing under this heartbeat; retry",
            {"fixture_id": fixture_id},
        )

    async def now(self) -> float:
        seconds, micros = await self.client.time()
        return float(seconds) + micros / 1e6

    # ---- the watchdog ------------------------------------------------------------------------

    async def producers(self) -> list[ProducerSeen]:
        now = await self.now()
        found: Any = await self.client.zrange(self.alive_producers_key, 0, -1, withscores=True)
        return [
            ProducerSeen(
                bytes(source).decode(), float(seen), now - float(seen) <= self.deadline_seconds
            )
            for source, seen in found
        ]

    async def sweep(self, limit: int = 1_000) -> list[str]:
        """Suspends (FEED_LOST) every live fixture whose feed passed its deadline; returns them."""
        now = await self.now()
        cutoff = now - self.deadline_seconds
        stale: Any = await self.client.zrangebyscore(
            self.alive_fixtures_key, "-inf", cutoff, start=0, num=limit
        )
        candidates = {bytes(f).decode() for f in stale}
        for producer in await self.producers():
            if not producer.alive:
                members: Any = await self.client.srandmember(
                    self.producer_key(producer.source), limit
                )
                candidates |= {bytes(f).decode() for f in members or []}
        suspended = []
        for fixture_id in sorted(candidates):
            try:
                if await self._suspend_lost(fixture_id, cutoff):
                    suspended.append(fixture_id)
            except Exception as exc:
                if stopping():
                    raise  # a cancellation that redis-py turned into an error: stop here
                if as_outage(exc) is not None:
                    # Redis itself is down: the sweep fails once, to its supervisor (logged as
                    # an outage, retried with back-off), not once per fixture with a traceback.
                    raise
                # One fixture's bad state must not leave every other dead feed's markets open.
                log.exception("feed liveness check failed for one fixture")
        return suspended

    async def _suspend_lost(self, fixture_id: str, cutoff: float) -> bool:
        pricing_key, game_key = self.pricing_key(fixture_id), self.game_key(fixture_id)
        async with self.client.pipeline(transaction=True) as pipe:
            for _ in range(10):
                try:
                    await pipe.watch(pricing_key, game_key)
                    pricing = _decoded(await pipe.hgetall(pricing_key))
                    status: Any = await pipe.hget(game_key, "status")
                    source = pricing.get("source", "")
                    producer_seen: Any = await pipe.zscore(self.alive_producers_key, source)
                    check = check_feed(
                        live=status is not None and bytes(status).decode() == MatchStatus.LIVE,
                        already_lost=pricing.get("feed_lost") == "1",
                        fixture_seen=float(pricing.get("alive_at", "0")),
                        producer_seen=None if producer_seen is None else float(producer_seen),
                        cutoff=cutoff,
                    )
                    if check != FeedCheck.SUSPEND:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        if check == FeedCheck.FORGET:
                            await self.client.zrem(self.alive_fixtures_key, fixture_id)
                            if source:
                                await self.client.srem(self.producer_key(source), fixture_id)
                        return False
                    plan = feed_lost_plan(fixture_id, await _sequence(pipe, game_key))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.zrem(self.alive_fixtures_key, fixture_id)
                    await self._write(pipe, fixture_id, plan)
                    await pipe.execute()
                except WatchError:
                    continue
                log.warning(
                    "feed lost: fixture suspended",
                    extra={"fixture_id": fixture_id, "source": source},
                )
                return True
        return False

    async def _write(self, pipe: aioredis.client.Pipeline, fixture_id: str, plan: HoldPlan) -> None:
        """Queues a hold's writes in the caller's MULTI: the stop and its announcement are one
        write."""
        pipe.hset(self.pricing_key(fixture_id), mapping=dict(plan.fields))  # type: ignore[arg-type]
        if plan.due_now:
            pipe.zadd(self.due_key, {fixture_id: 0})
        publisher = EventPublisher(pipe, self.producer)
        for change in plan.publications:
            await publisher.publish(
                Topic.MARKET_STATUS_CHANGED, events_pb2.EventEnvelope(market_status_changed=change)
            )

    # ---- the heartbeat -------------------------------------------------------------------------

    async def watched(self) -> list[str]:
        """The live fixtures being watched with their feed alive and no hold, as of now."""
        now = await self.now()
        cutoff = now - self.deadline_seconds
        found: Any = await self.client.zrangebyscore(self.alive_fixtures_key, f"({cutoff}", "+inf")
        fixture_ids = sorted(bytes(f).decode() for f in found)
        if not fixture_ids:
            return []
        producers = {p.source: p.last_seen_at for p in await self.producers()}
        async with self.client.pipeline(transaction=False) as pipe:
            for fixture_id in fixture_ids:
                pipe.hmget(
                    self.pricing_key(fixture_id),
                    "source",
                    "alive_at",
                    "feed_lost",
                    "operator",
                    "gap",
                )
            rows: Any = await pipe.execute()
        watched = []
        for fixture_id, (source, alive_at, feed_lost, operator, gap) in zip(
            fixture_ids, rows, strict=True
        ):
            if vouched_for(
                fixture_seen=float(alive_at or 0),
                producer_seen=producers.get(bytes(source).decode()) if source else None,
                cutoff=cutoff,
                hold=fixture_hold(feed_lost == b"1", operator == b"1", gap == b"1"),
            ):
                watched.append(fixture_id)
        return watched

    async def heartbeat(self) -> None:
        """Tells bets which in-play fixtures this process vouches for (LiveHeartbeat): without
        that word, renewed every BETMESH_LIVE_HEARTBEAT_SECONDS, bets refuses in-play bets on
        them. Nothing is said when nothing is watched."""
        watched = await self.watched()
        if watched:
            await EventPublisher(
                self.client, self.producer, max_length=HEARTBEAT_STREAM_LENGTH
            ).publish(
                Topic.LIVE_HEARTBEAT,
                events_pb2.EventEnvelope(
                    live_heartbeat=events_pb2.LiveHeartbeat(fixture_ids=watched)
                ),
            )

    # ---- what an operator watches --------------------------------------------------------------

    async def holds(self) -> dict[str, int]:
        """The live fixtures held now, by the hold that keeps them closed (FEED_LOST, FEED_GAP,
        OPERATOR; each counted once, as fixture_hold ranks them): the figure behind the alerts
        on a book closed by a feed (docs/operations.md). The fixtures are those watched (the
        alive set) and those a producer covers (a fixture the watchdog suspended left the
        alive set, not its producer's): every live fixture a feed ever touched."""
        found: Any = await self.client.zrange(self.alive_fixtures_key, 0, -1)
        fixture_ids = {bytes(f).decode() for f in found}
        for producer in await self.producers():
            members: Any = await self.client.smembers(self.producer_key(producer.source))
            fixture_ids |= {bytes(f).decode() for f in members or []}
        counts = dict.fromkeys((FEED_LOST, FEED_GAP, OPERATOR), 0)
        if not fixture_ids:
            return counts
        ordered = sorted(fixture_ids)
        async with self.client.pipeline(transaction=False) as pipe:
            for fixture_id in ordered:
                pipe.hget(self.game_key(fixture_id), "status")
                pipe.hmget(self.pricing_key(fixture_id), "feed_lost", "operator", "gap")
            rows: Any = await pipe.execute()
        for index in range(len(ordered)):
            status, (feed_lost, operator, gap) = rows[2 * index], rows[2 * index + 1]
            if status is None or bytes(status).decode() != MatchStatus.LIVE:
                continue
            hold = fixture_hold(feed_lost == b"1", operator == b"1", gap == b"1")
            if hold is not None:
                counts[hold] += 1
        return counts

    # ---- operators ---------------------------------------------------------------------------

    async def hold(self, fixture_id: str, held: bool) -> bool:
        """Sets or lifts the operator's hold; returns whether anything changed. The caller
        checked the fixture is live."""
        pricing_key, game_key = self.pricing_key(fixture_id), self.game_key(fixture_id)
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(pricing_key, game_key)
                    current: Any = await pipe.hget(pricing_key, "operator")
                    plan = operator_hold_plan(
                        fixture_id,
                        held,
                        current in (b"1", "1"),
                        await _sequence(pipe, game_key),
                    )
                    if plan is None:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    await self._write(pipe, fixture_id, plan)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue


_GAME_FIELDS = ("status", "state", "announced_sequence")
_PRICING_FIELDS = ("feed_lost", "gap")


def _progress_plan(item: FixtureProgress, game: Any, pricing: Any) -> ProgressPlan:
    """The domain's plan for a feed's word on a fixture, from the fields read (_GAME_FIELDS,
    _PRICING_FIELDS)."""
    status, state, announced = game
    feed_lost, gap = pricing
    return progress_plan(
        item.fixture_id,
        live=status is not None and bytes(status).decode() == MatchStatus.LIVE,
        applied=game_state_pb2.GameState.FromString(state).event_sequence if state else 0,
        last_sequence=item.last_sequence,
        announced=int(announced or 0),
        feed_lost=feed_lost == b"1",
        gap=gap == b"1",
    )


async def _sequence(pipe: aioredis.client.Pipeline, game_key: str) -> int:
    raw: Any = await pipe.hget(game_key, "state")
    return game_state_pb2.GameState.FromString(raw).event_sequence if raw else 0


def _decoded(raw: Mapping[Any, Any]) -> dict[str, str]:
    # The pricing hash also holds encoded protobuf (not text): those fields are not read here,
    # and must not make the whole fixture unreadable to the watchdog.
    return {
        (k.decode(errors="replace") if isinstance(k, bytes) else k): (
            v.decode(errors="replace") if isinstance(v, bytes) else v
        )
        for k, v in raw.items()
    }
