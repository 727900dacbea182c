"""Placing bets through gRPC: prices from the event stream, limits, ANJ rules, idempotency.

Every RejectionReason of the contract has a test here or in test_bets_live.py (live-only
reasons); test_every_rejection_reason_is_covered keeps that true.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.common.v1 import market_pb2, money_pb2

from tests.integration.test_bets_harness import (
    ANONYMOUS,
    OPERATOR,
    Mesh,
    as_player,
    eur,
    football,
    place_request,
    quote_set,
    running,
    uid,
)
from tests.support.grpc_helpers import rpc_error

REJECTED = pb.BET_STATUS_REJECTED
ACCEPTED = pb.BET_STATUS_ACCEPTED


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url) as m:
        yield m


def home(fixture_id: str, odds: int = 20_000) -> tuple[str, str, str, int]:
    return (fixture_id, f"{fixture_id}/MATCH_RESULT", "home", odds)


async def test_a_single_is_accepted_and_its_stake_held(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], stake=2_500)
    assert bet.status == ACCEPTED, bet.rejection_message
    assert bet.bet_id and bet.player_id == p
    assert bet.odds_e4 == 20_000
    assert bet.potential_payout == eur(5_000)
    assert bet.legs[0].accepted_odds_e4 == 20_000
    assert bet.legs[0].quote_set_digest.startswith("sha256:")
    assert await mesh.wallet(p) == (7_500, 2_500)
    entries = (await mesh.stub.ListLedgerEntries(pb.ListLedgerEntriesRequest(player_id=p))).entries
    stake = [e for e in entries if e.kind == pb.TRANSACTION_KIND_STAKE]
    assert {e.account for e in stake} == {f"player:{p}:wallet", f"player:{p}:held"}
    assert {e.bet_id for e in stake} == {bet.bet_id}
    assert (await mesh.bet(bet.bet_id)) == bet


async def test_an_accumulator_multiplies_its_legs(mesh: Mesh) -> None:
    p = await mesh.player()
    f1, f2 = await mesh.fixture(), await mesh.fixture()
    over = (f2, f"{f2}/TOTAL_GOALS/225", "over", 19_000)
    bet = await mesh.place(p, [home(f1), over], stake=1_000)
    assert bet.status == ACCEPTED, bet.rejection_message
    assert bet.odds_e4 == 38_000
    assert bet.potential_payout == eur(3_800)


async def test_legs_on_one_fixture_are_refused(mesh: Mesh) -> None:
    p, f = await mesh.player(), await mesh.fixture()
    over = (f, f"{f}/TOTAL_GOALS/225", "over", 19_000)
    bet = await mesh.place(p, [home(f), over])
    assert (bet.status, bet.rejection_reason) == (REJECTED, pb.REJECTION_REASON_SAME_FIXTURE_LEGS)
    assert await mesh.wallet(p) == (100_000, 0)


async def test_a_retry_returns_the_first_answer_and_holds_once(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await mesh.fixture()
    request = place_request(p, [home(f)], 1_000)
    answers = await asyncio.gather(*(mesh.stub.PlaceBet(request) for _ in range(16)))
    assert len({a.bet.bet_id for a in answers}) == 1
    assert await mesh.wallet(p) == (4_000, 1_000)
    listed = (await mesh.stub.ListBets(pb.ListBetsRequest(player_id=p))).bets
    assert [b.bet_id for b in listed] == [answers[0].bet.bet_id]


async def test_a_rejection_is_also_replayed(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=500), await mesh.fixture()
    request = place_request(p, [home(f)], 1_000)
    first = (await mesh.stub.PlaceBet(request)).bet
    assert first.rejection_reason == pb.REJECTION_REASON_INSUFFICIENT_FUNDS
    await mesh.stub.Deposit(
        pb.DepositRequest(idempotency_key=uid("d"), player_id=p, amount=eur(5_000))
    )
    again = (await mesh.stub.PlaceBet(request)).bet
    assert again == first


async def test_a_key_reused_for_another_bet_is_a_duplicated_request(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=5_000), await mesh.fixture()
    key = uid("k")
    first = await mesh.place(p, [home(f)], 1_000, key=key)
    other = await mesh.place(p, [home(f)], 2_000, key=key)
    assert (other.status, other.rejection_reason) == (
        REJECTED,
        pb.REJECTION_REASON_DUPLICATED_REQUEST,
    )
    assert other.bet_id == ""
    assert first.bet_id in other.rejection_message
    assert await mesh.wallet(p) == (4_000, 1_000)


@pytest.mark.parametrize(
    ("acceptance", "seen", "accepted"),
    [
        (pb.ODDS_ACCEPTANCE_NONE, 20_000, 20_000),
        (pb.ODDS_ACCEPTANCE_UNSPECIFIED, 20_000, 20_000),
        (pb.ODDS_ACCEPTANCE_NONE, 21_000, None),
        (pb.ODDS_ACCEPTANCE_NONE, 19_000, None),
        (pb.ODDS_ACCEPTANCE_ANY, 25_000, 20_000),
        (pb.ODDS_ACCEPTANCE_ANY, 15_000, 20_000),
        (pb.ODDS_ACCEPTANCE_HIGHER, 19_000, 20_000),
        (pb.ODDS_ACCEPTANCE_HIGHER, 21_000, None),
    ],
)
async def test_odds_acceptance(
    mesh: Mesh, acceptance: int, seen: int, accepted: int | None
) -> None:
    p, f = await mesh.player(), await mesh.fixture()
    bet = await mesh.place(p, [home(f, seen)], acceptance=acceptance)
    if accepted is None:
        assert (bet.status, bet.rejection_reason) == (REJECTED, pb.REJECTION_REASON_LINE_CHANGED)
    else:
        assert bet.status == ACCEPTED, bet.rejection_message
        assert bet.legs[0].accepted_odds_e4 == accepted
        assert bet.legs[0].odds_e4 == seen


async def test_the_newest_price_counts(mesh: Mesh) -> None:
    p, f = await mesh.player(), await mesh.fixture()
    await mesh.bus.prices(quote_set(f, football(f, match={"home": 18_000, "draw": 1, "away": 1})))
    stale = await mesh.place(p, [home(f, 20_000)])
    assert stale.rejection_reason == pb.REJECTION_REASON_LINE_CHANGED
    fresh = await mesh.place(p, [home(f, 18_000)])
    assert fresh.status == ACCEPTED


async def reject(
    mesh: Mesh, player: str, legs: list[tuple[str, str, str, int]], stake: int = 1_000
) -> int:
    bet = await mesh.place(player, legs, stake)
    assert bet.status == REJECTED, "expected a rejection"
    assert bet.rejection_message
    reason: int = bet.rejection_reason
    return reason


async def test_market_and_selection_checks(mesh: Mesh) -> None:
    p, f = await mesh.player(), await mesh.fixture()
    before = await mesh.wallet(p)
    assert await reject(mesh, p, [(f, f"{f}/NOPE", "home", 20_000)]) == (
        pb.REJECTION_REASON_MARKET_NOT_FOUND
    )
    assert await reject(mesh, p, [(f, f"{f}/MATCH_RESULT", "nobody", 20_000)]) == (
        pb.REJECTION_REASON_MARKET_NOT_FOUND
    )
    assert await reject(mesh, p, [(f, f"{f}/CORRECT_SCORE", "2-1", 90_000)]) == (
        pb.REJECTION_REASON_SELECTION_WITHDRAWN
    )
    assert await reject(mesh, p, [home(uid("unpriced"))]) == (
        pb.REJECTION_REASON_NO_CONSENSUS_PRICE
    )
    assert await mesh.wallet(p) == before


async def test_a_bet_stop_suspends_and_a_reopen_reopens(mesh: Mesh) -> None:
    p, f = await mesh.player(), await mesh.fixture()
    await mesh.bus.market_status(f, [f"{f}/MATCH_RESULT"], market_pb2.MARKET_STATUS_SUSPENDED)
    assert await reject(mesh, p, [home(f)]) == pb.REJECTION_REASON_BETTING_SUSPENDED
    # Another market of the fixture is still open.
    assert (await mesh.place(p, [(f, f"{f}/TOTAL_GOALS/225", "under", 19_000)])).status == ACCEPTED
    await mesh.bus.market_status(f, [f"{f}/MATCH_RESULT"], market_pb2.MARKET_STATUS_ACTIVE)
    assert (await mesh.place(p, [home(f)])).status == ACCEPTED
    # A whole-fixture stop (no market ids) closes every market.
    await mesh.bus.market_status(f, [], market_pb2.MARKET_STATUS_SUSPENDED)
    assert await reject(mesh, p, [(f, f"{f}/TOTAL_GOALS/225", "under", 19_000)]) == (
        pb.REJECTION_REASON_BETTING_SUSPENDED
    )


async def test_pre_match_bets_stop_at_kick_off(mesh: Mesh) -> None:
    p, f = await mesh.player(), await mesh.fixture()
    await mesh.bus.market_status(f, [f"{f}/MATCH_RESULT"], market_pb2.MARKET_STATUS_HANDED_OVER)
    assert await reject(mesh, p, [home(f)]) == pb.REJECTION_REASON_PAST_CUTOFF_TIME
    g = uid("fx")
    await mesh.bus.prices(quote_set(g, football(g), live=True, sequence=3))
    assert await reject(mesh, p, [home(g)]) == pb.REJECTION_REASON_PAST_CUTOFF_TIME


async def test_stake_and_payout_limits(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=400_000), await mesh.fixture()
    assert await reject(mesh, p, [home(f)], stake=9) == pb.REJECTION_REASON_BELOW_MIN_BET_AMOUNT
    assert await reject(mesh, p, [home(f)], stake=100_001) == (
        pb.REJECTION_REASON_ABOVE_MAX_BET_AMOUNT
    )
    long_shot = (f, f"{f}/CORRECT_SCORE", "9-9", 1_000_000)
    assert await reject(mesh, p, [long_shot], stake=10_001) == pb.REJECTION_REASON_ABOVE_MAX_PAYOUT
    assert (await mesh.place(p, [long_shot], stake=10_000)).status == ACCEPTED
    assert await mesh.wallet(p) == (390_000, 10_000)


async def test_house_liability_per_market_and_per_fixture(mesh: Mesh) -> None:
    # 10.0 on away: 100 000 staked risks 900 000; a market takes 2 000 000, a fixture 3 000 000.
    f = await mesh.fixture(match={"home": 12_000, "draw": 50_000, "away": 100_000})
    away = (f, f"{f}/MATCH_RESULT", "away", 100_000)
    long_shot = (f, f"{f}/CORRECT_SCORE", "1-0", 70_000)
    players = [await mesh.player(balance=200_000) for _ in range(5)]
    assert (await mesh.place(players[0], [away], 100_000)).status == ACCEPTED
    assert (await mesh.place(players[1], [away], 100_000)).status == ACCEPTED
    assert await reject(mesh, players[2], [away], 100_000) == pb.REJECTION_REASON_ABOVE_MARKET_MAX
    # Another market: 6.0 risks 600 000 per 100 000; the fixture already carries 1 800 000.
    assert (await mesh.place(players[2], [long_shot], 100_000)).status == ACCEPTED
    assert (await mesh.place(players[3], [long_shot], 100_000)).status == ACCEPTED
    assert await reject(mesh, players[4], [long_shot], 100_000) == (
        pb.REJECTION_REASON_ABOVE_EVENT_MAX
    )
    report = await mesh.stub.GetExposureReport(
        pb.GetExposureReportRequest(fixture_id=f), metadata=OPERATOR
    )
    worst = {m.market_id: m.worst_case_loss.amount_minor for m in report.markets}
    assert worst[f"{f}/MATCH_RESULT"] == 1_800_000
    assert worst[f"{f}/CORRECT_SCORE"] == 1_200_000
    assert report.fixture_worst_case_loss == eur(3_000_000)
    assert await mesh.wallet(players[4]) == (200_000, 0)


async def test_open_stakes_per_player_are_capped(mesh: Mesh) -> None:
    p = await mesh.player(balance=700_000)
    fixtures = [await mesh.fixture() for _ in range(6)]
    for f in fixtures[:5]:
        assert (await mesh.place(p, [home(f)], 100_000)).status == ACCEPTED
    assert await reject(mesh, p, [home(fixtures[5])], 10) == pb.REJECTION_REASON_ABOVE_PLAYER_MAX


async def test_insufficient_funds(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=999), await mesh.fixture()
    assert await reject(mesh, p, [home(f)], 1_000) == pb.REJECTION_REASON_INSUFFICIENT_FUNDS
    assert await mesh.wallet(p) == (999, 0)


async def test_anj_player_rules(mesh: Mesh) -> None:
    f = await mesh.fixture()
    unknown = uid("p")
    assert await reject(mesh, unknown, [home(f)]) == pb.REJECTION_REASON_KYC_REQUIRED
    minor = uid("p")
    await mesh.bus.kyc(minor, of_age=False)
    await mesh.bus.stake_cap(minor, 10_000)
    assert await reject(mesh, minor, [home(f)]) == pb.REJECTION_REASON_KYC_REQUIRED
    excluded = await mesh.player()
    await mesh.bus.kyc(excluded, excluded=True)
    assert await reject(mesh, excluded, [home(f)]) == pb.REJECTION_REASON_SELF_EXCLUDED
    no_cap = uid("p")
    await mesh.bus.kyc(no_cap)
    await mesh.bus.deposit_cap(no_cap, 10_000)
    await mesh.stub.Deposit(
        pb.DepositRequest(idempotency_key=uid("d"), player_id=no_cap, amount=eur(5_000))
    )
    assert await reject(mesh, no_cap, [home(f)]) == pb.REJECTION_REASON_STAKE_CAP_NOT_SET


async def test_provisional_accounts_bet_for_a_month_only(mesh: Mesh) -> None:
    f = await mesh.fixture()
    fresh = await mesh.player()
    await mesh.bus.kyc(fresh, "KYC_STATUS_PROVISIONAL")
    assert (await mesh.place(fresh, [home(f)])).status == ACCEPTED
    old = uid("p")
    await mesh.bus.kyc(old, "KYC_STATUS_PROVISIONAL", when=datetime.now(UTC) - timedelta(days=31))
    await mesh.bus.stake_cap(old, 10_000)
    assert await reject(mesh, old, [home(f)]) == pb.REJECTION_REASON_KYC_REQUIRED
    deactivated = await mesh.player()
    await mesh.bus.kyc(deactivated, "KYC_STATUS_DEACTIVATED")
    assert await reject(mesh, deactivated, [home(f)]) == pb.REJECTION_REASON_KYC_REQUIRED


async def test_seven_day_stake_cap_cuts_at_once_and_raises_after_48_hours(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=50_000, cap=3_000), await mesh.fixture()
    assert (await mesh.place(p, [home(f)], 2_000)).status == ACCEPTED
    loss_limit = pb.REJECTION_REASON_RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED
    assert await reject(mesh, p, [home(f)], 1_001) == loss_limit
    # A raise said now waits 48 h.
    await mesh.bus.stake_cap(p, 10_000)
    assert await reject(mesh, p, [home(f)], 1_001) == loss_limit
    # A cut is immediate.
    await mesh.bus.stake_cap(p, 2_500)
    assert await reject(mesh, p, [home(f)], 501) == loss_limit
    assert (await mesh.place(p, [home(f)], 500)).status == ACCEPTED
    # A raise said more than 48 h ago is in force.
    q = await mesh.player(balance=50_000, cap=0)
    await mesh.bus.stake_cap(q, 1_000, when=datetime.now(UTC) - timedelta(hours=50))
    await mesh.bus.stake_cap(q, 20_000, when=datetime.now(UTC) - timedelta(hours=49))
    assert (await mesh.place(q, [home(f)], 5_000)).status == ACCEPTED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"idempotency_key": ""}, "IDEMPOTENCY_KEY_REQUIRED"),
        ({"player_id": ""}, "PLAYER_ID_REQUIRED"),
        ({"legs": []}, "LEGS_REQUIRED"),
        ({"legs": [pb.BetLeg(fixture_id="f", market_id="m", odds_e4=20_000)]}, "LEG_INCOMPLETE"),
        (
            {"legs": [pb.BetLeg(fixture_id="f", market_id="m", selection_id="s", odds_e4=9_000)]},
            "ODDS_INVALID",
        ),
        (
            {
                "legs": [
                    pb.BetLeg(fixture_id="f", market_id="m", selection_id="a", odds_e4=20_000),
                    pb.BetLeg(fixture_id="f", market_id="m", selection_id="b", odds_e4=20_000),
                ]
            },
            "DUPLICATE_LEG",
        ),
        (
            {
                "legs": [
                    pb.BetLeg(fixture_id=f"f{i}", market_id="m", selection_id="s", odds_e4=20_000)
                    for i in range(13)
                ]
            },
            "TOO_MANY_LEGS",
        ),
        ({"stake": None}, "INVALID_AMOUNT"),
        ({"stake": eur(0)}, "INVALID_AMOUNT"),
        ({"stake": eur(-5)}, "INVALID_AMOUNT"),
        ({"stake": money_pb2.Money(amount_minor=100, currency="USD")}, "CURRENCY_NOT_SUPPORTED"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_malformed_bets_are_invalid_arguments(
    mesh: Mesh, change: dict[str, object], reason: str
) -> None:
    request = place_request("p-valid", [("f", "m", "s", 20_000)])
    for name, value in change.items():
        if value is None:
            request.ClearField(name)  # type: ignore[arg-type]
        elif isinstance(value, list):
            del getattr(request, name)[:]
            getattr(request, name).extend(value)
        elif isinstance(value, str):
            setattr(request, name, value)
        else:
            getattr(request, name).CopyFrom(value)
    code, info, _ = await rpc_error(lambda: mesh.stub.PlaceBet(request))
    assert (code, info and info.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


async def test_players_reach_only_their_own_bets(mesh: Mesh) -> None:
    p, q, f = await mesh.player(), await mesh.player(), await mesh.fixture()
    code, info, _ = await rpc_error(
        lambda: mesh.stub.PlaceBet(place_request(q, [home(f)]), metadata=as_player(p))
    )
    assert (code, info and info.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_YOUR_WALLET")
    bet = (await mesh.stub.PlaceBet(place_request(p, [home(f)]), metadata=as_player(p))).bet
    assert bet.status == ACCEPTED
    mine = await mesh.stub.GetBet(pb.GetBetRequest(bet_id=bet.bet_id), metadata=as_player(p))
    assert mine.bet.bet_id == bet.bet_id
    code, info, _ = await rpc_error(
        lambda: mesh.stub.GetBet(pb.GetBetRequest(bet_id=bet.bet_id), metadata=as_player(q))
    )
    assert (code, info and info.reason) == (grpc.StatusCode.NOT_FOUND, "BET_NOT_FOUND")
    code, info, _ = await rpc_error(
        lambda: mesh.stub.ListBets(pb.ListBetsRequest(player_id=p), metadata=as_player(q))
    )
    assert (code, info and info.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_YOUR_WALLET")


@pytest.mark.parametrize(
    "metadata", [ANONYMOUS, as_player("p-someone")], ids=["anonymous", "player"]
)
async def test_operator_calls_need_an_operator(
    mesh: Mesh, metadata: tuple[tuple[str, str], ...] | None
) -> None:
    calls = [
        lambda: mesh.stub.SettleMarket(
            pb.SettleMarketRequest(idempotency_key="k", fixture_id="f", market_id="m"),
            metadata=metadata,
        ),
        lambda: mesh.stub.VoidBets(
            pb.VoidBetsRequest(idempotency_key="k", fixture_id="f"), metadata=metadata
        ),
        lambda: mesh.stub.RollbackSettlement(
            pb.RollbackSettlementRequest(idempotency_key="k", fixture_id="f"), metadata=metadata
        ),
        lambda: mesh.stub.GetExposureReport(
            pb.GetExposureReportRequest(fixture_id="f"), metadata=metadata
        ),
        lambda: mesh.stub.GetReturnToPlayerReport(
            pb.GetReturnToPlayerReportRequest(), metadata=metadata
        ),
    ]
    for call in calls:
        code, info, _ = await rpc_error(call)
        assert (code, info and info.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "OPERATOR_REQUIRED",
        )


async def test_bets_are_listed_newest_first_and_paged(mesh: Mesh) -> None:
    p, f = await mesh.player(), await mesh.fixture()
    placed = [(await mesh.place(p, [home(f)], 100 + i)).bet_id for i in range(5)]
    seen, token = [], ""
    while True:
        page = await mesh.stub.ListBets(
            pb.ListBetsRequest(player_id=p, page_size=2, page_token=token)
        )
        seen += [b.bet_id for b in page.bets]
        token = page.next_page_token
        if not token:
            break
    assert seen == placed[::-1]
    rejected = await mesh.stub.ListBets(
        pb.ListBetsRequest(player_id=p, statuses=[pb.BET_STATUS_REJECTED])
    )
    assert list(rejected.bets) == []


async def test_withdrawals_only_for_verified_players(mesh: Mesh) -> None:
    p = await mesh.player(balance=5_000)
    await mesh.bus.kyc(p, "KYC_STATUS_PROVISIONAL")
    request = pb.WithdrawRequest(
        idempotency_key=uid("w"), player_id=p, amount=eur(1_000), payment_method_id="pm_x"
    )
    code, info, _ = await rpc_error(lambda: mesh.stub.Withdraw(request))
    assert (code, info and info.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "KYC_REQUIRED")
    await mesh.bus.kyc(p, "KYC_STATUS_VERIFIED")
    done = await mesh.stub.Withdraw(request)
    again = await mesh.stub.Withdraw(request)
    assert again.transaction_id == done.transaction_id
    assert await mesh.wallet(p) == (4_000, 0)
    too_much = pb.WithdrawRequest(idempotency_key=uid("w"), player_id=p, amount=eur(4_001))
    code, info, _ = await rpc_error(lambda: mesh.stub.Withdraw(too_much))
    assert (code, info and info.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INSUFFICIENT_FUNDS",
    )


def test_every_rejection_reason_is_covered() -> None:
    here = Path(__file__).parent
    text = "".join(
        (here / name).read_text() for name in ("test_bets_placing.py", "test_bets_live.py")
    )
    missing = [
        name
        for name in pb.RejectionReason.DESCRIPTOR.values_by_name
        if name != "REJECTION_REASON_UNSPECIFIED" and f"pb.{name}" not in text
    ]
    assert missing == []


async def test_an_unknown_caller_reaches_no_wallet_and_no_bet(mesh: Mesh) -> None:
    """Fail closed: a caller nobody authenticated (what BETMESH_AUTH_MODE=anonymous admits) is
    refused by the wallet and bets themselves, not treated as privileged."""
    p, f = await mesh.player(), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 100)
    calls = [
        lambda: mesh.stub.GetWallet(pb.GetWalletRequest(player_id=p), metadata=ANONYMOUS),
        lambda: mesh.stub.ListBets(pb.ListBetsRequest(player_id=p), metadata=ANONYMOUS),
        lambda: mesh.stub.GetBet(pb.GetBetRequest(bet_id=bet.bet_id), metadata=ANONYMOUS),
        lambda: mesh.stub.ListLedgerEntries(
            pb.ListLedgerEntriesRequest(player_id=p), metadata=ANONYMOUS
        ),
    ]
    for call in calls:
        code, info, _ = await rpc_error(call)
        assert (code, info and info.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CALLER_UNKNOWN")
