"""The stream's Redis side: the journal, its writer, its readers, the stream registry.

Why one writer and many readers. Resume tokens must mean the same thing on every live process,
so the journal has one global order: its Redis Stream entry ids. One process at a time (the
holder of a short lease) reads the bus topics with plain XREAD (no consumer group: its cursors
per topic are stored in Redis, in the same atomic script as the journal entries they produced,
so a new leader resumes exactly where the old one stopped, with no event lost or doubled),
turns each event into journal entries with the fixture's stored state, and appends them.
Every process, leader or not, tails the journal (plain XREAD again: each must see every entry)
into its in-memory book and its streams. The fixture states are kept beside the journal, each
with the position of its last entry, so a process starting when the journal has long been
trimmed still builds a complete book.

The journal is trimmed by time (MINID at each append) to the resume window, oldest first: a
resume point is covered while its own entry is still there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from betmesh.common.v1 import sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb
from opentelemetry.trace import SpanKind
from redis.exceptions import ResponseError

from service_runtime.events import Topic, stream_key
from service_runtime.live_bet_delay import LiveBetDelays
from service_runtime.telemetry import extract_context, tracer
from services.live.domain.stream.book import Entry
from services.live.domain.stream.hub import Hub
from services.live.domain.stream.owner import Owner
from services.live.domain.stream.resume import ORIGIN, Position, format_position, parse_position
from services.live.domain.stream.translate import FixtureRecord, translate

log = logging.getLogger(__name__)
_tracer = tracer("betmesh.live.stream")

TOPICS = (
    Topic.QUOTE_SET_ACCEPTED,
    Topic.MARKET_STATUS_CHANGED,
    Topic.GAME_STATE_CHANGED,
    Topic.RESULT_FINALISED,
    Topic.RESULT_VALIDATED,
    Topic.BETS_VOIDED,
)

# Fixture states the leader keeps in memory at most (beyond: the cache starts over).
RECORDS_CACHED = 20_000

FixtureLookup = Callable[[str], Awaitable[sport_pb2.Fixture | None]]

# One round trip per batch of bus events. KEYS: leader, journal, fixtures set, cursors, then
# the state hash of every fixture the batch touches. Per journal entry, 8 ARGVs: the index of
# its fixture's state key (from 5), fixture, sport, phase, updates, state, occurred_at (ms), and
# the W3C traceparent of the bus event it came from (so delivery joins the event's trace).
# Then the cursors to store: a count, and (topic, bus entry id) pairs.
_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('NOT_LEADER') end
local minid = ARGV[2]
local n = tonumber(ARGV[3])
local i = 4
local ids = {}
for k = 1, n do
  local state_key = KEYS[tonumber(ARGV[i])]
  local phase, state = ARGV[i + 3], ARGV[i + 5]
  local id = redis.call('XADD', KEYS[2], 'MINID', minid, '*', 'f', ARGV[i + 1],
    's', ARGV[i + 2], 'p', phase, 'u', ARGV[i + 4], 'o', state, 't', ARGV[i + 6],
    'c', ARGV[i + 7])
  redis.call('HSET', state_key, 'o' .. phase, state, 'pos' .. phase, id)
  redis.call('SADD', KEYS[3], ARGV[i + 1])
  ids[#ids + 1] = id
  i = i + 8
end
local m = tonumber(ARGV[i])
i = i + 1
for k = 1, m do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  i = i + 2
end
return ids
"""

