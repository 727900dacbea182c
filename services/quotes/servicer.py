"""QuoteService over gRPC: translates requests to the pricing core and back."""

from __future__ import annotations

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc

from service_runtime.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from service_runtime.server import ServicerContext
from service_runtime.telemetry import tracer
from services.quotes.domain.pricing import canonicalise, price_fixture, quote_digest
from services.quotes.domain.snapshots import SnapshotStore

BUILD_VERSION = "0.1.0"
Context = ServicerContext


class QuoteServicer(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(
        self,
        store: SnapshotStore,
        sport: sport_pb2.Sport.ValueType,
        replica_id: str,
        fault: str = "",
    ) -> None:
        self.fault = fault
        self.store = store
        self.sport = sport
        self.replica_id = replica_id
        self._tracer = tracer(__name__)

    def _price(self, request: pb.PriceFixtureRequest) -> pb.PriceFixtureResponse:
        if not request.snapshot_hash:
            raise InvalidArgument("SNAPSHOT_REQUIRED", "snapshot_hash is required")
        snapshot = self.store.get(request.snapshot_hash)
        if snapshot is None:
            raise FailedPrecondition(
                "SNAPSHOT_NOT_FOUND",
                f"snapshot {request.snapshot_hash} is not known to this replica",
                {"snapshot_hash": request.snapshot_hash},
            )
        with self._tracer.start_as_current_span(
            "price fixture", attributes={"betmesh.fixture.id": request.fixture.fixture_id}
        ):
            quote_set = price_fixture(
                request.fixture,
                snapshot,
                request.snapshot_hash,
                list(request.market_types),
                request.game_state if request.HasField("game_state") else None,
                self.sport,  # type: ignore[arg-type]
            )
            if self.fault == "skew-odds":
                _skew(quote_set)
            data = canonicalise(quote_set)
        return pb.PriceFixtureResponse(
            quote_set=data, digest=quote_digest(data), replica_id=self.replica_id
        )

    async def PriceFixture(
        self, request: pb.PriceFixtureRequest, context: Context
    ) -> pb.PriceFixtureResponse:
        return self._price(request)

    async def PriceFixtures(
        self, request: pb.PriceFixturesRequest, context: Context
    ) -> pb.PriceFixturesResponse:
        results = []
        for item in request.requests:
            try:
                results.append(pb.PriceFixtureResult(priced=self._price(item)))
            except DomainError as exc:
                results.append(
                    pb.PriceFixtureResult(
                        failure=pb.PricingFailure(
                            fixture_id=item.fixture.fixture_id,
                            reason=exc.reason,
                            message=exc.message,
                        )
                    )
                )
        return pb.PriceFixturesResponse(results=results)

    async def GetModelSnapshot(
        self, request: pb.GetModelSnapshotRequest, context: Context
    ) -> pb.GetModelSnapshotResponse:
        data = self.store.get_bytes(request.snapshot_hash)
        if data is None:
            raise NotFound("SNAPSHOT_NOT_FOUND", f"no snapshot {request.snapshot_hash}")
        return pb.GetModelSnapshotResponse(snapshot=data, snapshot_hash=request.snapshot_hash)

    async def ListModelSnapshots(
        self, request: pb.ListModelSnapshotsRequest, context: Context
    ) -> pb.ListModelSnapshotsResponse:
        return pb.ListModelSnapshotsResponse(
            snapshots=[
                pb.ModelSnapshotSummary(
                    snapshot_hash=key, sport=snap.sport, model=snap.model, snapshot=snap
                )
                for key, snap in self.store.all()
                if request.sport in (0, snap.sport)
            ]
        )

    async def GetReplicaInfo(
        self, request: pb.GetReplicaInfoRequest, context: Context
    ) -> pb.GetReplicaInfoResponse:
        return pb.GetReplicaInfoResponse(
            replica_id=self.replica_id, sport=self.sport, build_version=BUILD_VERSION
        )  # type: ignore[arg-type]


def _skew(quote_set: market_pb2.QuoteSet) -> None:
    """The injected fault: the first offered price one unit too generous."""
    for market in quote_set.markets:
        for selection in market.selections:
            if selection.odds_e4:
                selection.odds_e4 += 100
                return
