"""Settlement through the oracle's ResultFinalised events and the operators' RPCs: exactly once,
corrections roll back and re-settle, voids in a window, reports, BetSettled events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.common.v1 import market_pb2
from betmesh.events.v1 import events_pb2
from grpc_status import rpc_status

from service_runtime.errors import error_info
from service_runtime.events import Topic, stream_key
from tests.integration.test_bets_harness import (
    OPERATOR,
    Mesh,
    eur,
    eventually,
    running,
    stamp,
    uid,
)


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url) as m:
        yield m


def leg(f: str, market: str, selection: str, odds: int) -> tuple[str, str, str, int]:
    return (f, f"{f}/{market}", selection, odds)


async def settled(mesh: Mesh, bet_id: str) -> pb.Bet:
    async def done() -> bool:
        return (await mesh.bet(bet_id)).status not in (
            pb.BET_STATUS_ACCEPTED,
            pb.BET_STATUS_PENDING,
        )

    await eventually(done)
    return await mesh.bet(bet_id)


async def test_a_result_settles_every_market(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bets = {
        name: await mesh.place(p, [leg(f, market, sel, odds)], 1_000)
        for name, market, sel, odds in [
            ("home", "MATCH_RESULT", "home", 20_000),
            ("draw", "MATCH_RESULT", "draw", 34_000),
            ("over", "TOTAL_GOALS/225", "over", 19_000),
            ("under", "TOTAL_GOALS/225", "under", 19_000),
            ("ah_home", "ASIAN_HANDICAP/-75", "home", 21_000),
            ("cs", "CORRECT_SCORE", "1-0", 70_000),
        ]
    }
    assert all(b.status == pb.BET_STATUS_ACCEPTED for b in bets.values())
    assert await mesh.wallet(p) == (4_000, 6_000)
    # 2-0: home wins; total 2 on a 2.25 line: over loses half, under wins half;
    # home -0.75 wins by 2: full win.
    await mesh.bus.result(f, 2, 0)
    final = {name: await settled(mesh, b.bet_id) for name, b in bets.items()}
    expected = {
        "home": (pb.BET_STATUS_WON, 2_000),
        "draw": (pb.BET_STATUS_LOST, 0),
        "over": (pb.BET_STATUS_HALF_LOST, 500),
        "under": (pb.BET_STATUS_HALF_WON, 500 + 950),
        "ah_home": (pb.BET_STATUS_WON, 2_100),
        "cs": (pb.BET_STATUS_LOST, 0),
    }
    assert {n: (b.status, b.payout.amount_minor) for n, b in final.items()} == expected
    assert await mesh.wallet(p) == (4_000 + sum(v for _, v in expected.values()), 0)
    outcomes = {n: b.legs[0].outcome for n, b in final.items()}
    assert outcomes["over"] == market_pb2.SELECTION_OUTCOME_HALF_LOSE


async def test_a_result_delivered_twice_pays_once(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=1_000), await mesh.fixture()
    bet = await mesh.place(p, [leg(f, "MATCH_RESULT", "home", 20_000)], 1_000)
    # Two deliveries with distinct event ids (a producer re-announcing), one of them twice.
    await asyncio.gather(
        mesh.bus.result(f, 1, 0, event_id=uid("ev")),
        mesh.bus.result(f, 1, 0, event_id=uid("ev")),
    )
    assert (await settled(mesh, bet.bet_id)).payout == eur(2_000)
    await mesh.bus.result(f, 1, 0)
    assert await mesh.wallet(p) == (2_000, 0)
    entries = (await mesh.stub.ListLedgerEntries(pb.ListLedgerEntriesRequest(player_id=p))).entries
    assert len({e.transaction_id for e in entries if e.kind == pb.TRANSACTION_KIND_PAYOUT}) == 1


async def test_a_corrected_result_rolls_back_and_resettles(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=2_000), await mesh.fixture()
    home = await mesh.place(p, [leg(f, "MATCH_RESULT", "home", 20_000)], 1_000)
    away = await mesh.place(p, [leg(f, "MATCH_RESULT", "away", 40_000)], 1_000)
    await mesh.bus.result(f, 2, 1)
    assert (await settled(mesh, home.bet_id)).status == pb.BET_STATUS_WON
    assert await mesh.wallet(p) == (2_000, 0)
    await mesh.bus.result(f, 1, 2, version=2)

    async def corrected() -> bool:
        return (await mesh.bet(away.bet_id)).status == pb.BET_STATUS_WON

    await eventually(corrected)
    assert (await mesh.bet(home.bet_id)).status == pb.BET_STATUS_LOST
    assert await mesh.wallet(p) == (4_000, 0)
    kinds = [
        e.kind
        for e in (
            await mesh.stub.ListLedgerEntries(pb.ListLedgerEntriesRequest(player_id=p))
        ).entries
    ]
    assert pb.TRANSACTION_KIND_SETTLEMENT_ROLLBACK in kinds
    # The old version arriving late changes nothing.
    await mesh.bus.result(f, 2, 1, version=1)
    assert await mesh.wallet(p) == (4_000, 0)


async def test_a_rolled_back_win_already_spent_is_owed(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=1_000), await mesh.fixture()
    bet = await mesh.place(p, [leg(f, "MATCH_RESULT", "home", 20_000)], 1_000)
    await mesh.bus.result(f, 1, 0)
    assert (await settled(mesh, bet.bet_id)).payout == eur(2_000)
    g = await mesh.fixture()
    assert (await mesh.place(p, [leg(g, "MATCH_RESULT", "home", 20_000)], 1_500)).status == (
        pb.BET_STATUS_ACCEPTED
    )
    await mesh.bus.result(f, 0, 1, version=2)

    async def lost() -> bool:
        return (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_LOST

    await eventually(lost)
    # 500 was left in the wallet; the other 1 500 of the payout is owed, never a negative wallet.
    assert await mesh.wallet(p) == (0, 1_500)


async def test_accumulators_wait_for_every_leg_and_void_legs_drop_out(mesh: Mesh) -> None:
    p = await mesh.player(balance=1_000)
    f1, f2, f3 = await mesh.fixture(), await mesh.fixture(), await mesh.fixture()
    acca = await mesh.place(
        p,
        [
            leg(f1, "MATCH_RESULT", "home", 20_000),
            leg(f2, "TOTAL_GOALS/225", "over", 19_000),
            leg(f3, "MATCH_RESULT", "away", 40_000),
        ],
        1_000,
    )
    assert acca.odds_e4 == 152_000
    await mesh.bus.result(f1, 1, 0)
    await mesh.bus.result(f2, 3, 0)
    assert (await mesh.bet(acca.bet_id)).status == pb.BET_STATUS_ACCEPTED
    await mesh.bus.result(f3, 0, 0, status="RESULT_STATUS_ABANDONED")
    final = await settled(mesh, acca.bet_id)
    assert (final.status, final.payout) == (pb.BET_STATUS_WON, eur(3_800))
    assert [leg.outcome for leg in final.legs] == [
        market_pb2.SELECTION_OUTCOME_WIN,
        market_pb2.SELECTION_OUTCOME_WIN,
        market_pb2.SELECTION_OUTCOME_VOID,
    ]


async def test_operators_settle_a_market_once_per_key(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=1_000), await mesh.fixture()
    bet = await mesh.place(p, [leg(f, "MATCH_RESULT", "draw", 34_000)], 1_000)
    request = pb.SettleMarketRequest(
        idempotency_key=uid("s"),
        fixture_id=f,
        market_id=f"{f}/MATCH_RESULT",
        selections=[
            pb.SelectionSettlement(selection_id="home", outcome=market_pb2.SELECTION_OUTCOME_LOSE),
            pb.SelectionSettlement(selection_id="draw", outcome=market_pb2.SELECTION_OUTCOME_WIN),
            pb.SelectionSettlement(selection_id="away", outcome=market_pb2.SELECTION_OUTCOME_LOSE),
        ],
        result_version=1,
    )
    first = await mesh.stub.SettleMarket(request, metadata=OPERATOR)
    again = await mesh.stub.SettleMarket(request, metadata=OPERATOR)
    assert first.settled_bet_count == again.settled_bet_count == 1
    assert (await mesh.bet(bet.bet_id)).payout == eur(3_400)
    assert await mesh.wallet(p) == (3_400, 0)
    # Rolled back: the bet is open again and the money back on hold.
    rolled = await mesh.stub.RollbackSettlement(
        pb.RollbackSettlementRequest(
            idempotency_key=uid("r"), fixture_id=f, market_id=f"{f}/MATCH_RESULT"
        ),
        metadata=OPERATOR,
    )
    assert rolled.rolled_back_bet_count == 1
    assert (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_ACCEPTED
    assert await mesh.wallet(p) == (0, 1_000)


def settle_request(
    f: str, market: str, version: int, **selections: tuple[int, int]
) -> pb.SettleMarketRequest:
    """selections: id -> (outcome, dead-heat factor e4, 0 for none)."""
    return pb.SettleMarketRequest(
        idempotency_key=uid("s"),
        fixture_id=f,
        market_id=f"{f}/{market}",
        selections=[
            pb.SelectionSettlement(
                selection_id=s,
                outcome=outcome,  # type: ignore[arg-type]
                dead_heat_factor_e4=factor,
            )
            for s, (outcome, factor) in selections.items()
        ],
        result_version=version,
    )


WIN, LOSE = market_pb2.SELECTION_OUTCOME_WIN, market_pb2.SELECTION_OUTCOME_LOSE


async def test_a_dead_heat_pays_the_winning_share_of_the_stake(mesh: Mesh) -> None:
    p = await mesh.player(balance=3_000)
    f, g = await mesh.fixture(), await mesh.fixture()
    single = await mesh.place(p, [leg(f, "MATCH_RESULT", "home", 20_000)], 1_000)
    acca = await mesh.place(
        p,
        [leg(f, "MATCH_RESULT", "home", 20_000), leg(g, "MATCH_RESULT", "away", 40_000)],
        1_000,
    )
    # Two selections tied for the win: each pays half its stake at the full price.
    tie = settle_request(f, "MATCH_RESULT", 1, home=(WIN, 5_000), draw=(WIN, 5_000), away=(LOSE, 0))
    assert (await mesh.stub.SettleMarket(tie, metadata=OPERATOR)).settled_bet_count == 1
    won = await mesh.bet(single.bet_id)
    assert (won.status, won.payout) == (pb.BET_STATUS_WON, eur(1_000))
    # The accumulator carries the winning half on to its next leg.
    await mesh.bus.result(g, 0, 2)
    assert (await settled(mesh, acca.bet_id)).payout == eur(4_000)
    assert await mesh.wallet(p) == (6_000, 0)
    # Corrected without the dead heat: rolled back and paid in full.
    plain = settle_request(f, "MATCH_RESULT", 2, home=(WIN, 0), draw=(LOSE, 0), away=(LOSE, 0))
    assert (await mesh.stub.SettleMarket(plain, metadata=OPERATOR)).settled_bet_count == 2
    assert (await mesh.bet(single.bet_id)).payout == eur(2_000)
    assert (await mesh.bet(acca.bet_id)).payout == eur(8_000)
    assert await mesh.wallet(p) == (11_000, 0)


@pytest.mark.parametrize(
    "selection",
    [
        pb.SelectionSettlement(selection_id="home", outcome=LOSE, dead_heat_factor_e4=5_000),
        pb.SelectionSettlement(selection_id="home", outcome=WIN, dead_heat_factor_e4=10_001),
    ],
)
async def test_a_dead_heat_factor_must_be_a_winners_share(
    mesh: Mesh, selection: pb.SelectionSettlement
) -> None:
    f = await mesh.fixture()
    request = pb.SettleMarketRequest(
        idempotency_key=uid("s"),
        fixture_id=f,
        market_id=f"{f}/MATCH_RESULT",
        selections=[selection],
        result_version=1,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await mesh.stub.SettleMarket(request, metadata=OPERATOR)
    info = error_info(rpc_status.from_call(caught.value))  # type: ignore[arg-type]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Above 10000 the contract's rule refuses it before the domain's (a winner's share) does.
    expected = (
        "DEAD_HEAT_INVALID"
        if selection.dead_heat_factor_e4 <= 10_000
        else ("INVALID_REQUEST_FIELDS")
    )
    assert info is not None and info.reason == expected


async def test_operators_void_bets_placed_in_a_window(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=3_000), await mesh.fixture()
    early = await mesh.place(p, [leg(f, "MATCH_RESULT", "home", 20_000)], 1_000)
    window_start = datetime.now(UTC)
    inside = await mesh.place(p, [leg(f, "MATCH_RESULT", "away", 40_000)], 1_000)
    g = await mesh.fixture()
    acca = await mesh.place(
        p, [leg(f, "TOTAL_GOALS/225", "over", 19_000), leg(g, "MATCH_RESULT", "home", 20_000)]
    )
    window_end = datetime.now(UTC) + timedelta(seconds=1)
    key = uid("v")
    voided = await mesh.stub.VoidBets(
        pb.VoidBetsRequest(
            idempotency_key=key,
            fixture_id=f,
            placed_after=stamp(window_start),
            placed_before=stamp(window_end),
            reason="palpable error",
        ),
        metadata=OPERATOR,
    )
    assert voided.voided_bet_count == 2
    # Announced for partners' streams (live turns it into a BetCancel): fixture, window, reason,
    # through the outbox (test_bets_void_outbox.py), so shortly after the answer.
    announcements: list[events_pb2.EventEnvelope] = []

    async def published() -> bool:
        entries: Any = await mesh.bus.client.xrange(stream_key(Topic.BETS_VOIDED))
        announcements[:] = [
            e
            for e in (events_pb2.EventEnvelope.FromString(f[b"envelope"]) for _, f in entries)
            if e.event_id == f"bets:voided:{key}"
        ]
        return bool(announcements)

    await eventually(published)
    (envelope,) = announcements
    announced = envelope.bets_voided
    assert (announced.fixture_id, announced.reason) == (f, "palpable error")
    assert not announced.market_ids
    assert announced.placed_after == stamp(window_start)
    assert announced.placed_before == stamp(window_end)
    assert (await mesh.bet(inside.bet_id)).status == pb.BET_STATUS_VOID
    assert (await mesh.bet(early.bet_id)).status == pb.BET_STATUS_ACCEPTED
    # The accumulator goes on without its void leg.
    assert (await mesh.bet(acca.bet_id)).status == pb.BET_STATUS_ACCEPTED
    assert await mesh.wallet(p) == (1_000, 2_000)
    await mesh.bus.result(g, 1, 0)
    assert (await settled(mesh, acca.bet_id)).payout == eur(2_000)
    # A void rolled back: the bet is open again.
    await mesh.stub.RollbackSettlement(
        pb.RollbackSettlementRequest(
            idempotency_key=uid("r"), fixture_id=f, market_id=f"{f}/MATCH_RESULT"
        ),
        metadata=OPERATOR,
    )
    assert (await mesh.bet(inside.bet_id)).status == pb.BET_STATUS_ACCEPTED


async def test_reports_and_settled_events(mesh: Mesh, database_url: str) -> None:
    start = datetime.now(UTC)
    p, f = await mesh.player(balance=4_000), await mesh.fixture()
    win = await mesh.place(p, [leg(f, "MATCH_RESULT", "home", 20_000)], 1_000)
    await mesh.place(p, [leg(f, "MATCH_RESULT", "away", 40_000)], 3_000)
    exposure = await mesh.stub.GetExposureReport(
        pb.GetExposureReportRequest(fixture_id=f), metadata=OPERATOR
    )
    assert exposure.markets[0].stakes == eur(4_000)
    assert exposure.markets[0].worst_case_loss == eur(9_000)
    await mesh.bus.result(f, 1, 0)
    await settled(mesh, win.bet_id)
    report = await mesh.stub.GetReturnToPlayerReport(
        pb.GetReturnToPlayerReportRequest(
            period_start=stamp(start), period_end=stamp(datetime.now(UTC) + timedelta(seconds=1))
        ),
        metadata=OPERATOR,
    )
    assert report.stakes.amount_minor >= 4_000
    assert report.payouts.amount_minor >= 2_000
    assert report.return_to_player_e4 == report.payouts.amount_minor * 10_000 // (
        report.stakes.amount_minor
    )
    after = await mesh.stub.GetExposureReport(
        pb.GetExposureReportRequest(fixture_id=f), metadata=OPERATOR
    )
    assert after.fixture_worst_case_loss == eur(0)

    async def announced() -> bool:
        entries: Any = await mesh.bus.client.xrange(stream_key(Topic.BET_SETTLED))
        for _, fields in entries:
            envelope = events_pb2.EventEnvelope.FromString(fields[b"envelope"])
            if envelope.bet_settled.bet_id == win.bet_id:
                assert envelope.bet_settled.status == "BET_STATUS_WON"
                assert envelope.bet_settled.payout == eur(2_000)
                return True
        return False

    await eventually(announced)


def test_the_ledger_balances_after_everything(mesh: Mesh, database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT coalesce(sum(amount_minor), 0) FROM bets.entries")
            ).scalar_one()
            == 0
        )
        negative = conn.execute(
            sa.text(
                "SELECT count(*) FROM bets.accounts WHERE kind IN ('player_wallet', 'player_held')"
                " AND balance_minor < 0"
            )
        ).scalar_one()
        assert negative == 0
        drift = conn.execute(
            sa.text(
                "SELECT count(*) FROM bets.accounts a WHERE a.balance_minor <> a.normal_side *"
                " (SELECT coalesce(sum(e.amount_minor), 0) FROM bets.entries e"
                " WHERE e.account_id = a.id)"
            )
        ).scalar_one()
        assert drift == 0
    engine.dispose()
