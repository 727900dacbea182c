"""Cash-out through gRPC on PostgreSQL and Redis: offers priced from the current accepted odds,
bound to those prices and to a short life, paid once in one balanced ledger movement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.common.v1 import market_pb2, money_pb2

from tests.integration.test_bets_harness import (
    OPERATOR,
    Mesh,
    as_player,
    eventually,
    football,
    quote_set,
    running,
    uid,
)
from tests.support.grpc_helpers import rpc_error


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url, BETMESH_BETS_CASH_OUT_MARGIN_E4="9500") as m:
        yield m


def home(f: str, odds: int = 20_000) -> tuple[str, str, str, int]:
    return (f, f"{f}/MATCH_RESULT", "home", odds)


def over(f: str) -> tuple[str, str, str, int]:
    return (f, f"{f}/TOTAL_GOALS/225", "over", 19_000)


async def reprice(mesh: Mesh, f: str, home_e4: int, over_e4: int = 19_000) -> None:
    markets = football(f, match={"home": home_e4, "draw": 34_000, "away": 40_000})
    markets[1].prices = {"over": over_e4, "under": 19_000}
    await mesh.bus.prices(quote_set(f, markets))


async def offer(
    mesh: Mesh, bet_id: str, player: str | None = None, part: int | None = None
) -> pb.GetCashOutOfferResponse:
    response: Any = await mesh.stub.GetCashOutOffer(
        pb.GetCashOutOfferRequest(
            bet_id=bet_id,
            stake=money_pb2.Money(amount_minor=part, currency="EUR") if part else None,
        ),
        metadata=as_player(player) if player else None,
    )
    result: pb.GetCashOutOfferResponse = response
    return result


async def cash_out(
    mesh: Mesh, bet_id: str, offer_id: str, key: str | None = None, player: str | None = None
) -> pb.Bet:
    response: Any = await mesh.stub.CashOut(
        pb.CashOutRequest(idempotency_key=key or uid("co"), bet_id=bet_id, offer_id=offer_id),
        metadata=as_player(player) if player else None,
    )
    bet: pb.Bet = response.bet
    return bet


async def refused(call: Any) -> tuple[grpc.StatusCode, str]:
    code, info, _ = await rpc_error(call)
    return code, info.reason if info else ""


async def test_an_offer_is_cashed_out_in_one_balanced_movement(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    assert await mesh.wallet(p) == (9_000, 1_000)
    got = await offer(mesh, bet.bet_id, p)
    # Unchanged price: the stake back less the 5 % margin.
    assert (got.bet_id, got.amount.amount_minor, got.amount.currency) == (bet.bet_id, 950, "EUR")
    assert got.offer_id and got.expires_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC)
    done = await cash_out(mesh, bet.bet_id, got.offer_id, player=p)
    assert (done.status, done.payout.amount_minor) == (pb.BET_STATUS_CASHED_OUT, 950)
    assert done.HasField("settled_at")
    assert await mesh.wallet(p) == (9_950, 0)
    entries = (await mesh.stub.ListLedgerEntries(pb.ListLedgerEntriesRequest(player_id=p))).entries
    cash = [e for e in entries if e.kind == pb.TRANSACTION_KIND_CASH_OUT]
    assert len({e.transaction_id for e in cash}) == 1 and cash[0].bet_id == bet.bet_id
    # The result that follows changes nothing: the bet is closed.
    await mesh.bus.result(f, 2, 0)
    assert (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_CASHED_OUT
    assert await mesh.wallet(p) == (9_950, 0)
    assert await refused(lambda: offer(mesh, bet.bet_id, p)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CASH_OUT_UNAVAILABLE",
    )


async def test_the_amount_follows_the_current_combined_odds_rounded_down(mesh: Mesh) -> None:
    p = await mesh.player(balance=10_000)
    f1, f2 = await mesh.fixture(), await mesh.fixture()
    single = await mesh.place(p, [home(f1)], 1_000)
    double = await mesh.place(p, [home(f2), over(f1)], 1_000)
    assert double.status == pb.BET_STATUS_ACCEPTED
    await reprice(mesh, f1, 25_000, over_e4=15_000)
    # 1000 x 0.95 x 2.0 / 2.5 = 760
    assert (await offer(mesh, single.bet_id)).amount.amount_minor == 760
    await reprice(mesh, f2, 16_000)
    # 1000 x 0.95 x (2.0 x 1.9) / (1.6 x 1.5) = 1504.16.. -> 1504
    assert (await offer(mesh, double.bet_id)).amount.amount_minor == 1_504
    await reprice(mesh, f1, 16_000, over_e4=15_000)
    # 1000 x 0.95 x 2.0 / 1.6 = 1187.5 -> 1187 (never rounded up)
    assert (await offer(mesh, single.bet_id)).amount.amount_minor == 1_187


async def test_a_moved_price_makes_the_offer_stale(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    stale = await offer(mesh, bet.bet_id)
    await reprice(mesh, f, 25_000)
    assert await refused(lambda: cash_out(mesh, bet.bet_id, stale.offer_id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PRICE_CHANGED",
    )
    assert (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_ACCEPTED
    assert await mesh.wallet(p) == (9_000, 1_000)
    fresh = await offer(mesh, bet.bet_id)
    assert fresh.amount.amount_minor == 760
    assert (await cash_out(mesh, bet.bet_id, fresh.offer_id)).payout.amount_minor == 760
    assert await mesh.wallet(p) == (9_760, 0)


async def test_an_expired_offer_is_refused(database_url: str, redis_url: str) -> None:
    async with running(
        database_url, redis_url, uid("bets-short"), BETMESH_BETS_CASH_OUT_OFFER_SECONDS="0.2"
    ) as short:
        p, f = await short.player(balance=10_000), await short.fixture()
        bet = await short.place(p, [home(f)], 1_000)
        got = await offer(short, bet.bet_id)
        expires = got.expires_at.ToDatetime(tzinfo=UTC)

        async def expired() -> bool:
            return datetime.now(UTC) > expires

        await eventually(expired)
        assert await refused(lambda: cash_out(short, bet.bet_id, got.offer_id)) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "OFFER_EXPIRED",
        )
        assert await short.wallet(p) == (9_000, 1_000)


async def test_a_suspended_market_has_no_offer(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    taken = await offer(mesh, bet.bet_id)
    await mesh.bus.market_status(f, [f"{f}/MATCH_RESULT"], market_pb2.MARKET_STATUS_SUSPENDED)
    suspended = (grpc.StatusCode.FAILED_PRECONDITION, "MARKET_SUSPENDED")
    assert await refused(lambda: offer(mesh, bet.bet_id)) == suspended
    # An offer made before the stop is not honoured during it.
    assert await refused(lambda: cash_out(mesh, bet.bet_id, taken.offer_id)) == suspended
    assert await mesh.wallet(p) == (9_000, 1_000)


async def test_a_settled_or_rejected_bet_has_no_offer(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    taken = await offer(mesh, bet.bet_id)
    await mesh.bus.result(f, 0, 1)

    async def settled() -> bool:
        return (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_LOST

    await eventually(settled)
    unavailable = (grpc.StatusCode.FAILED_PRECONDITION, "CASH_OUT_UNAVAILABLE")
    assert await refused(lambda: offer(mesh, bet.bet_id)) == unavailable
    assert await refused(lambda: cash_out(mesh, bet.bet_id, taken.offer_id)) == unavailable
    rejected = await mesh.place(p, [home(f, 30_000)], 1_000)
    assert rejected.status == pb.BET_STATUS_REJECTED
    assert await refused(lambda: offer(mesh, rejected.bet_id)) == unavailable
    assert await mesh.wallet(p) == (9_000, 0)


async def test_players_cash_out_only_their_own_bets(mesh: Mesh) -> None:
    p, other, f = await mesh.player(), await mesh.player(), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    taken = await offer(mesh, bet.bet_id, p)
    missing = (grpc.StatusCode.NOT_FOUND, "BET_NOT_FOUND")
    assert await refused(lambda: offer(mesh, bet.bet_id, other)) == missing
    assert await refused(lambda: cash_out(mesh, bet.bet_id, taken.offer_id, player=other)) == (
        missing
    )
    assert (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_ACCEPTED


async def test_malformed_requests_are_the_callers_mistake(mesh: Mesh) -> None:
    p, f = await mesh.player(), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    other = await mesh.place(p, [over(f)], 1_000)
    foreign = await offer(mesh, other.bet_id)
    assert (await refused(lambda: offer(mesh, "")))[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert (await refused(lambda: offer(mesh, "bet_nope")))[0] == grpc.StatusCode.NOT_FOUND
    assert await refused(
        lambda: mesh.stub.CashOut(pb.CashOutRequest(bet_id=bet.bet_id, offer_id="x"))
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REQUIRED")
    assert (await refused(lambda: cash_out(mesh, bet.bet_id, "")))[
        0
    ] == grpc.StatusCode.INVALID_ARGUMENT
    # An offer for another bet does not cash this one out.
    assert await refused(lambda: cash_out(mesh, bet.bet_id, foreign.offer_id)) == (
        grpc.StatusCode.NOT_FOUND,
        "OFFER_NOT_FOUND",
    )


async def test_retried_cash_outs_pay_once(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    got = await offer(mesh, bet.bet_id, p)
    key = uid("co")
    answers = await asyncio.gather(
        *(cash_out(mesh, bet.bet_id, got.offer_id, key, p) for _ in range(6))
    )
    assert {(b.bet_id, b.status, b.payout.amount_minor) for b in answers} == {
        (bet.bet_id, pb.BET_STATUS_CASHED_OUT, 950)
    }
    again = await cash_out(mesh, bet.bet_id, got.offer_id, key, p)
    assert (again.status, again.payout.amount_minor) == (pb.BET_STATUS_CASHED_OUT, 950)
    assert await mesh.wallet(p) == (9_950, 0)
    entries = (await mesh.stub.ListLedgerEntries(pb.ListLedgerEntriesRequest(player_id=p))).entries
    assert len({e.transaction_id for e in entries if e.kind == pb.TRANSACTION_KIND_CASH_OUT}) == 1
    # Another key is another request, refused: the bet is closed.
    assert await refused(lambda: cash_out(mesh, bet.bet_id, got.offer_id, player=p)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CASH_OUT_UNAVAILABLE",
    )
    assert await mesh.wallet(p) == (9_950, 0)


async def test_part_of_a_stake_is_cashed_out_and_the_rest_stays_on(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    await reprice(mesh, f, 16_000)
    got = await offer(mesh, bet.bet_id, p, part=400)
    # 400 x 0.95 x 2.0 / 1.6 = 475
    assert (got.stake.amount_minor, got.amount.amount_minor) == (400, 475)
    done = await cash_out(mesh, bet.bet_id, got.offer_id, player=p)
    assert done.status == pb.BET_STATUS_ACCEPTED
    assert (done.stake.amount_minor, done.potential_payout.amount_minor) == (600, 1_200)
    assert (done.cashed_out_stake.amount_minor, done.cashed_out.amount_minor) == (400, 475)
    assert await mesh.wallet(p) == (9_475, 600)
    exposure = await mesh.stub.GetExposureReport(
        pb.GetExposureReportRequest(fixture_id=f), metadata=OPERATOR
    )
    home_market = next(m for m in exposure.markets if m.market_id == f"{f}/MATCH_RESULT")
    assert (home_market.worst_case_loss.amount_minor, home_market.stakes.amount_minor) == (600, 600)
    # The offer is spent, and so is every other offer priced on the old stake.
    assert await refused(lambda: cash_out(mesh, bet.bet_id, got.offer_id, player=p)) == (
        grpc.StatusCode.NOT_FOUND,
        "OFFER_NOT_FOUND",
    )
    # The rest wins at the accepted price.
    await mesh.bus.result(f, 1, 0)

    async def won() -> bool:
        return (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_WON

    await eventually(won)
    final = await mesh.bet(bet.bet_id)
    assert (final.payout.amount_minor, final.cashed_out.amount_minor) == (1_200, 475)
    assert await mesh.wallet(p) == (10_675, 0)
    report = await mesh.stub.GetReturnToPlayerReport(
        pb.GetReturnToPlayerReportRequest(), metadata=OPERATOR
    )
    assert report.stakes.amount_minor >= 1_000 and report.payouts.amount_minor >= 1_675


async def test_two_partial_cash_outs_then_the_rest(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    first = await offer(mesh, bet.bet_id, p, part=300)
    stale = await offer(mesh, bet.bet_id, p)
    await cash_out(mesh, bet.bet_id, first.offer_id, player=p)
    # The whole-stake offer was made for 1000 on: after the first cash-out it is gone.
    assert await refused(lambda: cash_out(mesh, bet.bet_id, stale.offer_id, player=p)) == (
        grpc.StatusCode.NOT_FOUND,
        "OFFER_NOT_FOUND",
    )
    second = await offer(mesh, bet.bet_id, p, part=300)
    await cash_out(mesh, bet.bet_id, second.offer_id, player=p)
    rest = await offer(mesh, bet.bet_id, p)
    assert rest.stake.amount_minor == 400
    done = await cash_out(mesh, bet.bet_id, rest.offer_id, player=p)
    assert (done.status, done.payout.amount_minor) == (pb.BET_STATUS_CASHED_OUT, 380)
    assert (done.cashed_out_stake.amount_minor, done.cashed_out.amount_minor) == (600, 570)
    assert await mesh.wallet(p) == (9_950, 0)
    entries = (await mesh.stub.ListLedgerEntries(pb.ListLedgerEntriesRequest(player_id=p))).entries
    assert len({e.transaction_id for e in entries if e.kind == pb.TRANSACTION_KIND_CASH_OUT}) == 3


async def test_a_partial_cash_out_must_leave_a_bet_or_close_it(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    bet = await mesh.place(p, [home(f)], 1_000)
    assert await refused(lambda: offer(mesh, bet.bet_id, p, part=1_001)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CASH_OUT_ABOVE_STAKE",
    )
    # The harness's minimum stake is 10: 995 out would leave 5 on.
    assert await refused(lambda: offer(mesh, bet.bet_id, p, part=995)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CASH_OUT_REMAINDER_TOO_SMALL",
    )
    negative = pb.GetCashOutOfferRequest(
        bet_id=bet.bet_id, stake=money_pb2.Money(amount_minor=-5, currency="EUR")
    )
    assert await refused(lambda: mesh.stub.GetCashOutOffer(negative)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_AMOUNT",
    )
    dollars = pb.GetCashOutOfferRequest(
        bet_id=bet.bet_id, stake=money_pb2.Money(amount_minor=100, currency="USD")
    )
    assert await refused(lambda: mesh.stub.GetCashOutOffer(dollars)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "CURRENCY_NOT_SUPPORTED",
    )
    whole = await offer(mesh, bet.bet_id, p, part=1_000)
    assert (await cash_out(mesh, bet.bet_id, whole.offer_id)).status == pb.BET_STATUS_CASHED_OUT


async def test_expired_offers_are_purged(database_url: str, redis_url: str) -> None:
    async with running(
        database_url,
        redis_url,
        uid("bets-purge"),
        BETMESH_BETS_CASH_OUT_OFFER_SECONDS="0.2",
        BETMESH_BETS_CASH_OUT_OFFER_RETENTION_SECONDS="0",
        BETMESH_BETS_CASH_OUT_PURGE_INTERVAL_SECONDS="0.1",
    ) as short:
        p, f = await short.player(balance=10_000), await short.fixture()
        bet = await short.place(p, [home(f)], 1_000)
        got = await offer(short, bet.bet_id)
        engine = sa.create_engine(database_url)

        def stored() -> int:
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        sa.text("SELECT count(*) FROM bets.cash_out_offers WHERE offer_id = :o"),
                        {"o": got.offer_id},
                    ).scalar_one()
                )

        assert stored() == 1

        async def purged() -> bool:
            return stored() == 0

        await eventually(purged)
        engine.dispose()
        assert await refused(lambda: cash_out(short, bet.bet_id, got.offer_id)) == (
            grpc.StatusCode.NOT_FOUND,
            "OFFER_NOT_FOUND",
        )
        assert await short.wallet(p) == (9_000, 1_000)


def test_the_ledger_balances_after_cash_outs(mesh: Mesh, database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT coalesce(sum(amount_minor), 0) FROM bets.entries"))
        assert total.scalar_one() == 0
        drift = conn.execute(
            sa.text(
                "SELECT count(*) FROM bets.accounts a WHERE a.balance_minor <> a.normal_side *"
                " (SELECT coalesce(sum(e.amount_minor), 0) FROM bets.entries e"
                " WHERE e.account_id = a.id)"
            )
        ).scalar_one()
        assert drift == 0
        cashed = conn.execute(
            sa.text("SELECT count(*) FROM bets.bets WHERE status = 'CASHED_OUT'")
        ).scalar_one()
        assert cashed >= 3
    engine.dispose()
