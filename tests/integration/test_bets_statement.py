"""The regulator's quarterly statement through BetService.GetQuarterlyStatement, on real
PostgreSQL: bets settled this quarter by month and pre-match/live, gross gaming revenue, the
year's return to players against the 85% limit; operators only; a bad quarter refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
import sqlalchemy as sa
from betmesh.bets.v1 import bet_service_pb2 as pb

from services.bets.adapters.postgres_reports import PostgresReports
from tests.integration.test_bets_harness import OPERATOR, Mesh, as_player, eventually, running
from tests.support.grpc_helpers import rpc_error


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url) as m:
        yield m


def this_quarter() -> tuple[int, int]:
    now = datetime.now(UTC)
    return now.year, (now.month - 1) // 3 + 1


async def statement(mesh: Mesh) -> pb.GetQuarterlyStatementResponse:
    year, quarter = this_quarter()
    response: pb.GetQuarterlyStatementResponse = await mesh.stub.GetQuarterlyStatement(
        pb.GetQuarterlyStatementRequest(year=year, quarter=quarter), metadata=OPERATOR
    )
    return response


async def test_settled_bets_appear_in_the_quarter_by_month_and_kind(
    mesh: Mesh, database_url: str
) -> None:
    before = await statement(mesh)
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    win = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "home", 20_000)], 1_000)
    lose = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "draw", 34_000)], 2_000)
    assert {win.status, lose.status} == {pb.BET_STATUS_ACCEPTED}
    # What the money dashboard's exposure gauge reads: these bets are open, at stake and liable.
    reports = PostgresReports(sa.create_engine(database_url))
    stakes, liabilities = reports.open_liability()
    assert stakes >= 3_000 and liabilities >= 0
    reports.engine.dispose()
    await mesh.bus.result(f, 2, 0)

    async def both_settled() -> bool:
        bets = [await mesh.bet(b.bet_id) for b in (win, lose)]
        return all(b.status in (pb.BET_STATUS_WON, pb.BET_STATUS_LOST) for b in bets)

    await eventually(both_settled)
    after = await statement(mesh)

    # This test's bets: 3,000 staked, 2,000 paid out, pre-match, this month.
    assert after.stakes.amount_minor - before.stakes.amount_minor == 3_000
    assert after.payouts.amount_minor - before.payouts.amount_minor == 2_000
    assert (
        after.gross_gaming_revenue.amount_minor
        == after.stakes.amount_minor - after.payouts.amount_minor
    )
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    line = next(
        line
        for line in after.lines
        if not line.live and line.month_start.ToDatetime(tzinfo=UTC) == month
    )
    assert line.settled_bet_count >= 2 and line.active_player_count >= 1
    assert sum(x.stakes.amount_minor for x in after.lines) == after.stakes.amount_minor
    assert after.return_to_player_e4 == (
        after.payouts.amount_minor * 10_000 // after.stakes.amount_minor
    )
    # The year so far holds the quarter; the limit is the law's.
    assert after.year_to_date_stakes.amount_minor >= after.stakes.amount_minor
    assert after.legal_limit_e4 == 8_500
    start, end = after.period_start.ToDatetime(tzinfo=UTC), after.period_end.ToDatetime(tzinfo=UTC)
    assert start.month in (1, 4, 7, 10) and start.day == 1 and start < month + (end - start)


async def test_only_operators_ask_and_a_quarter_must_exist(mesh: Mesh) -> None:
    year, quarter = this_quarter()
    request = pb.GetQuarterlyStatementRequest(year=year, quarter=quarter)
    code, _, _ = await rpc_error(
        lambda: mesh.stub.GetQuarterlyStatement(request, metadata=as_player("p-1"))
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    for bad in (
        pb.GetQuarterlyStatementRequest(year=year, quarter=5),
        pb.GetQuarterlyStatementRequest(year=1999, quarter=1),
    ):

        async def ask(refused: pb.GetQuarterlyStatementRequest = bad) -> object:
            return await mesh.stub.GetQuarterlyStatement(refused, metadata=OPERATOR)

        code, _, _ = await rpc_error(ask)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    # A quarter still to come is empty, not an error.
    future = await mesh.stub.GetQuarterlyStatement(
        pb.GetQuarterlyStatementRequest(year=2100, quarter=4), metadata=OPERATOR
    )
    assert not future.lines and future.stakes.amount_minor == 0
