"""The margin steer end to end: a gateway reading real bets figures (real PostgreSQL) steers the
real quote replicas' prices; every accepted set records its scale, a new steer reprices the
week, and a fixture priced in play at kick-off carries the same prices as pre-match."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from betmesh.bets.v1 import bet_service_pb2
from betmesh.common.v1 import game_state_pb2, market_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import fixture_service_pb2

from gateway.app import build as build_gateway
from gateway.settings import GatewaySettings
from service_runtime.server import ServiceHost
from tests.integration.test_bets_harness import Mesh, eventually, running
from tests.integration.test_gateway_scheduler import (
    Gateway,
    clean_schema,  # noqa: F401 - a fixture
    replicas,  # noqa: F401 - a fixture
    week,
)

MAX_SCALE = 15_000


@pytest.fixture
async def bets(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url) as m:
        yield m


async def start(hosts: list[ServiceHost], database_url: str, **extra: str) -> Gateway:
    addresses = ",".join(f"127.0.0.1:{r.port}" for r in hosts)
    host = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}",
                "BETMESH_DATABASE_URL": database_url,
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GRACE_SECONDS": "0",
                **extra,
            }
        )
    )
    await host.start()
    return Gateway(host, grpc.aio.insecure_channel(f"127.0.0.1:{host.port}"))


async def a_winning_bet_settled(bets: Mesh) -> None:
    player, fixture = await bets.player(balance=10_000), await bets.fixture()
    bet = await bets.place(player, [(fixture, f"{fixture}/MATCH_RESULT", "home", 20_000)], 1_000)
    await bets.bus.result(fixture, 1, 0)

    async def won() -> bool:
        return (await bets.bet(bet.bet_id)).status == bet_service_pb2.BET_STATUS_WON

    await eventually(won)


async def test_a_steer_from_real_figures_reprices_the_week_and_live_matches_pre_match(
    replicas: list[ServiceHost],  # noqa: F811
    clean_schema: str,  # noqa: F811
    bets: Mesh,
) -> None:
    await a_winning_bet_settled(bets)  # this year's payouts are above 1%, whatever else ran
    fixtures = week(datetime.now(UTC))[:4]
    plain = await start(replicas, clean_schema)
    try:
        await plain.fixtures.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=fixtures), timeout=10
        )
        first = await plain.consensus.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=60)
        assert first.priced_count == len(fixtures)
        before = (
            await plain.consensus.GetAcceptedQuoteSet(
                pb.GetAcceptedQuoteSetRequest(fixture_id=fixtures[0].fixture_id), timeout=10
            )
        ).accepted.quote_set
        assert before.margin_scale_e4 == 0
    finally:
        await plain.close()

    # The same store, now with the controller on and an aim of 1%: this year is past it.
    steered = await start(
        replicas,
        clean_schema,
        BETMESH_GATEWAY_BETS_ADDRESS=f"127.0.0.1:{bets.host.port}",
        BETMESH_GATEWAY_RTP_LIMIT_E4="100",
        BETMESH_GATEWAY_RTP_BAND_E4="0",
        BETMESH_GATEWAY_RTP_RAMP_E4="0",
        BETMESH_GATEWAY_RTP_MAX_MARGIN_SCALE_E4=str(MAX_SCALE),
    )
    try:
        live_request = pb.GetConsensusQuoteRequest(
            fixture=fixtures[0],
            snapshot_hash=before.snapshot_hash,
            game_state=game_state_pb2.GameState(
                event_sequence=1,
                period=1,
                football=game_state_pb2.FootballState(regulation_seconds=5400),
            ),
        )
        live: list[market_pb2.QuoteSet] = []

        async def steered_live() -> bool:
            answer = await steered.consensus.GetConsensusQuote(live_request, timeout=10)
            quote_set: market_pb2.QuoteSet = answer.accepted.quote_set
            live[:] = [quote_set]
            return quote_set.margin_scale_e4 == MAX_SCALE

        await eventually(steered_live, timeout=20)  # the controller's first read at start
        again = await steered.consensus.RunPreMatchPricing(
            pb.RunPreMatchPricingRequest(), timeout=60
        )
        assert (again.priced_count, again.unchanged_count) == (len(fixtures), 0)
        once_more = await steered.consensus.RunPreMatchPricing(
            pb.RunPreMatchPricingRequest(), timeout=60
        )
        assert (once_more.priced_count, once_more.unchanged_count) == (0, len(fixtures))
        after = (
            await steered.consensus.GetAcceptedQuoteSet(
                pb.GetAcceptedQuoteSetRequest(fixture_id=fixtures[0].fixture_id), timeout=10
            )
        ).accepted.quote_set
        assert after.margin_scale_e4 == MAX_SCALE
        # Same fair probabilities, a larger margin: every market pays out less (or the same,
        # where a short favourite sits at the 1.01 floor).
        old = {m.market_id: m for m in before.markets}
        cheaper = 0
        for market in after.markets:
            prior = old[market.market_id]
            assert [s.probability_e9 for s in market.selections] == [
                s.probability_e9 for s in prior.selections
            ]
            assert market.payout_e4 <= prior.payout_e4
            cheaper += market.payout_e4 < prior.payout_e4
        assert cheaper > len(after.markets) // 2
        # Kick-off in play, under the same steer: the pre-match markets to the byte.
        assert {m.market_id: m.SerializeToString() for m in live[0].markets} == {
            m.market_id: m.SerializeToString() for m in after.markets
        }
    finally:
        await steered.close()
