"""QuoteService over gRPC: translates requests to the pricing core and back."""

from __future__ import annotations

import asyncio

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc

from service_runtime import page_tokens
from service_runtime.errors import DomainError, InvalidArgument, NotFound
from service_runtime.server import ServicerContext
from service_runtime.telemetry import tracer
from services.quotes.domain.engines import ENGINES
from services.quotes.domain.pricing import canonicalise, price_fixture, quote_digest
from services.quotes.domain.snapshots import SnapshotResolver, check_hash

BUILD_VERSION = "0.2.0"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_BATCH = 1_000
Context = ServicerContext


class QuoteServicer(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(
        self,
        snapshots: SnapshotResolver,
        sport: sport_pb2.Sport.ValueType,
        replica_id: str,
        fault: str = "",
        engine: str = "",
    ) -> None:
        self.fault = fault
        self.engine = engine or ENGINES.get(sport, ("",))[0]
        self.snapshots = snapshots
        self.sport = sport
        self.replica_id = replica_id
        self._tracer = tracer(__name__)

    async def _price(self, request: pb.PriceFixtureRequest) -> pb.PriceFixtureResponse:
        if self.fault.startswith("delay-ms:"):
            await asyncio.sleep(int(self.fault.removeprefix("delay-ms:")) / 1000)
        snapshot = await self.snapshots.resolve(request.snapshot_hash)
        with self._tracer.start_as_current_span(
            "price fixture", attributes={"betmesh.fixture.id": request.fixture.fixture_id}
        ):
            quote_set = price_fixture(
                request.fixture,
                snapshot,
                request.snapshot_hash,
                list(request.market_types),
                request.game_state if request.HasField("game_state") else None,
                self.sport,
                self.engine,
                request.margin_scale_e4,
            )
            if self.fault == "skew-odds" or self.fault.startswith("skew-odds:"):
                _skew(quote_set, int(self.fault.partition(":")[2] or 1))
            data = canonicalise(quote_set)
        return pb.PriceFixtureResponse(
            quote_set=data,
            digest=quote_digest(data),
            replica_id=self.replica_id,
            engine=self.engine,
        )

    async def PriceFixture(
        self, request: pb.PriceFixtureRequest, context: Context
    ) -> pb.PriceFixtureResponse:
        return await self._price(request)

    async def PriceFixtures(
        self, request: pb.PriceFixturesRequest, context: Context
    ) -> pb.PriceFixturesResponse:
        if len(request.requests) > MAX_BATCH:
            raise InvalidArgument(
                "BATCH_TOO_LARGE", f"at most {MAX_BATCH} fixtures per PriceFixtures call"
            )
        results = []
        for item in request.requests:
            try:
                results.append(pb.PriceFixtureResult(priced=await self._price(item)))
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
        check_hash(request.snapshot_hash)
        found = await self.snapshots.local(request.snapshot_hash)
        if found is None:
            raise NotFound(
                "SNAPSHOT_NOT_FOUND",
                f"no snapshot {request.snapshot_hash}",
                {"snapshot_hash": request.snapshot_hash},
            )
        return pb.GetModelSnapshotResponse(snapshot=found[1], snapshot_hash=request.snapshot_hash)

    async def ListModelSnapshots(
        self, request: pb.ListModelSnapshotsRequest, context: Context
    ) -> pb.ListModelSnapshotsResponse:
        size = request.page_size or DEFAULT_PAGE_SIZE
        if size > MAX_PAGE_SIZE:
            raise InvalidArgument("PAGE_SIZE_TOO_LARGE", f"page_size is at most {MAX_PAGE_SIZE}")
        # Opaque offsets, parsed strictly: "²" or 2^63 never reach the store.
        offset = page_tokens.decode_int("off", request.page_token) or 0
        # One more than asked tells whether another page exists.
        records = await self.snapshots.newest(request.sport, size + 1, offset)
        summaries = []
        for record in records[:size]:
            summary = pb.ModelSnapshotSummary(
                snapshot_hash=record.snapshot_hash, sport=record.sport, model=record.model
            )
            summary.snapshot.ParseFromString(record.data)
            summaries.append(summary)
        return pb.ListModelSnapshotsResponse(
            snapshots=summaries,
            next_page_token=page_tokens.encode("off", offset + size) if len(records) > size else "",
        )

    async def GetReplicaInfo(
        self, request: pb.GetReplicaInfoRequest, context: Context
    ) -> pb.GetReplicaInfoResponse:
        return pb.GetReplicaInfoResponse(
            replica_id=self.replica_id,
            sport=self.sport,
            build_version=BUILD_VERSION,
            engine=self.engine,
        )


def _skew(quote_set: market_pb2.QuoteSet, ticks: int = 1) -> None:
    """The injected fault: the first offered price `ticks` hundredths too generous."""
    for market in quote_set.markets:
        for selection in market.selections:
            if selection.odds_e4:
                selection.odds_e4 += 100 * ticks
                return
