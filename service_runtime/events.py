"""The internal event path: Redis Streams with consumer groups.

Why Redis Streams: durable (entries stay until trimmed), at-least-once through consumer groups
(an entry is pending until acknowledged and is re-claimed from a dead consumer), ordered per
stream, and already part of the mesh (live uses Redis for fan-out). One stream per topic,
`betmesh:events:<topic>`; each entry holds a serialised `EventEnvelope` and the W3C trace
context of the publishing span, so a consumer's span joins the producer's trace.

Delivery is at-least-once, so consumers must be idempotent by `event_id`. The consumer skips
ids it has already completed (a per-group marker with a TTL), which removes most duplicates;
the handler's own idempotency (a unique key in its database) covers the rest.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from betmesh.events.v1 import events_pb2
from google.protobuf import timestamp_pb2
from opentelemetry.trace import SpanKind
from redis.exceptions import ResponseError

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


def stream_key(topic: Topic) -> str:
    return f"betmesh:events:{topic.value}"


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
        done_ttl_seconds: int = 7 * 24 * 3600,
        start_from: str = "0",
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

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        envelope = events_pb2.EventEnvelope()
        envelope.ParseFromString(fields[b"envelope"])
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

    async def poll_once(self) -> int:
        """Handles what is pending for this consumer, then new entries; returns how many."""
        key = stream_key(self.topic)
        handled = 0
        batches: list[Any] = []
        if not self._recovered:
            # After a restart, our own unacknowledged entries come first.
            own = await self.client.xreadgroup(
                self.group, self.consumer, {key: "0"}, count=self.batch_size
            )
            batches.extend(own or [])
            self._recovered = True
        # Entries another consumer took but never acknowledged (it died, or its handler failed)
        # come back to whoever polls after reclaim_idle_ms.
        _, claimed, *_ = await self.client.xautoclaim(
            key,
            self.group,
            self.consumer,
            min_idle_time=self.reclaim_idle_ms,
            count=self.batch_size,
        )
        if claimed:
            batches.append((key, claimed))
        fresh = await self.client.xreadgroup(
            self.group, self.consumer, {key: ">"}, count=self.batch_size, block=self.block_ms
        )
        batches.extend(fresh or [])
        for _, entries in batches:
            for entry_id, fields in entries:
                if not fields:  # trimmed while pending
                    await self.client.xack(key, self.group, entry_id)
                    continue
                try:
                    await self._handle(entry_id, fields)
                    handled += 1
                except Exception:
                    # Left pending: redelivered after reclaim_idle_ms, here or elsewhere.
                    log.exception("event handler failed", extra={"topic": self.topic.value})
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
