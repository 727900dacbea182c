"""The internal event path: Redis Streams with consumer groups.

Why Redis Streams: durable (entries stay until trimmed), at-least-once through consumer groups
(an entry is pending until acknowledged and is re-claimed from a dead consumer), ordered per
stream, and already part of the mesh (live uses Redis for fan-out). One stream per topic,
`betmesh:events:<topic>`; each entry holds a serialised `EventEnvelope` and the W3C trace
context of the publishing span, so a consumer's span joins the producer's trace.

Delivery is at-least-once, so consumers must be idempotent by `event_id`. The consumer skips
ids it has already completed (a per-group marker with a TTL), which removes most duplicates;
the handler's own idempotency (a unique key in its database) covers the rest.

A handler that fails leaves its entry pending: it is retried with exponential back-off, and
after `DeadLetterPolicy.max_attempts` failures (counted in Redis, across restarts and consumers)
moved to the dead-letter stream (service_runtime.dead_letters), so a poison event cannot loop
for ever. An entry that does not decode is dead-lettered at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from betmesh.events.v1 import events_pb2
from google.protobuf import timestamp_pb2
from opentelemetry.trace import SpanKind
from redis.exceptions import ResponseError

from service_runtime.dead_letters import (
    EVENT_UNDECODABLE,
    HANDLER_FAILED,
    DeadLetterPolicy,
    DeadLetterStore,
)
from service_runtime.telemetry import extract_context, inject_context, tracer

log = logging.getLogger(__name__)


class Topic(StrEnum):
    QUOTE_SET_ACCEPTED = "quotes.accepted"
    MARKET_STATUS_CHANGED = "markets.status"
    GAME_STATE_CHANGED = "games.state"
    RESULT_VALIDATED = "results.validated"
    RESULT_FINALISED = "results.finalised"
    BET_SETTLED = "bets.settled"
    BETS_VOIDED = "bets.voided"
    KYC_STATUS_CHANGED = "identity.kyc"
    LIMITS_CHANGED = "identity.limits"
    LIVE_HEARTBEAT = "live.heartbeat"


def stream_key(topic: Topic) -> str:
    return f"betmesh:events:{topic.value}"


# How long a consumer group remembers an event it completed (its duplicate marker).
DONE_TTL_SECONDS = 7 * 24 * 3600

Handler = Callable[[events_pb2.EventEnvelope], Awaitable[None]]


class EventPublisher:
    def __init__(self, client: aioredis.Redis, producer: str, max_length: int = 1_000_000) -> None:
        self.client = client
        self.producer = producer
        self.max_length = max_length
        self._tracer = tracer(__name__)

    async def publish(self, topic: Topic, envelope: events_pb2.EventEnvelope) -> str:
        """Stamps id, time and producer if unset, appends to the topic's stream, returns the id."""
        if not envelope.event_id:
            envelope.event_id = str(uuid.uuid4())
        if not envelope.HasField("occurred_at"):
            now = timestamp_pb2.Timestamp()
            now.GetCurrentTime()
            envelope.occurred_at.CopyFrom(now)
        envelope.producer = envelope.producer or self.producer
        with self._tracer.start_as_current_span(
            f"publish {topic.value}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "redis",
                "messaging.destination.name": topic.value,
                "messaging.message.id": envelope.event_id,
            },
        ):
            fields: dict[Any, Any] = {
                "envelope": envelope.SerializeToString(deterministic=True),
                "type": envelope.WhichOneof("payload") or "",
                **inject_context(),
            }
            await self.client.xadd(
                stream_key(topic), fields, maxlen=self.max_length, approximate=True
            )
        return envelope.event_id


class _Undecodable(Exception):
    """An entry with no envelope to handle: dead-lettered without retries."""


