"""LiveOddsService over gRPC: translates requests to the live core and back."""

from __future__ import annotations

from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc

from service_runtime.auth import current_principal
from service_runtime.errors import InvalidArgument, NotFound, Unimplemented
from service_runtime.server import ServicerContext
from service_runtime.telemetry import tracer
from service_runtime.tokens import PUBLIC_ROLE
from services.live.domain.ports import LiveStore
from services.live.domain.repricing import Repricer
from services.live.domain.sequencing import Outcome
from services.live.stream.service import StreamService

Context = ServicerContext

OUTCOMES = {
    Outcome.APPLIED: pb.INGEST_OUTCOME_APPLIED,
    Outcome.DUPLICATE: pb.INGEST_OUTCOME_DUPLICATE,
    Outcome.HELD: pb.INGEST_OUTCOME_HELD,
}


class LiveOddsServicer(live_odds_service_pb2_grpc.LiveOddsServiceServicer):
    def __init__(
        self,
        store: LiveStore,
        streams: StreamService | None = None,
        repricer: Repricer | None = None,
    ) -> None:
        self.store = store
        self.repricer = repricer
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
            decision = await self.store.ingest(event)
            span.set_attribute("betmesh.ingest.outcome", decision.outcome.value)
        if decision.outcome == Outcome.APPLIED and self.repricer is not None:
            # Bet stops are already out (with the state, in the ingest); the price follows.
            self.repricer.poke(event.fixture_id)
        return pb.IngestMatchEventResponse(
            outcome=OUTCOMES[decision.outcome], applied_sequence=decision.applied_sequence
        )

    async def GetGameState(
        self, request: pb.GetGameStateRequest, context: Context
    ) -> pb.GetGameStateResponse:
        if not request.fixture_id:
            raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")
        game = await self.store.game(request.fixture_id)
        if game is None:
            raise NotFound(
                "FIXTURE_NOT_FOUND",
                f"no match event has been applied for fixture {request.fixture_id}",
                {"fixture_id": request.fixture_id},
            )
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


# Set by the edge on anonymous visitors' public streams (gateway/edge/grpc_web.py).
PUBLIC_CLIENT_HEADER = "x-betmesh-public-client"


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
