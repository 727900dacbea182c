"""LiveOddsService over gRPC: translates requests to the service layer (services/live/
service_layer/) and back."""

from __future__ import annotations

import logging

from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc

from service_runtime.auth import current_principal
from service_runtime.errors import InvalidArgument, Unimplemented
from service_runtime.server import ServicerContext
from service_runtime.telemetry import tracer
from service_runtime.tokens import PUBLIC_ROLE
from services.live.domain.game import MAX_FIXTURE_ID_LENGTH
from services.live.domain.liveness import FixtureProgress
from services.live.domain.sequencing import Outcome
from services.live.service_layer import commands
from services.live.service_layer.handlers import LiveHandlers
from services.live.service_layer.streams import StreamService

Context = ServicerContext
log = logging.getLogger(__name__)

MAX_SOURCE_LENGTH = 128
MAX_HEARTBEAT_FIXTURES = 1_000
MAX_REASON_LENGTH = 200

OUTCOMES = {
    Outcome.APPLIED: pb.INGEST_OUTCOME_APPLIED,
    Outcome.DUPLICATE: pb.INGEST_OUTCOME_DUPLICATE,
    Outcome.HELD: pb.INGEST_OUTCOME_HELD,
}


class LiveOddsServicer(live_odds_service_pb2_grpc.LiveOddsServiceServicer):
    def __init__(self, handlers: LiveHandlers, streams: StreamService | None = None) -> None:
        self.handlers = handlers
        self.streams = streams
        self._tracer = tracer(__name__)

    async def IngestMatchEvent(
        self, request: pb.IngestMatchEventRequest, context: Context
    ) -> pb.IngestMatchEventResponse:
        if not request.HasField("event"):
            raise InvalidArgument("EVENT_REQUIRED", "event is required")
        event = request.event
        with self._tracer.start_as_current_span(
            "ingest match event",
            attributes={
                "betmesh.fixture.id": event.fixture_id,
                "betmesh.event.sequence": event.sequence,
            },
        ) as span:
            if len(event.source) > MAX_SOURCE_LENGTH:
                raise InvalidArgument(
                    "SOURCE_TOO_LONG", f"source has at most {MAX_SOURCE_LENGTH} characters"
                )
            decision = await self.handlers.ingest_match_event(commands.IngestMatchEvent(event))
            span.set_attribute("betmesh.ingest.outcome", decision.outcome.value)
        return pb.IngestMatchEventResponse(
            outcome=OUTCOMES[decision.outcome], applied_sequence=decision.applied_sequence
        )

    async def SendFeedHeartbeat(
        self, request: pb.SendFeedHeartbeatRequest, context: Context
    ) -> pb.SendFeedHeartbeatResponse:
        if not request.source:
            raise InvalidArgument("SOURCE_REQUIRED", "source is required")
        if len(request.source) > MAX_SOURCE_LENGTH:
            raise InvalidArgument(
                "SOURCE_TOO_LONG", f"source has at most {MAX_SOURCE_LENGTH} characters"
            )
        named = [*request.fixture_ids, *(f.fixture_id for f in request.fixtures)]
        if max(len(request.fixture_ids), len(request.fixtures)) > MAX_HEARTBEAT_FIXTURES:
            raise InvalidArgument(
                "TOO_MANY_FIXTURE_IDS",
                f"at most {MAX_HEARTBEAT_FIXTURES} fixture ids per heartbeat",
                {"max_fixture_ids": str(MAX_HEARTBEAT_FIXTURES)},
            )
        if any(not f or len(f) > MAX_FIXTURE_ID_LENGTH for f in named):
            raise InvalidArgument(
                "INVALID_FIXTURE_ID",
                f"fixture ids are 1..{MAX_FIXTURE_ID_LENGTH} characters",
            )
        beat = await self.handlers.send_feed_heartbeat(
            commands.SendFeedHeartbeat(
                request.source,
                tuple(request.fixture_ids),
                tuple(FixtureProgress(f.fixture_id, f.last_sequence) for f in request.fixtures),
            )
        )
        return pb.SendFeedHeartbeatResponse(
            deadline_ms=int(beat.deadline_seconds * 1000),
            recovered_fixture_ids=beat.recovered,
            behind=[
                pb.FixtureBehind(
                    fixture_id=b.fixture_id,
                    missing_sequence=b.missing_sequence,
                    missing_through=b.missing_through,
                    applied_sequence=b.applied_sequence,
                )
                for b in beat.behind
            ],
        )

    async def SuspendFixture(
        self, request: pb.SuspendFixtureRequest, context: Context
    ) -> pb.SuspendFixtureResponse:
        if len(request.reason) > MAX_REASON_LENGTH:
            raise InvalidArgument(
                "REASON_TOO_LONG", f"reason has at most {MAX_REASON_LENGTH} characters"
            )
        _check_fixture_id(request.fixture_id)
        await self.handlers.suspend_fixture(
            commands.SuspendFixture(request.fixture_id, request.reason, current_principal.get())
        )
        return pb.SuspendFixtureResponse()

    async def ResumeFixture(
        self, request: pb.ResumeFixtureRequest, context: Context
    ) -> pb.ResumeFixtureResponse:
        _check_fixture_id(request.fixture_id)
        await self.handlers.resume_fixture(
            commands.ResumeFixture(request.fixture_id, current_principal.get())
        )
        return pb.ResumeFixtureResponse()

    async def GetGameState(
        self, request: pb.GetGameStateRequest, context: Context
    ) -> pb.GetGameStateResponse:
        if not request.fixture_id:
            raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")
        game = await self.handlers.game(request.fixture_id)
        return pb.GetGameStateResponse(fixture_id=game.fixture_id, state=game.state)

    async def StreamOdds(  # type: ignore[override]
        self, request: pb.StreamOddsRequest, context: Context
    ) -> None:
        # A coroutine writing with context.write (not a generator) so that a write blocked on
        # a client that does not read can be abandoned when the stream is cut.
        if self.streams is None:
            raise Unimplemented("NOT_IMPLEMENTED", "StreamOdds is not configured here")
        subscriber = await self.streams.open(request, _partner(context))
        try:
            await self.streams.pump(subscriber, context.write)
        finally:
            await self.streams.close(subscriber)

    async def UpdateSubscription(
        self, request: pb.UpdateSubscriptionRequest, context: Context
    ) -> pb.UpdateSubscriptionResponse:
        if self.streams is None:
            raise Unimplemented("NOT_IMPLEMENTED", "UpdateSubscription is not configured here")
        applied = await self.streams.update(request.stream_id, request.filter, _partner(context))
        return pb.UpdateSubscriptionResponse(filter=applied)