class EventConsumer:
    """Runs `handler` for each event of a topic, as one member of a consumer group."""

    def __init__(
        self,
        client: aioredis.Redis,
        topic: Topic,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        batch_size: int = 100,
        block_ms: int = 1_000,
        reclaim_idle_ms: int = 30_000,
        done_ttl_seconds: int = DONE_TTL_SECONDS,
        start_from: str = "0",
        policy: DeadLetterPolicy | None = None,
    ) -> None:
        self.client = client
        self.topic = topic
        self.group = group
        self.consumer = consumer
        self.handler = handler
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.reclaim_idle_ms = reclaim_idle_ms
        self.done_ttl_seconds = done_ttl_seconds
        self.start_from = start_from
        self._stopping = asyncio.Event()
        self._recovered = False
        self._tracer = tracer(__name__)
        self.policy = policy or DeadLetterPolicy()
        self.dead_letters = DeadLetterStore(client)
        # Failed entries of ours waiting for their next attempt: entry id -> when (monotonic).
        self._retry_at: dict[bytes, float] = {}
        # When the next XAUTOCLAIM is due (monotonic). An entry is reclaimable only after
        # reclaim_idle_ms; looking every poll (several a second per idle consumer, each a Redis
        # round trip) finds it no sooner than looking a fifth of that period apart, which
        # delays a reclaim by at most that fifth.
        self._next_reclaim = 0.0

    @property
    def attempts_key(self) -> str:
        """Failed attempts per pending entry of this group (a hash: entry id -> count)."""
        return f"betmesh:events:attempts:{self.group}:{self.topic.value}"

    async def ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(
                stream_key(self.topic), self.group, id=self.start_from, mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _done_key(self, event_id: str) -> str:
        return f"betmesh:events:done:{self.group}:{event_id}"

    @staticmethod
    def _decode(fields: dict[bytes, bytes]) -> events_pb2.EventEnvelope:
        """The entry's envelope; raises _Undecodable when there is none to handle."""
        try:
            return events_pb2.EventEnvelope.FromString(fields[b"envelope"])
        except Exception as exc:  # KeyError, DecodeError: no retry can make it decode
            raise _Undecodable(str(exc) or type(exc).__name__) from exc

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        envelope = self._decode(fields)
        carrier = {
            k.decode(): v.decode()
            for k, v in fields.items()
            if k in (b"traceparent", b"tracestate", b"baggage")
        }
        with self._tracer.start_as_current_span(
            f"process {self.topic.value}",
            context=extract_context(carrier),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "redis",
                "messaging.destination.name": self.topic.value,
                "messaging.consumer.group.name": self.group,
                "messaging.message.id": envelope.event_id,
            },
        ) as span:
            if await self.client.exists(self._done_key(envelope.event_id)):
                span.set_attribute("betmesh.event.duplicate", True)
            else:
                await self.handler(envelope)
                await self.client.set(
                    self._done_key(envelope.event_id), 1, ex=self.done_ttl_seconds
                )
            await self.client.xack(stream_key(self.topic), self.group, entry_id)

    async def _failed(self, entry_id: bytes, fields: dict[bytes, bytes], exc: Exception) -> None:
        """Counts a failed attempt; schedules the next one, or dead-letters the entry."""
        undecodable = isinstance(exc, _Undecodable)
        attempts = int(await self.client.hincrby(self.attempts_key, entry_id.decode(), 1))
        extra = {"topic": self.topic.value, "entry_id": entry_id.decode(), "attempts": attempts}
        if undecodable or attempts >= self.policy.max_attempts:
            self._retry_at.pop(entry_id, None)
            event_id = ""
            if not undecodable:
                event_id = self._decode(fields).event_id
            await self.dead_letters.bury(
                stream=stream_key(self.topic),
                topic=self.topic.value,
                group=self.group,
                consumer=self.consumer,
                entry_id=entry_id,
                fields=fields,
                event_id=event_id,
                attempts=attempts,
                reason=EVENT_UNDECODABLE if undecodable else HANDLER_FAILED,
                error=exc,
                attempts_key=self.attempts_key,
            )
            return
        delay = self.policy.backoff(attempts)
        self._retry_at[entry_id] = time.monotonic() + delay
        log.warning(
            "event handler failed; retrying",
            exc_info=exc,
            extra={**extra, "retry_in_seconds": delay},
        )

    async def _due_retries(self, key: str) -> list[Any]:
        """Our failed entries whose back-off is over, claimed again (none if another consumer
        took them meanwhile, or they were acknowledged)."""
        now = time.monotonic()
        due: list[Any] = [entry_id for entry_id, at in self._retry_at.items() if at <= now]
        if not due:
            return []
        for entry_id in due:
            del self._retry_at[entry_id]
        claimed = await self.client.xclaim(key, self.group, self.consumer, 0, due)
        return [(key, claimed)] if claimed else []

    def _block_ms(self) -> int:
        # Wake up for the next retry rather than sleep through it.
        if not self._retry_at:
            return self.block_ms
        wait = min(self._retry_at.values()) - time.monotonic()
        return max(1, min(self.block_ms, int(wait * 1000)))

    async def poll_once(self) -> int:
        """Handles what is pending for this consumer, then new entries; returns how many."""
        key = stream_key(self.topic)
        handled = 0
        batches: list[Any] = []
        # Entries handled after an earlier failure: their attempt count is forgotten on success.
        retried: set[bytes] = set()
        if not self._recovered:
            # After a restart, our own unacknowledged entries come first.
            own: Any = await self.client.xreadgroup(
                self.group, self.consumer, {key: "0"}, count=self.batch_size
            )
            for _, entries in own or []:
                retried.update(entry_id for entry_id, _ in entries)
            batches.extend(own or [])
            self._recovered = True
        for _, entries in (due := await self._due_retries(key)):
            retried.update(entry_id for entry_id, _ in entries)
        batches.extend(due)
        # Entries another consumer took but never acknowledged (it died, or its handler failed)
        # come back to whoever polls after reclaim_idle_ms.
        now = time.monotonic()
        if now >= self._next_reclaim:
            _, claimed, *_ = await self.client.xautoclaim(
                key,
                self.group,
                self.consumer,
                min_idle_time=self.reclaim_idle_ms,
                count=self.batch_size,
            )
            # A full batch: more may be waiting, so look again on the next poll.
            full = len(claimed) >= self.batch_size
            self._next_reclaim = now if full else now + self.reclaim_idle_ms / 5000
            if claimed:
                retried.update(entry_id for entry_id, _ in claimed)
                batches.append((key, claimed))
        fresh = await self.client.xreadgroup(
            self.group, self.consumer, {key: ">"}, count=self.batch_size, block=self._block_ms()
        )
        batches.extend(fresh or [])
        for _, entries in batches:
            for entry_id, fields in entries:
                self._retry_at.pop(entry_id, None)  # claimed back by someone: handled now
                if not fields:  # trimmed while pending
                    await self.client.xack(key, self.group, entry_id)
                    continue
                try:
                    await self._handle(entry_id, fields)
                    handled += 1
                except Exception as exc:
                    # Left pending: retried after a back-off, here (or, should this process
                    # die, by whoever claims it after reclaim_idle_ms), then dead-lettered.
                    await self._failed(entry_id, fields, exc)
                    continue
                if entry_id in retried:
                    await self.client.hdel(self.attempts_key, entry_id.decode())
        return handled

    async def run(self) -> None:
        await self.ensure_group()
        while not self._stopping.is_set():
            try:
                await self.poll_once()
            except (ConnectionError, OSError, aioredis.ConnectionError):
                log.warning("event bus unreachable; retrying", extra={"topic": self.topic.value})
                await asyncio.sleep(1)
            except ResponseError as exc:
                # NOGROUP: the group is gone; UNBLOCKED: the stream was deleted under a read.
                if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                    raise
                # The stream or group vanished (Redis restarted empty, or was flushed): recreate.
                log.warning("consumer group missing; recreating", extra={"topic": self.topic.value})
                await self.ensure_group()

    def stop(self) -> None:
        self._stopping.set()
