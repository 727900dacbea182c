"""QuoteService over gRPC: translates requests to the service layer (services/quotes/
service_layer/) and back."""

from __future__ import annotations

from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc

from service_runtime import page_tokens
from service_runtime.errors import InvalidArgument
from service_runtime.server import ServicerContext
from services.quotes.service_layer import commands
from services.quotes.service_layer.handlers import NotPriced, Priced, QuoteHandlers

BUILD_VERSION = "0.2.0"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_BATCH = 1_000
Context = ServicerContext


class QuoteServicer(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(self, handlers: QuoteHandlers, replica_id: str) -> None:
        self.handlers = handlers
        self.replica_id = replica_id

    def _priced(self, priced: Priced) -> pb.PriceFixtureResponse:
        return pb.PriceFixtureResponse(
            quote_set=priced.quote_set,
            digest=priced.digest,
            replica_id=self.replica_id,
            engine=self.handlers.engine,
        )

    async def PriceFixture(
        self, request: pb.PriceFixtureRequest, context: Context
    ) -> pb.PriceFixtureResponse:
        return self._priced(await self.handlers.price_fixture(_price_command(request)))

    async def PriceFixtures(
        self, request: pb.PriceFixturesRequest, context: Context
    ) -> pb.PriceFixturesResponse:
        if len(request.requests) > MAX_BATCH:
            raise InvalidArgument(
                "BATCH_TOO_LARGE", f"at most {MAX_BATCH} fixtures per PriceFixtures call"
            )
        outcomes = await self.handlers.price_fixtures([_price_command(r) for r in request.requests])
        results = []
        for outcome in outcomes:
            if isinstance(outcome, NotPriced):
                failure = pb.PricingFailure(
                    fixture_id=outcome.fixture_id, reason=outcome.reason, message=outcome.message
                )
                results.append(pb.PriceFixtureResult(failure=failure))
            else:
                results.append(pb.PriceFixtureResult(priced=self._priced(outcome)))
        return pb.PriceFixturesResponse(results=results)

    async def GetModelSnapshot(
        self, request: pb.GetModelSnapshotRequest, context: Context
    ) -> pb.GetModelSnapshotResponse:
        data = await self.handlers.model_snapshot(commands.GetModelSnapshot(request.snapshot_hash))
        return pb.GetModelSnapshotResponse(snapshot=data, snapshot_hash=request.snapshot_hash)

    async def ListModelSnapshots(
        self, request: pb.ListModelSnapshotsRequest, context: Context
    ) -> pb.ListModelSnapshotsResponse:
        size = request.page_size or DEFAULT_PAGE_SIZE
        if size > MAX_PAGE_SIZE:
            raise InvalidArgument("PAGE_SIZE_TOO_LARGE", f"page_size is at most {MAX_PAGE_SIZE}")
        # Opaque offsets, parsed strictly: "²" or 2^63 never reach the store.
        offset = page_tokens.decode_int("off", request.page_token) or 0
        # One more than asked tells whether another page exists.
        records = await self.handlers.model_snapshots(
            commands.ListModelSnapshots(request.sport, size + 1, offset)
        )
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
            sport=self.handlers.sport,
            build_version=BUILD_VERSION,
            engine=self.handlers.engine,
        )


def _price_command(request: pb.PriceFixtureRequest) -> commands.PriceFixture:
    return commands.PriceFixture(
        fixture=request.fixture,
        snapshot_hash=request.snapshot_hash,
        market_types=tuple(request.market_types),
        game_state=request.game_state if request.HasField("game_state") else None,
        margin_scale_e4=request.margin_scale_e4,
    )
