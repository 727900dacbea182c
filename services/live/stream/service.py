"""What StreamOdds and UpdateSubscription do, free of gRPC: open, pump, change, close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import grpc
import redis.asyncio as aioredis
from betmesh.live.v1 import live_odds_service_pb2 as pb
from opentelemetry.metrics import MeterProvider, Observation

from service_runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from service_runtime.telemetry import meter
from services.live.stream.filters import Filter
from services.live.stream.fixtures import GatewayFixtures
from services.live.stream.hub import Hub
from services.live.stream.redis_journal import (
    JournalReader,
    JournalWriter,
    Keys,
    StreamRegistry,
    new_epoch,
    shared_value,
)
from services.live.stream.resume import TokenSigner
from services.live.stream.settings import StreamSettings
from services.live.stream.subscriber import Limits, Subscriber

log = logging.getLogger(__name__)

HEARTBEAT_MIN_MS, HEARTBEAT_MAX_MS, HEARTBEAT_DEFAULT_MS = 500, 30_000, 5_000
BATCH_MAX, BATCH_DEFAULT = 500, 100
CONFLATE_MAX_MS = 120_000
# A token from a process further ahead: how long to wait for this process' tail to catch up.
CATCH_UP_SECONDS = 5.0

# Takes encoded StreamOddsResponse messages (the RPC is registered with a pass-through
# serializer: see services/live/app.py).
Write = Callable[[bytes], Awaitable[None]]


class StreamService:
    def __init__(
        self,
        client: aioredis.Redis,
        settings: StreamSettings,
        gateway_channel: grpc.aio.Channel | None = None,
        meters: MeterProvider | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.keys = Keys(settings.prefix)
        self.hub = Hub()
        # What the HorizontalPodAutoscaler scales live on besides CPU (deploy/k8s/base/live.yaml:
        # exported as betmesh_live_active_subscribers once OTLP metrics reach Prometheus).
        # `meters`: the process-wide provider unless one is given (tests read it).
        live_meter = meter("betmesh.live") if meters is None else meters.get_meter("betmesh.live")
        live_meter.create_observable_gauge(
            "betmesh.live.active_subscribers",
            callbacks=[lambda options: [Observation(len(self.hub.subscribers))]],
            description="odds streams open on this process",
        )
        self.reader = JournalReader(client, self.keys)
        self.registry = StreamRegistry(client, self.keys)
        self.writer = JournalWriter(
            client,
            self.keys,
            GatewayFixtures(gateway_channel) if gateway_channel is not None else None,
            settings.resume_window_seconds,
            settings.lease_seconds,
        )
        self.limits = Limits(
            conflate_after=settings.conflate_after, max_behind_seconds=settings.max_behind_seconds
        )
        self.epoch = ""
        self.signer: TokenSigner | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._partners: dict[str, str] = {}

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self.epoch = await shared_value(self.client, self.keys.epoch, new_epoch)
        key = self.settings.token_key or await shared_value(
            self.client, self.keys.token_key, lambda: uuid.uuid4().hex + uuid.uuid4().hex
        )
        self.signer = TokenSigner(key.encode(), self.settings.token_max_age_seconds)
        await self.reader.bootstrap(self.hub)
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self.reader.tail(self.hub, self._stopping)),
            asyncio.create_task(self.writer.run(self._stopping)),
            asyncio.create_task(self.registry.listen(self._on_control, self._stopping)),
            asyncio.create_task(self._refresh_loop()),
        ]

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.writer.resign()

    async def _refresh_loop(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(self.registry.ttl_seconds / 3)
            try:
                await self.registry.refresh(dict(self._partners))
            except (ConnectionError, OSError, aioredis.ConnectionError):
                log.warning("stream registry: Redis unreachable")

    def _on_control(self, stream_id: str, body: bytes) -> None:
        subscriber = self.hub.subscribers.get(stream_id)
        if subscriber is not None:
            message = pb.SubscriptionFilter.FromString(body)
            subscriber.change_filter(Filter.from_proto(message, 1 << 30))

    # -- streams -------------------------------------------------------------------------------

    async def open(self, request: pb.StreamOddsRequest, partner: str) -> Subscriber:
        assert self.signer is not None, "StreamService.start() first"
        heartbeat_ms = request.heartbeat_interval_ms or HEARTBEAT_DEFAULT_MS
        heartbeat_ms = min(max(heartbeat_ms, HEARTBEAT_MIN_MS), HEARTBEAT_MAX_MS)
        if request.max_batch_size > BATCH_MAX:
            raise InvalidArgument(
                "BATCH_SIZE_OUT_OF_RANGE", f"max_batch_size must be 1..{BATCH_MAX} (0: default)"
            )
        if request.conflate_ms > CONFLATE_MAX_MS:
            raise InvalidArgument(
                "CONFLATE_MS_OUT_OF_RANGE", f"conflate_ms must be at most {CONFLATE_MAX_MS}"
            )
        filter_ = Filter.from_proto(request.filter, self.settings.max_fixture_ids)
        point = None
        stream_id = uuid.uuid4().hex
        if request.resume_token:
            point = self.signer.decode(request.resume_token, self.epoch)
            if request.HasField("filter") and request.filter != point.filter:
                raise InvalidArgument(
                    "RESUME_FILTER_MISMATCH",
                    "a resumed stream keeps its filter: send no filter, or the same one "
                    "(change it with UpdateSubscription)",
                )
            filter_ = Filter.from_proto(point.filter, 1 << 30)
            stream_id = point.stream_id
            if point.position is not None and point.position > self.hub.position:
                if point.position > await self.reader.last_position():
                    raise FailedPrecondition(
                        "RESUME_TOKEN_STALE", "resume token is ahead of the journal"
                    )
                if not await self.hub.wait_for(point.position, CATCH_UP_SECONDS):
                    raise Unavailable("JOURNAL_BEHIND", "this process is catching up; retry")
        if not await self.registry.claim(stream_id, partner, self.settings.max_streams_per_partner):
            raise ResourceExhausted(
                "STREAM_LIMIT",
                f"at most {self.settings.max_streams_per_partner} streams per partner",
                {"max_streams": str(self.settings.max_streams_per_partner)},
            )
        signer, epoch = self.signer, self.epoch
        subscriber = Subscriber(
            stream_id,
            filter_,
            partner,
            lambda f: signer.encoder(stream_id, f.to_proto(), epoch),
            max_batch=request.max_batch_size or BATCH_DEFAULT,
            heartbeat_seconds=heartbeat_ms / 1000,
            conflate_seconds=request.conflate_ms / 1000,
            limits=self.limits,
            position=self.hub.position,
            sequence=point.sequence if point is not None else 0,
        )
        # From here on every entry after the book's position reaches this stream.
        self.hub.attach(subscriber)
        self._partners[stream_id] = partner
        try:
            if point is None:
                subscriber.image(self.hub.book, pb.FULL_IMAGE_REASON_INITIAL, time.time())
            elif point.position is None:
                subscriber.image(self.hub.book, pb.FULL_IMAGE_REASON_RESYNC, time.time())
            else:
                upto = subscriber.seen
                missed = await self.reader.read_range(point.position, upto)
                # The journal is trimmed oldest first: while the entry at the resume point is
                # still there, so is everything after it.
                covered = (
                    missed[0].position == point.position
                    if missed
                    else point.position == upto and point.position != (0, 0)
                )
                if point.position == (0, 0):
                    covered = await self.reader.never_trimmed()
                if not covered:
                    subscriber.image(
                        self.hub.book, pb.FULL_IMAGE_REASON_RESUME_WINDOW_EXCEEDED, time.time()
                    )
                else:
                    wanted = [e for e in missed if filter_.matches(e.fixture_id, e.sport, e.phase)]
                    subscriber.replay(wanted, (point.position, point.delivered))
        except BaseException:
            await self.close(subscriber)
            raise
        return subscriber

    async def pump(self, subscriber: Subscriber, write: Write) -> None:
        """Sends until the client goes away or the stream is cut."""
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()

        def on_cut() -> None:
            if subscriber.writing:
                # Blocked on a client that does not read: the write never returns by itself.
                task.cancel()

        subscriber.on_cut = on_cut
        last_sent = time.monotonic()
        book = self.hub.book
        try:
            while True:
                subscriber.wake.clear()
                if subscriber.cut is not None:
                    raise _cut(subscriber.cut)
                subscriber.build(book, time.time())
                if not subscriber.outbox:
                    remaining = subscriber.heartbeat_seconds - (time.monotonic() - last_sent)
                    if remaining > 0:
                        timer = loop.call_later(remaining, subscriber.wake.set)
                        await subscriber.wake.wait()
                        timer.cancel()
                        if subscriber.conflate_seconds and subscriber.cut is None:
                            await asyncio.sleep(subscriber.conflate_seconds)
                        continue
                    subscriber.heartbeat(self.hub.position, time.time())
                while subscriber.outbox:
                    message = subscriber.outbox.popleft()
                    subscriber.writing = True
                    await write(message)
                    subscriber.writing = False
                last_sent = time.monotonic()
                if not subscriber.has_waiting():
                    subscriber.behind_since = None
        except asyncio.CancelledError:
            if subscriber.cut is None:
                raise
            task.uncancel()
            raise _cut(subscriber.cut) from None

    async def close(self, subscriber: Subscriber) -> None:
        self.hub.detach(subscriber)
        if self._partners.get(subscriber.stream_id) == subscriber.partner:
            del self._partners[subscriber.stream_id]
            with contextlib.suppress(Exception):
                await self.registry.release(subscriber.stream_id, subscriber.partner)

    async def update(
        self, stream_id: str, message: pb.SubscriptionFilter, partner: str
    ) -> pb.SubscriptionFilter:
        if not stream_id:
            raise InvalidArgument("STREAM_ID_REQUIRED", "stream_id is required")
        filter_ = Filter.from_proto(message, self.settings.max_fixture_ids)
        owner = await self.registry.owner(stream_id)
        if owner is None:
            raise NotFound("STREAM_NOT_FOUND", f"no running stream {stream_id}")
        process_id, owner_partner = owner
        if owner_partner != partner:
            raise PermissionDenied("NOT_STREAM_OWNER", "the stream belongs to another partner")
        canonical = filter_.to_proto()
        local = self.hub.subscribers.get(stream_id)
        if process_id == self.registry.process_id and local is not None:
            local.change_filter(filter_)
        elif not await self.registry.send_control(
            process_id, stream_id, canonical.SerializeToString(deterministic=True)
        ):
            raise NotFound("STREAM_NOT_FOUND", f"stream {stream_id} is no longer served")
        return canonical


def _cut(reason: str) -> ResourceExhausted:
    if reason == "STREAM_RESUMED_ELSEWHERE":
        return ResourceExhausted(reason, "this stream was resumed on another connection")
    return ResourceExhausted(
        reason, "the consumer stayed too far behind; reconnect with the last resume token"
    )
