"""Fixture state in Redis, shared by every live process.

Per fixture, two hashes:
- `<prefix>:game:<fixture_id>`: sport, status, best_of_sets and the serialised GameState (which
  holds the last applied sequence);
- `<prefix>:held:<fixture_id>`: sequence -> held_at (8-byte big-endian float) + MatchEvent bytes.

An ingest is an optimistic transaction: WATCH both hashes, read, decide in Python
(`sequencing.decide`), then MULTI/EXEC the writes. If another process changed the fixture in
between, EXEC fails and the ingest starts again from a fresh read, so an event is applied once
and in order whichever process receives it. The GameStateChanged events are appended to the
event stream inside the same MULTI, so the bus sees exactly the applied events, in sequence
order, and never an event for a write that did not happen. The clock is Redis' own (TIME) so
that hold windows mean the same on every process. Within one process, ingests for the same
fixture take turns on a lock first, so optimistic retries only happen between processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator, Mapping

import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import match_event_pb2 as me
from redis.exceptions import WatchError

from service_runtime.errors import Aborted
from service_runtime.events import EventPublisher, Topic
from services.live.domain.game import DEFAULT_BEST_OF_SETS, LiveGame, MatchStatus
from services.live.domain.sequencing import Decision, HeldEvent, decide

log = logging.getLogger(__name__)

_HELD_AT = struct.Struct(">d")
# Contention on one fixture is a handful of processes; this many lost races means something
# is wrong, and the caller may retry.
MAX_ATTEMPTS = 100


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
        hold_seconds: float,
        best_of_sets: int = DEFAULT_BEST_OF_SETS,
        prefix: str = "betmesh:live",
    ) -> None:
        self.client = client
        self.producer = producer
        self.hold_seconds = hold_seconds
        self.best_of_sets = best_of_sets
        self.prefix = prefix
        self._locks = _KeyedLocks()

    def _game_key(self, fixture_id: str) -> str:
        return f"{self.prefix}:game:{fixture_id}"

    def _held_key(self, fixture_id: str) -> str:
        return f"{self.prefix}:held:{fixture_id}"

    async def game(self, fixture_id: str) -> LiveGame | None:
        raw = await self.client.hgetall(self._game_key(fixture_id))
        return _decode_game(fixture_id, _as_bytes(raw))

    async def ingest(self, event: me.MatchEvent) -> Decision:
        async with self._locks.hold(event.fixture_id):
            return await self._ingest(event)

    async def _ingest(self, event: me.MatchEvent) -> Decision:
        game_key, held_key = self._game_key(event.fixture_id), self._held_key(event.fixture_id)
        async with self.client.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(game_key, held_key)
                    game = _decode_game(event.fixture_id, _as_bytes(await pipe.hgetall(game_key)))
                    held = _decode_held(_as_bytes(await pipe.hgetall(held_key)))
                    seconds, micros = await pipe.time()
                    decision = decide(
                        game,
                        held,
                        event,
                        seconds + micros / 1e6,
                        hold_seconds=self.hold_seconds,
                        best_of_sets=self.best_of_sets,
                    )
                    if not decision.changed:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return decision
                    pipe.multi()  # type: ignore[no-untyped-call]
                    await self._write(pipe, decision, game_key, held_key)
                    await pipe.execute()
                except WatchError:
                    continue
                for dropped in decision.discarded:
                    log.warning(
                        "held match event dropped",
                        extra={
                            "fixture_id": event.fixture_id,
                            "sequence": dropped.sequence,
                            "reason": dropped.reason,
                            "detail": dropped.message,
                        },
                    )
                return decision
        raise Aborted(
            "CONCURRENT_UPDATE",
            f"fixture {event.fixture_id} kept changing under this ingest; retry",
            {"fixture_id": event.fixture_id},
        )

    async def _write(
        self,
        pipe: aioredis.client.Pipeline,
        decision: Decision,
        game_key: str,
        held_key: str,
    ) -> None:
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
        for applied in decision.applied:
            await publisher.publish(
                Topic.GAME_STATE_CHANGED,
                events_pb2.EventEnvelope(
                    game_state_changed=events_pb2.GameStateChanged(
                        fixture_id=applied.fixture_id, state=applied.state
                    )
                ),
            )


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


def _decode_held(raw: dict[bytes, bytes]) -> dict[int, HeldEvent]:
    held = {}
    for sequence, value in raw.items():
        (held_at,) = _HELD_AT.unpack_from(value)
        held[int(sequence)] = HeldEvent(me.MatchEvent.FromString(value[_HELD_AT.size :]), held_at)
    return held