# Set by the edge on anonymous visitors' public streams (services/edge/domain/forwarding.py).
PUBLIC_CLIENT_HEADER = "x-betmesh-public-client"


def _check_fixture_id(fixture_id: str) -> None:
    if not fixture_id:
        raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")
    if len(fixture_id) > MAX_FIXTURE_ID_LENGTH:
        raise InvalidArgument(
            "INVALID_FIXTURE_ID", f"fixture ids are 1..{MAX_FIXTURE_ID_LENGTH} characters"
        )


def _partner(context: Context) -> str:
    """Stream limits count per partner: the token's subject, or the peer's address without
    tokens. Anonymous visitors all arrive with the edge's one public-role token, so theirs count
    per visitor address as the edge saw it (believed from that role only)."""
    principal = current_principal.get()
    if principal is not None and principal.role == PUBLIC_ROLE:
        visitor = _metadata(context).get(PUBLIC_CLIENT_HEADER, "")
        return f"public:{principal.subject}:{visitor[:64]}"
    if principal is not None:
        return f"sub:{principal.subject}"
    peer = context.peer() or "unknown"
    host = peer.rsplit(":", 1)[0] if peer.count(":") >= 2 else peer
    return f"peer:{host}"


def _metadata(context: Context) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        if isinstance(value, str):
            found[key] = value
    return found