# A new journal's start on the bus, set once: when no cursor was ever stored under this prefix,
# every topic's cursor becomes the Redis clock less ARGV[1] ms (bus entry ids are that clock's
# milliseconds). The cursor is the last id of the millisecond before, since XREAD returns what
# comes after it: an event published in the same millisecond as this script gets the id
# "<ms>-0", which a cursor "<ms>-0" would skip. KEYS: cursors; ARGV: the look-back in ms, then
# the topics. An existing journal's cursors are never touched.
_OPEN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = redis.call('TIME')
local start = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[1])
local cursor = '0-0'
if start > 0 then cursor = string.format('%d-18446744073709551615', start - 1) end
for i = 2, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], cursor) end
return 1
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Returns false when the partner is at its limit, else the previous owner ("" for none).
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return false
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local previous = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[6])
return previous or ''
"""

# Keeps an ownership alive only while it is still this connection's (a stream resumed
# elsewhere belongs to the newer connection); returns the stream ids lost.
_REFRESH = """
local lost = {}
for i = 1, #KEYS, 2 do
  local k = (i + 1) / 2
  if redis.call('GET', KEYS[i]) == ARGV[k * 3 - 2] then
    redis.call('PEXPIRE', KEYS[i], ARGV[#ARGV])
    redis.call('ZADD', KEYS[i + 1], ARGV[#ARGV - 1], ARGV[k * 3 - 1])
  else
    lost[#lost + 1] = ARGV[k * 3 - 1]
  end
end
return lost
"""

_RELEASE_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.journal = f"{prefix}:journal"
        self.epoch = f"{prefix}:epoch"
        self.token_key = f"{prefix}:token-key"
        self.fixtures = f"{prefix}:fixtures"
        self.cursors = f"{prefix}:cursors"
        self.leader = f"{prefix}:leader"

    def state(self, fixture_id: str) -> str:
        return f"{self.prefix}:fixture:{fixture_id}"

    def owner(self, stream_id: str) -> str:
        return f"{self.prefix}:owner:{stream_id}"

    def partner(self, partner: str) -> str:
        return f"{self.prefix}:partner:{partner}"

    def control(self, process_id: str) -> str:
        return f"{self.prefix}:control:{process_id}"


async def shared_value(client: aioredis.Redis, key: str, make: Callable[[], str]) -> str:
    """A value every process agrees on: the first to start sets it."""
    await client.set(key, make(), nx=True)
    value: Any = await client.get(key)
    return value.decode() if isinstance(value, bytes) else str(value)


def _fixture_id(envelope: events_pb2.EventEnvelope) -> str:
    kind = envelope.WhichOneof("payload")
    if kind == "quote_set_accepted":
        return envelope.quote_set_accepted.quote_set.fixture_id
    if kind in (
        "market_status_changed",
        "game_state_changed",
        "result_finalised",
        "result_validated",
        "bets_voided",
    ):
        return str(getattr(envelope, kind).fixture_id)
    return ""


def parse_entry(entry_id: bytes, fields: dict[bytes, bytes]) -> Entry:
    return Entry(
        position=parse_position(entry_id.decode()),
        fixture_id=fields[b"f"].decode(),
        sport=int(fields[b"s"]),
        phase=int(fields[b"p"]),
        updates=list(pb.OddsDeltas.FromString(fields[b"u"]).updates),
        state=pb.FixtureOdds.FromString(fields[b"o"]),
        traceparent=fields.get(b"c", b"").decode(),
    )


class JournalWriter:
    """Leader-elected: bus topics in, journal entries out.

    Throughput: a batch of bus events (everything XREAD returned, up to 500) is translated in
    memory and committed in one script call, so a busy bus costs one round trip per batch, not
    two per event. While it leads, the writer is the only one changing fixture states, so it
    keeps them in memory (loaded once per fixture, dropped when the lease or a commit is lost:
    a commit that failed may have left the cache ahead of Redis).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        fixtures: FixtureLookup | None,
        window_seconds: float,
        lease_seconds: float,
        delays: LiveBetDelays,
        lookback_seconds: float,
    ) -> None:
        self.client = client
        self.keys = keys
        # How far back on the bus a new journal starts (StreamSettings.lookback_seconds).
        self.lookback_ms = int(lookback_seconds * 1000)
        self.fixtures = fixtures
        # The live-bet delays live phases announce: the ones bets applies (same settings).
        self.delays = delays
        self.window_seconds = window_seconds
        self.lease_ms = int(lease_seconds * 1000)
        self.token = uuid.uuid4().hex
        self.leading = False
        self._renewed = 0.0
        self._open = client.register_script(_OPEN)
        self._commit = client.register_script(_COMMIT)
        self._renew = client.register_script(_RENEW)
        self._cursors: dict[str, str] = {}
        self._records: dict[str, FixtureRecord] = {}

    async def open(self) -> bool:
        """Fixes where a new journal starts reading the bus: the look-back before now, not the
        bus's first entry (a new prefix on a bus that has run for weeks would otherwise replay
        every price, settlement and cancel it ever carried to partners as news, and take as
        long to catch up). Every process calls it at start, so the start point is the first
        process's start, whether or not it leads; the writer calls it again before its first
        read. True when this call set it; an existing journal keeps its cursors."""
        opened = await self._open(
            keys=[self.keys.cursors], args=[self.lookback_ms, *(t.value for t in TOPICS)]
        )
        if opened:
            log.info(
                "new stream journal starts on the bus",
                extra={"prefix": self.keys.prefix, "lookback_seconds": self.lookback_ms / 1000},
            )
        return bool(opened)

    async def _lead(self) -> bool:
        now = time.monotonic()
        if self.leading:
            if now - self._renewed < self.lease_ms / 3000:
                return True
            if await self._renew(keys=[self.keys.leader], args=[self.token, self.lease_ms]):
                self._renewed = now
                return True
            self._step_down()
            return False
        if await self.client.set(self.keys.leader, self.token, nx=True, px=self.lease_ms):
            self.leading, self._renewed = True, now
            self._records = {}
            await self.open()
            stored: Any = await self.client.hgetall(self.keys.cursors)
            self._cursors = {k.decode(): v.decode() for k, v in stored.items()}
            log.info("journal writer leading")
        return self.leading

    def _step_down(self) -> None:
        self.leading = False
        self._records = {}

    async def _keep_lease(self) -> None:
        """Renews the lease once a third of it has gone by, also in the middle of a batch: a
        batch that takes longer than the lease to translate (hundreds of events replayed from
        the bus on a busy machine) would otherwise lose it before every commit, and the writer,
        starting the same batch over each time, would never get past it. Raises _LostLease when
        another writer holds it now."""
        now = time.monotonic()
        if now - self._renewed < self.lease_ms / 3000:
            return
        if not await self._renew(keys=[self.keys.leader], args=[self.token, self.lease_ms]):
            self._step_down()
            raise _LostLease
        self._renewed = now

    async def step(self) -> int:
        if not await self._lead():
            await asyncio.sleep(self.lease_ms / 3000)
            return 0
        streams: dict[Any, Any] = {stream_key(t): self._cursors.get(t.value, "0") for t in TOPICS}
        block = max(1, self.lease_ms // 3)
        answer: Any = await self.client.xread(streams, count=500, block=block)
        batch = []
        for key, entries in answer or []:
            topic = Topic(key.decode().removeprefix("betmesh:events:"))
            for entry_id, fields in entries:
                batch.append((parse_position(entry_id.decode()), topic, entry_id.decode(), fields))
        if not batch:
            return 0
        # Topics interleave by time: a suspension published before a reprice stays before it.
        batch.sort(key=lambda item: item[0])
        try:
            await self._write([(topic, entry_id, fields) for _, topic, entry_id, fields in batch])
        except BaseException:
            self._records = {}
            raise
        return len(batch)

    async def _records_for(self, fixture_ids: set[str]) -> None:
        missing = sorted(f for f in fixture_ids if f not in self._records)
        if not missing:
            return
        if len(self._records) + len(missing) > RECORDS_CACHED:
            # Weeks of fixtures would otherwise pile up; the live ones are reloaded in one trip.
            self._records = {}
            missing = sorted(fixture_ids)
        async with self.client.pipeline(transaction=False) as pipe:
            for fixture_id in missing:
                pipe.hgetall(self.keys.state(fixture_id))
            stored: list[Any] = await pipe.execute()
        for fixture_id, fields in zip(missing, stored, strict=True):
            record = FixtureRecord(fixture_id)
            for field, value in fields.items():
                name = field.decode()
                if name.startswith("o"):
                    record.phases[int(name[1:])] = pb.FixtureOdds.FromString(value)
            self._records[fixture_id] = record

    async def _write(self, events: list[tuple[Topic, str, dict[bytes, bytes]]]) -> None:
        envelopes = []
        for topic, entry_id, fields in events:
            envelope = events_pb2.EventEnvelope()
            with contextlib.suppress(Exception):
                envelope.ParseFromString(fields.get(b"envelope", b""))
            traceparent = fields.get(b"traceparent", b"")
            envelopes.append((topic, entry_id, envelope, _fixture_id(envelope), traceparent))
        await self._records_for({f for _, _, _, f, _ in envelopes if f})
        minid = int(time.time() * 1000 - self.window_seconds * 1000)
        state_keys: dict[str, int] = {}
        entries: list[Any] = []
        count = 0
        cursors: dict[str, str] = {}
        for topic, entry_id, envelope, fixture_id, traceparent in envelopes:
            await self._keep_lease()
            cursors[topic.value] = entry_id
            if not fixture_id:
                continue
            record = self._records[fixture_id]
            fixture = await self.fixtures(fixture_id) if self.fixtures is not None else None
            changes = translate(record, envelope, fixture, self.delays)
            if not changes:
                continue
            index = state_keys.setdefault(fixture_id, 5 + len(state_keys))
            occurred = envelope.occurred_at.seconds * 1000 + envelope.occurred_at.nanos // 1_000_000
            for change in changes:
                deltas = pb.OddsDeltas(updates=change.updates)
                entries += [
                    index,
                    fixture_id,
                    record.sport,
                    change.phase,
                    deltas.SerializeToString(deterministic=True),
                    change.state.SerializeToString(deterministic=True),
                    occurred,
                    traceparent,
                ]
                count += 1
        await self._keep_lease()
        args: list[Any] = [self.token, f"{max(minid, 0)}-0", count, *entries, len(cursors)]
        for topic_name, entry_id in cursors.items():
            args += [topic_name, entry_id]
        keys = [
            self.keys.leader,
            self.keys.journal,
            self.keys.fixtures,
            self.keys.cursors,
            *(self.keys.state(f) for f in state_keys),
        ]
        try:
            await self._commit(keys=keys, args=args)
        except ResponseError as exc:
            if "NOT_LEADER" in str(exc):
                self._step_down()
                raise _LostLease from exc
            raise
        self._cursors.update(cursors)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self.step()
            except _LostLease:
                log.warning("journal writer lost its lease")
            except UNREACHABLE:
                log.warning("journal writer: Redis unreachable; retrying")
                await asyncio.sleep(1)
            except Exception:
                log.exception("journal writer step failed; retrying")
                await asyncio.sleep(1)

    async def resign(self) -> None:
        if self.leading:
            self._step_down()
            script = self.client.register_script(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                "return redis.call('DEL', KEYS[1]) end return 0"
            )
            await script(keys=[self.keys.leader], args=[self.token])


class _LostLease(Exception):
    pass


class JournalReader:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def last_position(self) -> Position:
        newest: Any = await self.client.xrevrange(self.keys.journal, count=1)
        return parse_position(newest[0][0].decode()) if newest else ORIGIN

    async def bootstrap(self, hub: Hub) -> None:
        """The book from the stored states, and the position the tail starts from."""
        start = await self.last_position()
        members: Any = await self.client.smembers(self.keys.fixtures)
        fixture_ids = [f.decode() for f in members]
        async with self.client.pipeline(transaction=False) as pipe:
            for fixture_id in fixture_ids:
                pipe.hgetall(self.keys.state(fixture_id))
            stored = await pipe.execute()
        for fixture_id, fields in zip(fixture_ids, stored, strict=True):
            for field, value in fields.items():
                name = field.decode()
                if name.startswith("o"):
                    phase = int(name[1:])
                    position = parse_position(fields[f"pos{phase}".encode()].decode())
                    hub.book.load((fixture_id, phase), pb.FixtureOdds.FromString(value), position)
        hub.book.position = start

    async def tail(self, hub: Hub, stopping: asyncio.Event) -> None:
        cursor = format_position(hub.position)
        hub.ready.set()
        while not stopping.is_set():
            try:
                answer: Any = await self.client.xread(
                    {self.keys.journal: cursor}, count=1000, block=500
                )
            except UNREACHABLE:
                log.warning("journal tail: Redis unreachable; retrying")
                await asyncio.sleep(1)
                continue
            for _, entries in answer or []:
                parsed = [parse_entry(i, f) for i, f in entries if f]
                if entries:
                    cursor = entries[-1][0].decode()
                started = time.time_ns()
                hub.apply(parsed)
                await hub.notify()
                _trace_fan_out(parsed, started)
            hub.sweep()

    async def read_range(self, start: Position, end: Position) -> list[Entry]:
        """Entries from `start` (inclusive) to `end` (inclusive)."""
        found: list[Entry] = []
        low = format_position(start)
        while True:
            chunk: Any = await self.client.xrange(
                self.keys.journal, min=low, max=format_position(end), count=1000
            )
            found += [parse_entry(i, f) for i, f in chunk if f]
            if len(chunk) < 1000:
                return found
            low = "(" + chunk[-1][0].decode()

    async def never_trimmed(self) -> bool:
        try:
            info: Any = await self.client.xinfo_stream(self.keys.journal)
        except ResponseError:
            return True  # no journal yet
        return int(info["entries-added"]) == int(info["length"])


class StreamRegistry:
    """Which connection holds which stream (one at a time, mesh-wide), and how many streams
    each partner holds.

    The owner key of a stream names one connection. A resume anywhere takes the key over and
    tells the previous holder's process (pub/sub) to cut that connection; a holder whose
    refresh finds the key taken cuts its connection too (the check that does not depend on
    pub/sub delivery). UpdateSubscription goes to the process the key names, for that
    connection only.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_seconds: float = 15.0) -> None:
        self.client = client
        self.keys = keys
        self.process_id = uuid.uuid4().hex
        self.ttl_seconds = ttl_seconds
        self._claim = client.register_script(_CLAIM)
        self._refresh = client.register_script(_REFRESH)
        self._release = client.register_script(_RELEASE_OWNER)

    def owner_for(self, partner: str, connection_id: str) -> Owner:
        return Owner(self.process_id, partner, connection_id)

    async def claim(self, stream_id: str, owner: Owner, limit: int) -> Owner | bool | None:
        """False at the partner's limit; else the previous owner (None for none), who was
        told to let go."""
        now = time.time()
        previous: Any = await self._claim(
            keys=[self.keys.partner(owner.partner), self.keys.owner(stream_id)],
            args=[
                now,
                now + self.ttl_seconds,
                stream_id,
                limit,
                owner.encode(),
                int(self.ttl_seconds * 1000),
            ],
        )
        if previous is None:
            return False
        raw = previous.decode() if isinstance(previous, bytes) else str(previous)
        if not raw:
            return None
        before = Owner.decode(raw)
        if before != owner and before.process_id != self.process_id:
            await self.send_cut(before, stream_id)
        return before

    async def refresh(self, streams: dict[str, Owner]) -> list[str]:
        """Keeps this process's streams owned; returns those another connection took over."""
        if not streams:
            return []
        keys: list[str] = []
        args: list[Any] = []
        for stream_id, owner in streams.items():
            keys += [self.keys.owner(stream_id), self.keys.partner(owner.partner)]
            args += [owner.encode(), stream_id, ""]
        args += [time.time() + self.ttl_seconds, int(self.ttl_seconds * 1000)]
        lost: Any = await self._refresh(keys=keys, args=args)
        return [bytes(s).decode() for s in lost or []]

    async def release(self, stream_id: str, owner: Owner) -> None:
        await self._release(
            keys=[self.keys.owner(stream_id), self.keys.partner(owner.partner)],
            args=[owner.encode(), stream_id],
        )

    async def owner(self, stream_id: str) -> Owner | None:
        raw: Any = await self.client.get(self.keys.owner(stream_id))
        return None if raw is None else Owner.decode(raw.decode())

    async def send_control(self, owner: Owner, stream_id: str, filter_: bytes) -> int:
        body = b"F" + f"{stream_id}\n{owner.connection_id}\n".encode() + filter_
        return int(await self.client.publish(self.keys.control(owner.process_id), body))

    async def send_cut(self, owner: Owner, stream_id: str) -> int:
        body = b"C" + f"{stream_id}\n{owner.connection_id}\n".encode()
        return int(await self.client.publish(self.keys.control(owner.process_id), body))

    async def listen(
        self, on_control: Callable[[str, str, str, bytes], None], stopping: asyncio.Event
    ) -> None:
        """Calls on_control(kind "F" or "C", stream id, connection id, filter bytes)."""
        pubsub = self.client.pubsub()
        await pubsub.subscribe(self.keys.control(self.process_id))
        try:
            while not stopping.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                if message is None or message.get("type") != "message":
                    continue
                data = bytes(message["data"])
                kind, rest = data[:1].decode(), data[1:]
                stream_id, _, rest = rest.partition(b"\n")
                connection_id, _, body = rest.partition(b"\n")
                on_control(kind, stream_id.decode(), connection_id.decode(), body)
        finally:
            await pubsub.aclose()  # type: ignore[attr-defined,no-untyped-call]


def _trace_fan_out(entries: list[Entry], started_ns: int) -> None:
    """One span per journal entry that came from a traced event, in that event's trace: the
    match event's trace then reaches the hand-over to this process's streams. Per entry, not
    per stream: a thousand subscribers must not mean a thousand spans."""
    ended = time.time_ns()
    for entry in entries:
        if not entry.traceparent:
            continue
        span = _tracer.start_span(
            "fan out odds update",
            context=extract_context({"traceparent": entry.traceparent}),
            kind=SpanKind.PRODUCER,
            start_time=started_ns,
            attributes={
                "betmesh.fixture.id": entry.fixture_id,
                "betmesh.pricing.phase": entry.phase,
                "betmesh.stream.position": format_position(entry.position),
            },
        )
        span.end(end_time=ended)


def new_epoch() -> str:
    return secrets.token_hex(8)


# Redis failures a stream's background loops ride out (they log and try again next round):
# what service_runtime/outages.py counts as Redis unavailable, timeouts included.
UNREACHABLE: tuple[type[BaseException], ...] = (
    ConnectionError,
    OSError,
    aioredis.ConnectionError,
    aioredis.TimeoutError,
)


@dataclass
class StreamJournal:
    """Everything the stream service (services/live/service_layer/streams.py) needs of Redis,
    built once by app.py, so the service layer holds no client of its own."""

    client: aioredis.Redis
    keys: Keys
    reader: JournalReader
    writer: JournalWriter
    registry: StreamRegistry
    unreachable: tuple[type[BaseException], ...] = UNREACHABLE

    @classmethod
    def build(
        cls,
        client: aioredis.Redis,
        prefix: str,
        fixtures: FixtureLookup | None,
        window_seconds: float,
        lease_seconds: float,
        delays: LiveBetDelays,
        lookback_seconds: float,
    ) -> StreamJournal:
        keys = Keys(prefix)
        return cls(
            client,
            keys,
            JournalReader(client, keys),
            JournalWriter(
                client, keys, fixtures, window_seconds, lease_seconds, delays, lookback_seconds
            ),
            StreamRegistry(client, keys),
        )

    async def epoch(self) -> str:
        """The journal's epoch, shared by every process (resume tokens name it)."""
        return await shared_value(self.client, self.keys.epoch, new_epoch)

    async def token_key(self) -> str:
        """The resume tokens' signing key when none is configured: the first process makes it."""
        return await shared_value(
            self.client, self.keys.token_key, lambda: uuid.uuid4().hex + uuid.uuid4().hex
        )
