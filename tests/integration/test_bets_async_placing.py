"""The placing path's prepared statements (services/bets/adapters/async_postgres.py and
PostgresBetStore.place_async): a process's fixed figures (refusal messages, KYC states, limits)
are written into a statement each connection prepares once, so what a refusal says must still be
what the settings make it say, and a connection lost mid-way must not leave the next one without
its statement."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg2
import pytest
from betmesh.bets.v1 import bet_service_pb2 as pb

from services.bets.adapters.async_postgres import AsyncConnections, Prepared
from tests.integration.test_bets_harness import LIMITS, Mesh, running

REJECTED = pb.BET_STATUS_REJECTED
ACCEPTED = pb.BET_STATUS_ACCEPTED


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url) as m:
        yield m


def home(fixture_id: str) -> tuple[str, str, str, int]:
    return (fixture_id, f"{fixture_id}/MATCH_RESULT", "home", 20_000)


async def test_refusals_say_what_the_prepared_figures_say(mesh: Mesh) -> None:
    limit = int(LIMITS["BETMESH_BETS_MAX_PLAYER_OPEN_STAKE_MINOR"])
    stake = int(LIMITS["BETMESH_BETS_MAX_STAKE_MINOR"])
    p, f = await mesh.player(balance=limit + stake), await mesh.fixture()
    for _ in range(limit // stake):
        bet = await mesh.place(p, [home(f)], stake=stake)
        assert bet.status == ACCEPTED, bet.rejection_message
    over = await mesh.place(p, [home(f)], stake=stake)
    assert (over.status, over.rejection_reason) == (REJECTED, pb.REJECTION_REASON_ABOVE_PLAYER_MAX)
    assert over.rejection_message == f"open stakes are capped at {limit} minor units"
    poor = await mesh.player(balance=50)
    short = await mesh.place(poor, [home(f)], stake=100)
    assert (short.status, short.rejection_reason) == (
        REJECTED,
        pb.REJECTION_REASON_INSUFFICIENT_FUNDS,
    )
    assert short.rejection_message == "the wallet cannot cover the stake"


async def test_a_connection_prepares_once_and_a_new_one_again(database_url: str) -> None:
    connections = AsyncConnections(database_url, size=1)
    statement = Prepared(
        name="probe_concat",
        prepare="PREPARE probe_concat AS SELECT %(fixed)s::text || $1::text",
        params={"fixed": "fixed-"},
        execute="EXECUTE probe_concat (%(varying)s)",
    )
    count = "SELECT count(*) FROM pg_prepared_statements WHERE name = 'probe_concat'"
    try:
        for value in ("a", "b"):
            row = await connections.fetchone(statement.execute, {"varying": value}, statement)
            assert row == (f"fixed-{value}",)
        # One connection (size 1): prepared there once, not per call.
        assert await connections.fetchone(count, {}) == (1,)
        # A failed statement costs its connection; the next one prepares the statement anew.
        with pytest.raises(psycopg2.errors.DivisionByZero):
            await connections.fetchone("SELECT 1 / 0", {})
        assert await connections.fetchone(count, {}) == (0,)
        row = await connections.fetchone(statement.execute, {"varying": "c"}, statement)
        assert row == ("fixed-c",)
        assert await connections.fetchone(count, {}) == (1,)
    finally:
        connections.close()


async def test_the_prepared_document_stores_what_was_placed(mesh: Mesh) -> None:
    """The hot path sends a bet's varying arguments as one JSON document: quotes, backslashes
    and braces in a key, the instant to the microsecond and its offset, odds and stake must come
    out of it as they went in (GetBet reads the stored row; PlaceBet answers from the bet it
    built)."""
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    key = "k'\"\\{}$1->>x"
    placed = await mesh.place(p, [home(f)], stake=1_234, key=key)
    assert placed.status == ACCEPTED, placed.rejection_message
    stored = await mesh.bet(placed.bet_id)
    assert stored.idempotency_key == key
    assert stored.placed_at == placed.placed_at
    assert placed.placed_at.nanos % 1000 == 0 and placed.placed_at.seconds > 0
    assert (stored.stake.amount_minor, stored.legs[0].odds_e4) == (1_234, 20_000)
    assert stored.potential_payout.amount_minor == placed.potential_payout.amount_minor
    # The same key again is the same bet, found through the stored key.
    again = await mesh.place(p, [home(f)], stake=1_234, key=key)
    assert again.bet_id == placed.bet_id
