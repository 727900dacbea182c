"""LiveOddsService over gRPC: translates requests to the live core and back."""

from __future__ import annotations

from collections.abc import AsyncIterator

from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc

from service_runtime.errors import InvalidArgument, NotFound, Unimplemented
from service_runtime.server import ServicerContext
from service_runtime.telemetry import tracer
from services.live.domain.ports import LiveStore
from services.live.domain.sequencing import Outcome

Context = ServicerContext

OUTCOMES = {
    Outcome.APPLIED: pb.INGEST_OUTCOME_APPLIED,
    Outcome.DUPLICATE: pb.INGEST_OUTCOME_DUPLICATE,
    Outcome.HELD: pb.INGEST_OUTCOME_HELD,
}


class LiveOddsServicer(live_odds_service_pb2_grpc.LiveOddsServiceServicer):
    def __init__(self, store: LiveStore) -> None:
        self.store = store
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

    async def StreamOdds(
        self, request: pb.StreamOddsRequest, context: Context
    ) -> AsyncIterator[pb.StreamOddsResponse]:
        raise Unimplemented("NOT_IMPLEMENTED", "StreamOdds is not implemented yet")
        # Unreachable, but makes this an async generator, as a server-streaming handler is.
        yield pb.StreamOddsResponse()

    async def UpdateSubscription(
        self, request: pb.UpdateSubscriptionRequest, context: Context
    ) -> pb.UpdateSubscriptionResponse:
        raise Unimplemented("NOT_IMPLEMENTED", "UpdateSubscription is not implemented yet")
