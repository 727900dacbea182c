"""The consensus gateway as the live repricer's price source (gRPC).

What a live price is computed from (the choice, and why): the snapshot is the one of the
fixture's latest accepted PRE-MATCH quote set (GetAcceptedQuoteSet), so the live prices
continue exactly from what was offered before kick-off (at minute 0 the in-play model gives the
pre-match price) and a model refit during a match does not jump its prices. The fixture is the
one the feed announced on MATCH_STARTED when it names both sides, else the gateway's fixtures
store (FixtureService.GetFixture). Both are resolved once per fixture and kept in Redis.
"""

from __future__ import annotations

import grpc
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)
from grpc_status import rpc_status

from service_runtime.errors import error_info
from services.live.domain.repricing import PricingFailed, PricingTarget


def _failure(exc: grpc.aio.AioRpcError, what: str) -> PricingFailed:
    reason = exc.code().name
    try:
        info = error_info(rpc_status.from_call(exc))  # type: ignore[arg-type]
    except Exception:  # a status without rich details
        info = None
    if info is not None and info.reason:
        reason = info.reason
    return PricingFailed(reason, f"{what}: {exc.code().name} {exc.details()}")


class GrpcPricingGateway:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float) -> None:
        self.consensus = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
        self.fixtures = fixture_service_pb2_grpc.FixtureServiceStub(channel)
        self.timeout = timeout_seconds

    async def resolve(
        self, fixture_id: str, sport: int, announced: sport_pb2.Fixture | None
    ) -> PricingTarget:
        try:
            pre_match = await self.consensus.GetAcceptedQuoteSet(
                gateway_pb2.GetAcceptedQuoteSetRequest(
                    fixture_id=fixture_id, phase=market_pb2.PRICING_PHASE_PRE_MATCH
                ),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc, f"no pre-match price for {fixture_id}") from None
        fixture = sport_pb2.Fixture()
        if announced is not None:
            fixture.CopyFrom(announced)
        else:
            try:
                found = await self.fixtures.GetFixture(
                    fixture_service_pb2.GetFixtureRequest(fixture_id=fixture_id),
                    timeout=self.timeout,
                )
            except grpc.aio.AioRpcError as exc:
                raise _failure(exc, f"fixture {fixture_id} is unknown") from None
            fixture.CopyFrom(found.fixture)
        # The fixture the live feed names is the one priced, whatever the store called it.
        fixture.fixture_id = fixture_id
        fixture.sport = sport  # type: ignore[assignment]
        fixture.status = sport_pb2.FIXTURE_STATUS_LIVE
        return PricingTarget(fixture, pre_match.accepted.quote_set.snapshot_hash)

    async def quote(
        self, target: PricingTarget, state: game_state_pb2.GameState
    ) -> market_pb2.QuoteSet:
        try:
            response = await self.consensus.GetConsensusQuote(
                gateway_pb2.GetConsensusQuoteRequest(
                    fixture=target.fixture, snapshot_hash=target.snapshot_hash, game_state=state
                ),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc, f"no live price for {target.fixture.fixture_id}") from None
        quote_set: market_pb2.QuoteSet = response.accepted.quote_set
        return quote_set
