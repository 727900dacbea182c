"""The return-to-player controller on real bets data: the gateway's adapter reads the year's
settled stakes and payouts through BetService.GetReturnToPlayerReport (real PostgreSQL, a
service caller), and the steering turns them into the margin scale; a refused read fails
closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from betmesh.bets.v1 import bet_service_pb2 as pb

from gateway.adapters.bets_rtp import BetsYearFigures, year_start
from gateway.domain.rtp_controller import E4, RtpPolicy, margin_scale_e4
from gateway.service_layer.rtp_steering import RtpSteering
from tests.integration.test_bets_harness import ROLE_HEADER, Mesh, eventually, running


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url) as m:
        yield m


async def test_the_controller_reads_this_years_settled_bets_and_steers(mesh: Mesh) -> None:
    figures = BetsYearFigures(mesh.channel)
    before = await figures.year_to_date(datetime.now(UTC))
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    win = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "home", 20_000)], 1_000)
    lose = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "draw", 34_000)], 2_000)
    assert {win.status, lose.status} == {pb.BET_STATUS_ACCEPTED}
    await mesh.bus.result(f, 2, 0)

    async def both_settled() -> bool:
        bets = [await mesh.bet(b.bet_id) for b in (win, lose)]
        return all(b.status in (pb.BET_STATUS_WON, pb.BET_STATUS_LOST) for b in bets)

    await eventually(both_settled)
    after = await figures.year_to_date(datetime.now(UTC))
    # This test's bets: 3,000 staked, 2,000 paid out (the win at 2.00), both this year.
    assert after.stakes_minor - before.stakes_minor == 3_000
    assert after.payouts_minor - before.payouts_minor == 2_000
    assert after.settled_bets - before.settled_bets == 2

    # The steering turns the same figures into the scale the gateway puts on every request.
    steering = RtpSteering(RtpPolicy(), figures)
    assert await steering.read_once()
    read = steering.controller.figures
    assert read is not None and read.stakes_minor >= after.stakes_minor
    assert steering.scale_e4() == margin_scale_e4(RtpPolicy(), read)
    # A year whose payouts already pass a (low) aim: the full steer.
    strict = RtpSteering(RtpPolicy(limit_e4=100, band_e4=0, ramp_e4=0), figures)
    assert await strict.read_once()
    assert strict.scale_e4() == strict.policy.max_scale_e4
    # A year that starts after every settled bet: nothing settled, nothing to correct.
    assert year_start(datetime(2030, 6, 1, tzinfo=UTC)) == datetime(2030, 1, 1, tzinfo=UTC)


async def test_a_caller_bets_refuses_gets_no_figures_and_the_steer_fails_closed(
    mesh: Mesh,
) -> None:
    class Anonymous(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
        async def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
            details = details._replace(metadata=[(ROLE_HEADER, "anonymous")])
            return await continuation(details, request)

    address = f"127.0.0.1:{mesh.host.port}"
    async with grpc.aio.insecure_channel(address, interceptors=[Anonymous()]) as channel:
        clock = [0.0]
        policy = RtpPolicy()
        steering = RtpSteering(policy, BetsYearFigures(channel), clock=lambda: clock[0])
        assert not await steering.read_once()  # PERMISSION_DENIED, logged, not raised
        assert steering.scale_e4() == policy.initial_scale_e4 == E4
        clock[0] = policy.max_age_seconds + 1
        assert not await steering.read_once()
        assert steering.scale_e4() == policy.max_scale_e4
