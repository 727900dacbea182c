"""Live bets: the delay, the re-check against game state, bet stops and price, and pending bets
that outlive their process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.common.v1 import market_pb2

from tests.integration.test_bets_harness import (
    Mesh,
    eventually,
    football,
    quote_set,
    running,
    uid,
)


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url) as m:
        yield m


async def live_fixture(mesh: Mesh, goals: tuple[int, int] = (0, 0)) -> str:
    f = uid("live")
    await mesh.bus.game(f, 5, goals)
    await mesh.bus.prices(quote_set(f, football(f), live=True, sequence=5))
    return f


def home(f: str, odds: int = 20_000) -> list[tuple[str, str, str, int]]:
    return [(f, f"{f}/MATCH_RESULT", "home", odds)]


async def test_a_live_bet_waits_out_the_delay_then_is_accepted(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await live_fixture(mesh)
    bet = await mesh.place(p, home(f), 1_000, live=True, wait=True)
    assert bet.status == pb.BET_STATUS_ACCEPTED, bet.rejection_message
    assert bet.live
    assert bet.decided_at.ToDatetime() >= bet.placed_at.ToDatetime()
    assert await mesh.wallet(p) == (4_000, 1_000)


async def test_a_caller_that_does_not_wait_looks_the_bet_up_later(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await live_fixture(mesh)
    bet = await mesh.place(p, home(f), 1_000, live=True, wait=False)
    assert bet.status == pb.BET_STATUS_PENDING
    # The stake is held during the delay.
    assert await mesh.wallet(p) == (4_000, 1_000)

    async def decided() -> bool:
        return (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_ACCEPTED

    await eventually(decided)


async def pending_then(mesh: Mesh, f: str, p: str) -> pb.Bet:
    bet = await mesh.place(p, home(f), 1_000, live=True, wait=False)
    assert bet.status == pb.BET_STATUS_PENDING
    return bet


async def rejected_after(mesh: Mesh, bet: pb.Bet, reason: int, p: str) -> None:
    async def decided() -> bool:
        return (await mesh.bet(bet.bet_id)).status != pb.BET_STATUS_PENDING

    await eventually(decided)
    final = await mesh.bet(bet.bet_id)
    assert (final.status, final.rejection_reason) == (pb.BET_STATUS_REJECTED, reason)
    # The hold is released.
    assert await mesh.wallet(p) == (5_000, 0)


async def test_a_goal_during_the_delay_rejects(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await live_fixture(mesh)
    bet = await pending_then(mesh, f, p)
    await mesh.bus.game(f, 6, (1, 0))
    await rejected_after(mesh, bet, pb.REJECTION_REASON_SCORE_CHANGED, p)


async def test_a_red_card_during_the_delay_rejects(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await live_fixture(mesh)
    bet = await pending_then(mesh, f, p)
    await mesh.bus.game(f, 6, (0, 0), reds=(0, 1))
    await rejected_after(mesh, bet, pb.REJECTION_REASON_RED_CARDS_CHANGED, p)


async def test_a_bet_stop_during_the_delay_rejects(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await live_fixture(mesh)
    bet = await pending_then(mesh, f, p)
    await mesh.bus.market_status(f, [], market_pb2.MARKET_STATUS_SUSPENDED, sequence=6)
    await rejected_after(mesh, bet, pb.REJECTION_REASON_BETTING_SUSPENDED, p)


async def test_a_price_moving_against_the_player_rejects(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await live_fixture(mesh)
    bet = await pending_then(mesh, f, p)
    worse = football(f, match={"home": 18_000, "draw": 34_000, "away": 50_000})
    await mesh.bus.prices(quote_set(f, worse, live=True, sequence=6))
    await rejected_after(mesh, bet, pb.REJECTION_REASON_LINE_CHANGED, p)


async def test_a_price_moving_for_the_player_is_fine_with_higher(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await live_fixture(mesh)
    bet = await mesh.place(
        p, home(f), 1_000, live=True, wait=False, acceptance=pb.ODDS_ACCEPTANCE_HIGHER
    )
    better = football(f, match={"home": 22_000, "draw": 34_000, "away": 30_000})
    await mesh.bus.prices(quote_set(f, better, live=True, sequence=6))

    async def decided() -> bool:
        return (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_ACCEPTED

    await eventually(decided)
