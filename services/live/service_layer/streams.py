"""What StreamOdds and UpdateSubscription do, free of gRPC and Redis: open, pump, change,
close. The servicer translates; the domain (services/live/domain/stream/) decides what each
stream is sent; the journal and the registry are ports (ports.py: Redis in
services/live/adapters/redis_journal.py, plugged in by app.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from betmesh.live.v1 import live_odds_service_pb2 as pb
from opentelemetry.metrics import MeterProvider, Observation

from service_runtime.background import Background, forever
from service_runtime.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from service_runtime.telemetry import meter
from services.live.domain.stream.filters import Filter
from services.live.domain.stream.hub import Hub
from services.live.domain.stream.owner import Owner
from services.live.domain.stream.resume import TokenSigner
from services.live.domain.stream.subscriber import Limits, Subscriber
from services.live.service_layer.ports import Producers, StreamJournal
from services.live.stream_settings import StreamSettings

log = logging.getLogger(__name__)

HEARTBEAT_MIN_MS, HEARTBEAT_MAX_MS, HEARTBEAT_DEFAULT_MS = 500, 30_000, 5_000
BATCH_MAX, BATCH_DEFAULT = 500, 100
CONFLATE_MAX_MS = 120_000
# How often each process reads the producers' liveness for its streams.
PRODUCER_CHECK_SECONDS = 1.0
# A token from a process further ahead: how long to wait for this process' tail to catch up.
CATCH_UP_SECONDS = 5.0

# The servicer's writer: takes encoded StreamOddsResponse messages (the RPC is registered
# with a pass-through serializer: see services/live/app.py).
Write = Callable[[bytes], Awaitable[None]]


class StreamService:
    def __init__(
        self,
        journal: StreamJournal,
        settings: StreamSettings,
        meters: MeterProvider | None = None,
        liveness: Producers | None = None,
    ) -> None:
        self.journal = journal
        self.liveness = liveness
        # What every stream was last told about the producers (None: nothing known yet).
        self.producers: pb.ProducerStatus | None = None
        self.settings = settings
        self.hub = Hub()
        # What the HorizontalPodAutoscaler scales live on besides CPU (deploy/k8s/base/live.yaml:
        # exported as betmesh_live_active_subscribers once OTLP metrics reach Prometheus).
        # `meters`: the process-wide provider unless one is given (tests read it).
        live_meter = meter("betmesh.live") if meters is None else meters.get_meter("betmesh.live")
        # Seconds the slowest open stream's oldest queued update has waited here: what a
        # partner sees as staleness before the stream tells it so (and cuts it past the bound).
        live_meter.create_observable_gauge(
            "betmesh.live.stream_lag_max",
            callbacks=[self._observe_lag],
            unit="s",
            description="age of the oldest update queued for the slowest open stream",
        )
        live_meter.create_observable_gauge(
            "betmesh.live.active_subscribers",
            callbacks=[lambda options: [Observation(len(self.hub.subscribers))]],
            description="odds streams open on this process",
        )
        self.reader = journal.reader
        self.registry = journal.registry
        self.writer = journal.writer
        self.limits = Limits(
            conflate_after=settings.conflate_after, max_behind_seconds=settings.max_behind_seconds
        )
        self.epoch = ""
        self.signer: TokenSigner | None = None
        self._stopping = asyncio.Event()
        # The streams this process holds, with the connection holding each.
        self._owned: dict[str, Owner] = {}

    def _observe_lag(self, options: object) -> list[Observation]:
        now = time.monotonic()
        lags = [s.lag_seconds(now) for s in list(self.hub.subscribers.values())]
        return [Observation(max(lags, default=0.0))]

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self.epoch = await self.journal.epoch()
        key = self.settings.token_key or await self.journal.token_key()
        self.signer = TokenSigner(key.encode(), self.settings.token_max_age_seconds)
        # Before the port opens: events published once a process serves are the journal's.
        await self.writer.open()
        await self.reader.bootstrap(self.hub)
        self._stopping.clear()

    def background(self) -> list[Background]:
        """The journal tail and writer, the control channel, ownership refresh and producer
        status: run, restarted if they crash, and stopped (flag first, then cancellation) by
        the host once the port is open (app.py; service_runtime.background). start() has read
        the book they start from."""
        stopping = self._stopping
        return [
            forever("stream tail", lambda: self.reader.tail(self.hub, stopping), stop=stopping.set),
            forever("stream writer", lambda: self.writer.run(stopping), stop=stopping.set),
            forever(
                "stream control",
                lambda: self.registry.listen(self._on_control, stopping),
                stop=stopping.set,
            ),
            forever("stream ownership refresh", self._refresh_loop, stop=stopping.set),
            forever("producer status", self._producers_loop, stop=stopping.set),
        ]

    async def stop(self) -> None:
        """After the host stopped the background tasks: hand the journal's lead over."""
        self._stopping.set()
        with contextlib.suppress(Exception):
            await self.writer.resign()

    async def _refresh_loop(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(self.registry.ttl_seconds / 3)
            try:
                owned = dict(self._owned)
                for stream_id in await self.registry.refresh(owned):
                    self._let_go(stream_id, owned[stream_id].connection_id)
            except self.journal.unreachable:
                log.warning("stream registry: Redis unreachable")

    def _let_go(self, stream_id: str, connection_id: str) -> None:
        """Another connection took the stream over: this one ends."""
        subscriber = self.hub.subscribers.get(stream_id)
        owner = self._owned.get(stream_id)
        if owner is not None and owner.connection_id == connection_id:
            del self._owned[stream_id]
        if subscriber is not None and subscriber.connection_id == connection_id:
            subscriber.cut_off(RESUMED_ELSEWHERE)

    async def _producers_loop(self) -> None:
        """Each process reads the producers' liveness from Redis and tells its own streams
        when one goes up or down: the same news on every process, with no journal entry."""
        if self.liveness is None:
            return
        while not self._stopping.is_set():
            try:
                seen = await self.liveness.producers()
            except self.journal.unreachable:
                log.warning("producer status: Redis unreachable")
                seen = None
            if seen is not None:
                status = pb.ProducerStatus()
                for producer in sorted(seen, key=lambda p: p.source):
                    entry = status.producers.add(
                        source=producer.source,
                        state=pb.PRODUCER_STATE_UP if producer.alive else pb.PRODUCER_STATE_DOWN,
                    )
                    entry.last_seen_at.FromNanoseconds(int(producer.last_seen_at * 1e9))
                known = self.producers
                changed = known is None or [(p.source, p.state) for p in known.producers] != [
                    (p.source, p.state) for p in status.producers
                ]
                self.producers = status
                if changed and status.producers:
                    for subscriber in list(self.hub.subscribers.values()):
                        subscriber.pending_status = status
                        subscriber.wake.set()
            await asyncio.sleep(PRODUCER_CHECK_SECONDS)

    def _on_control(self, kind: str, stream_id: str, connection_id: str, body: bytes) -> None:
        if kind == "C":
            self._let_go(stream_id, connection_id)
            return
        subscriber = self.hub.subscribers.get(stream_id)
        if subscriber is not None and subscriber.connection_id == connection_id:
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
            # Compared as sets (order and repeats do not matter); an empty filter, like none,
            # means "the stream's own" on a resume (a client that always sends one may).
            if (
                request.HasField("filter")
                and request.filter != pb.SubscriptionFilter()
                and filter_ != Filter.from_proto(point.filter, 1 << 30)
            ):
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
        owner = self.registry.owner_for(partner, uuid.uuid4().hex)
        claimed = await self.registry.claim(stream_id, owner, self.settings.max_streams_per_partner)
        if claimed is False:
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
            connection_id=owner.connection_id,
        )
        if self.producers is not None and self.producers.producers:
            subscriber.pending_status = self.producers
        # From here on every entry after the book's position reaches this stream.
        self.hub.attach(subscriber)
        self._owned[stream_id] = owner
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
        last_beat = time.monotonic()
        beat_every = subscriber.heartbeat_seconds
        book = self.hub.book
        try:
            while True:
                subscriber.wake.clear()
                if subscriber.cut is not None:
                    raise _cut(subscriber.cut)
                subscriber.build(book, time.time())
                if subscriber.pending_status is not None:
                    subscriber.producer_status(subscriber.pending_status, time.time())
                    subscriber.pending_status = None
                if not subscriber.outbox:
                    remaining = subscriber.heartbeat_seconds - (time.monotonic() - last_beat)
                    if remaining > 0:
                        timer = loop.call_later(remaining, subscriber.wake.set)
                        await subscriber.wake.wait()
                        timer.cancel()
                        if subscriber.conflate_seconds and subscriber.cut is None:
                            await asyncio.sleep(subscriber.conflate_seconds)
                        continue
                while subscriber.outbox or time.monotonic() - last_beat >= beat_every:
                    if time.monotonic() - last_beat >= beat_every:
                        # Also while busy: a client that reads slowly learns how far behind
                        # it is (the age of the oldest update still queued here, measured
                        # when a blocked write returns), before any cut. In order, after
                        # what is queued, so its resume token claims nothing unsent.
                        subscriber.heartbeat(time.time(), subscriber.lag_seconds(time.monotonic()))
                        last_beat = time.monotonic()
                    message = subscriber.outbox.popleft()
                    subscriber.writing = True
                    await write(message)
                    subscriber.writing = False
                if not subscriber.has_waiting():
                    subscriber.behind_since = None
        except asyncio.CancelledError:
            if subscriber.cut is None:
                raise
            task.uncancel()
            raise _cut(subscriber.cut) from None

    async def close(self, subscriber: Subscriber) -> None:
        self.hub.detach(subscriber)
        owner = self._owned.get(subscriber.stream_id)
        if owner is not None and owner.connection_id == subscriber.connection_id:
            del self._owned[subscriber.stream_id]
            with contextlib.suppress(Exception):
                await self.registry.release(subscriber.stream_id, owner)

    async def update(
        self, stream_id: str, message: pb.SubscriptionFilter, partner: str
    ) -> pb.SubscriptionFilter:
        if not stream_id:
            raise InvalidArgument("STREAM_ID_REQUIRED", "stream_id is required")
        filter_ = Filter.from_proto(message, self.settings.max_fixture_ids)
        owner = await self.registry.owner(stream_id)
        if owner is None:
            raise NotFound("STREAM_NOT_FOUND", f"no running stream {stream_id}")
        if owner.partner != partner:
            raise PermissionDenied("NOT_STREAM_OWNER", "the stream belongs to another partner")
        canonical = filter_.to_proto()
        if owner.process_id == self.registry.process_id:
            # Only the connection that holds the stream now; an older one here is being cut.
            local = self.hub.subscribers.get(stream_id)
            if local is None or local.connection_id != owner.connection_id:
                raise NotFound("STREAM_NOT_FOUND", f"stream {stream_id} is no longer served")
            local.change_filter(filter_)
        elif not await self.registry.send_control(
            owner, stream_id, canonical.SerializeToString(deterministic=True)
        ):
            raise NotFound("STREAM_NOT_FOUND", f"stream {stream_id} is no longer served")
        return canonical


RESUMED_ELSEWHERE = "STREAM_RESUMED_ELSEWHERE"


def _cut(reason: str) -> ResourceExhausted | Aborted:
    if reason == RESUMED_ELSEWHERE:
        # Not a retryable failure: the newer connection owns the stream now.
        return Aborted(reason, "this stream was resumed on another connection, which now owns it")
    return ResourceExhausted(
        reason, "the consumer stayed too far behind; reconnect with the last resume token"
    )
