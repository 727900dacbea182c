"""Fixture state in Redis, shared by every live process.

Per fixture, two hashes:
- `<prefix>:game:<fixture_id>`: sport, status, best_of_sets and the serialised GameState (which
  holds the last applied sequence); `announced_sequence`, the highest sequence the feed's
  heartbeats said it sent (written by adapters/redis_liveness.py, in this hash so that an
  ingest, which WATCHes it, and a heartbeat see one order);
- `<prefix>:held:<fixture_id>`: sequence -> held_at (8-byte big-endian float) + MatchEvent bytes.

An ingest is an optimistic transaction: WATCH both hashes, read, hand what was read to the
planner the service layer gives (services/live/service_layer/ingestion.py, which asks
domain/ingest.py's `plan_ingest`), then MULTI/EXEC the plan's writes as they are: this adapter
decides nothing. If another process changed the fixture in
between, EXEC fails and the ingest starts again from a fresh read, so an event is applied once
and in order whichever process receives it. The GameStateChanged events are appended to the
event stream inside the same MULTI, so the bus sees exactly the applied events, in sequence
order, and never an event for a write that did not happen. The clock is Redis' own (TIME) so
that hold windows mean the same on every process. Within one process, ingests for the same
fixture take turns on a lock first, so optimistic retries only happen between processes.

Repricing state, per fixture, shared by every live process (see domain/repricing.py):
- `<prefix>:pricing:<fixture_id>` (hash): `suspended`, `last_event_at`, the match clock
  (`clock_running`, `clock_elapsed`, `clock_at`), the fixture announced on MATCH_STARTED
  (`fixture`) and, once resolved, what the gateway prices it from (`target_fixture`,
  `snapshot_hash`);
- `<prefix>:due` (sorted set): fixture -> when it is next due for a reprice (0: at once);
- `<prefix>:lease:<fixture_id>`: the process repricing the fixture now (SET NX PX).
An ingest writes the plan's events (GameStateChanged, and the MarketStatusChanged of a
suspension, hand-over or deactivation), its repricing fields and its place in the queue in its
own MULTI, with the game state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator, Mapping, Sequence

import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import match_event_pb2 as me
from redis.exceptions import WatchError

from service_runtime.errors import Aborted
from service_runtime.events import EventPublisher, Topic
from services.live.domain.game import LiveGame, MatchStatus
from services.live.domain.ingest import Due, IngestPlan
from services.live.domain.ports import Planner
from services.live.domain.repricing import (
    Completion,
    FixtureView,
    MatchClock,
    PricingTarget,
    fixture_hold,
    plan_completion,
)
from services.live.domain.sequencing import HeldEvent

log = logging.getLogger(__name__)

_HELD_AT = struct.Struct(">d")
# Contention on one fixture is a handful of processes; this many lost races means something
# is wrong, and the caller may retry.
MAX_ATTEMPTS = 100
# Releases a lease only if this process still holds it.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class _KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class RedisLiveStore:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        producer: str,
        prefix: str = "betmesh:live",
    ) -> None:
        self.client = client
        self.producer = producer
        self.prefix = prefix
        self._locks = _KeyedLocks()

    def _game_key(self, fixture_id: str) -> str:
        return f"{self.prefix}:game:{fixture_id}"

    def _held_key(self, fixture_id: str) -> str:
        return f"{self.prefix}:held:{fixture_id}"

    def _pricing_key(self, fixture_id: str) -> str:
        return f"{self.prefix}:pricing:{fixture_id}"

    def _lease_key(self, fixture_id: str) -> str:
        return f"{self.prefix}:lease:{fixture_id}"

    @property
    def _due_key(self) -> str:
        return f"{self.prefix}:due"

    async def game(self, fixture_id: str) -> LiveGame | None:
        raw = await self.client.hgetall(self._game_key(fixture_id))
        return _decode_game(fixture_id, _as_bytes(raw))

    async def applied_sequences(self, fixture_ids: Sequence[str]) -> dict[str, int]:
        if not fixture_ids:
            return {}
        async with self.client.pipeline(transaction=False) as pipe:
            for fixture_id in fixture_ids:
                pipe.hget(self._game_key(fixture_id), "state")
            states = await pipe.execute()
        return {
            fixture_id: game_state_pb2.GameState.FromString(raw).event_sequence if raw else 0
            for fixture_id, raw in zip(fixture_ids, states, strict=True)
        }

    async def apply(self, fixture_id: str, planner: Planner) -> IngestPlan:
        async with self._locks.hold(fixture_id):
            return await self._apply(fixture_id, planner)

    async def _apply(self, fixture_id: str, planner: Planner) -> IngestPlan:
        game_key, held_key = self._game_key(fixture_id), self._held_key(fixture_id)
        async with self.client.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(game_key, held_key)
                    raw_game = _as_bytes(await pipe.hgetall(game_key))
                    game = _decode_game(fixture_id, raw_game)
                    held = _decode_held(_as_bytes(await pipe.hgetall(held_key)))
                    seconds, micros = await pipe.time()
                    announced = int(raw_game.get(b"announced_sequence", b"0"))
                    plan = planner(game, held, announced, seconds + micros / 1e6)
                    if not plan.decision.changed:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return plan
                    pipe.multi()  # type: ignore[no-untyped-call]
                    await self._write(pipe, fixture_id, plan)
                    await pipe.execute()
                except WatchError:
                    continue
                return plan
        raise Aborted(
            "CONCURRENT_UPDATE",
            f"fixture {fixture_id} kept changing under this ingest; retry",
            {"fixture_id": fixture_id},
        )

    async def _write(
        self, pipe: aioredis.client.Pipeline, fixture_id: str, plan: IngestPlan
    ) -> None:
        decision = plan.decision
        game_key, held_key = self._game_key(fixture_id), self._held_key(fixture_id)
        if decision.applied and decision.game is not None:
            game = decision.game
            await pipe.hset(
                game_key,
                mapping={
                    "sport": int(game.sport),
                    "status": game.status.value,
                    "best_of_sets": game.best_of_sets,
                    "state": game.state.SerializeToString(deterministic=True),
                },
            )
        if decision.release:
            await pipe.hdel(held_key, *(str(s) for s in decision.release))
        if decision.hold is not None:
            hold = decision.hold
            await pipe.hset(
                held_key,
                str(hold.event.sequence),
                _HELD_AT.pack(hold.held_at) + hold.event.SerializeToString(deterministic=True),
            )
        # A publisher on the pipeline queues its XADD in this transaction.
        publisher = EventPublisher(pipe, self.producer)
        for envelope in plan.publications:
            await publisher.publish(_topic(envelope), envelope)
        if plan.pricing:
            await pipe.hset(self._pricing_key(fixture_id), mapping=dict(plan.pricing))  # type: ignore[arg-type]
        if plan.due == Due.NOW:
            # Due at once (0 sorts before any clock): the next reprice takes this event.
            await pipe.zadd(self._due_key, {fixture_id: 0})
        elif plan.due == Due.DROP:
            await pipe.zrem(self._due_key, fixture_id)

    # ---- repricing (services.live.domain.ports.RepricingStore) ---------------------------

    async def due(self, now: float, limit: int) -> list[str]:
        found = await self.client.zrangebyscore(self._due_key, "-inf", now, start=0, num=limit)
        # The client does not decode responses: members are bytes.
        return [bytes(f).decode() for f in found]  # type: ignore[arg-type]

    async def view(self, fixture_id: str) -> FixtureView | None:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._game_key(fixture_id))
            pipe.hgetall(self._pricing_key(fixture_id))
            pipe.zscore(self._due_key, fixture_id)
            raw_game, raw_pricing, due_at = await pipe.execute()
        game = _decode_game(fixture_id, _as_bytes(raw_game))
        if game is None:
            return None
        return _decode_view(game, _as_bytes(raw_pricing), due_at)

    async def acquire(self, fixture_id: str, owner: str, seconds: float) -> bool:
        return bool(
            await self.client.set(
                self._lease_key(fixture_id), owner, nx=True, px=max(1, int(seconds * 1000))
            )
        )

    async def release(self, fixture_id: str, owner: str) -> None:
        await self.client.eval(_RELEASE, 1, self._lease_key(fixture_id), owner)  # type: ignore[no-untyped-call]

    async def unschedule(self, fixture_id: str) -> None:
        await self.client.zrem(self._due_key, fixture_id)

    async def complete(self, completion: Completion) -> bool:
        fixture_id = completion.fixture_id
        game_key, pricing_key = self._game_key(fixture_id), self._pricing_key(fixture_id)
        async with self.client.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(game_key, pricing_key)
                    game = _decode_game(fixture_id, _as_bytes(await pipe.hgetall(game_key)))
                    pricing = _as_bytes(await pipe.hgetall(pricing_key))
                    if game is None or game.applied_sequence != completion.sequence:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return False
                    plan = plan_completion(
                        completion,
                        suspended=pricing.get(b"suspended") == b"1",
                        hold=_hold(pricing),
                        feed_epoch=int(pricing.get(b"feed_epoch", b"0")),
                    )
                    pipe.multi()  # type: ignore[no-untyped-call]
                    await pipe.zadd(self._due_key, {fixture_id: plan.next_due})
                    publisher = EventPublisher(pipe, self.producer)
                    for change in plan.publications:
                        await publisher.publish(
                            Topic.MARKET_STATUS_CHANGED,
                            events_pb2.EventEnvelope(market_status_changed=change),
                        )
                    if plan.fields:
                        await pipe.hset(pricing_key, mapping=dict(plan.fields))  # type: ignore[arg-type]
                    await pipe.execute()
                    return True
                except WatchError:
                    continue
        raise Aborted(
            "CONCURRENT_UPDATE",
            f"fixture {fixture_id} kept changing while its reprice completed",
            {"fixture_id": fixture_id},
        )


def _topic(envelope: events_pb2.EventEnvelope) -> Topic:
    kind = envelope.WhichOneof("payload")
    if kind == "game_state_changed":
        return Topic.GAME_STATE_CHANGED
    if kind == "market_status_changed":
        return Topic.MARKET_STATUS_CHANGED
    raise ValueError(f"live does not publish {kind}")


def _as_bytes(raw: Mapping[bytes | str, bytes | str]) -> dict[bytes, bytes]:
    # The client does not decode responses, so all is bytes; str is only in the typing.
    return {
        (k if isinstance(k, bytes) else k.encode()): (v if isinstance(v, bytes) else v.encode())
        for k, v in raw.items()
    }


def _decode_game(fixture_id: str, raw: dict[bytes, bytes]) -> LiveGame | None:
    if not raw:
        return None
    state = game_state_pb2.GameState.FromString(raw[b"state"])
    return LiveGame(
        fixture_id=fixture_id,
        sport=int(raw[b"sport"]),
        status=MatchStatus(raw[b"status"].decode()),
        best_of_sets=int(raw[b"best_of_sets"]),
        state=state,
    )


def _decode_view(game: LiveGame, raw: dict[bytes, bytes], due_at: float | None) -> FixtureView:
    clock = None
    if b"clock_at" in raw:
        clock = MatchClock(
            raw.get(b"clock_running") == b"1",
            int(raw.get(b"clock_elapsed", b"0")),
            float(raw[b"clock_at"]),
        )
    announced = sport_pb2.Fixture.FromString(raw[b"fixture"]) if b"fixture" in raw else None
    target = None
    if b"snapshot_hash" in raw and b"target_fixture" in raw:
        target = PricingTarget(
            sport_pb2.Fixture.FromString(raw[b"target_fixture"]), raw[b"snapshot_hash"].decode()
        )
    return FixtureView(
        game=game,
        due_at=due_at,
        suspended=raw.get(b"suspended") == b"1",
        last_event_at=float(raw[b"last_event_at"]) if b"last_event_at" in raw else None,
        clock=clock,
        announced_fixture=announced,
        target=target,
        hold=_hold(raw),
        feed_epoch=int(raw.get(b"feed_epoch", b"0")),
    )


def _hold(pricing: dict[bytes, bytes]) -> str | None:
    return fixture_hold(
        pricing.get(b"feed_lost") == b"1",
        pricing.get(b"operator") == b"1",
        pricing.get(b"gap") == b"1",
    )


def _decode_held(raw: dict[bytes, bytes]) -> dict[int, HeldEvent]:
    held = {}
    for sequence, value in raw.items():
        (held_at,) = _HELD_AT.unpack_from(value)
        held[int(sequence)] = HeldEvent(me.MatchEvent.FromString(value[_HELD_AT.size :]), held_at)
    return held
