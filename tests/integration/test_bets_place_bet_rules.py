"""Each placement rule's exact edges, once, against its one implementation: bets.place_bet
(services/bets/sql/place_bet.sql) on real PostgreSQL, called as the store calls it with the
domain's own KYC states and messages.

Edges already tested elsewhere are not repeated: the 7-day cap and the open stakes at exactly
the room left and one unit over, after every kind of change of a bet
(test_bets_stake_totals.py); a fixture's liability at exactly its limit and one unit short of
funds through PlaceBet (test_bets_placing.py). Here: self-exclusion's precedence, every KYC state
and the provisional cut-off to the microsecond, a raised cap at its effective time and the
window's first microsecond, market liability at/over its limit and its worst-selection rule, a
fixture one unit over, funds exactly equal, the hold's postings in both account orders, and
that every refusal moves nothing.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from betmesh.identity.v1 import identity_service_pb2 as ipb

from service_runtime.postgres import migrate
from services.bets.adapters.postgres_reports import PostgresReports
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.exposure import FixtureExposure, MarketExposureRow
from services.bets.domain.ledger import AccountKind, player_held, player_wallet
from services.bets.domain.limits import MAY_BET, placement_messages

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "bets" / "migrations"
NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
BIG = 10**12
MESSAGES = json.dumps(placement_messages(BetRules()))
_ids = itertools.count()

_PLACE = sa.text(
    "SELECT o_claimed, o_status, o_reason, o_message FROM bets.place_bet(:bet_id, :player,"
    " :key, 'fp', false, 'NONE', :stake, 'EUR', :odds, :payout, :liability, :now, NULL,"
    " CAST(:legs AS jsonb), :offer_rejection, '', CAST(:messages AS jsonb), :may_bet,"
    " :provisional_cutoff, :window_start, :max_open, :max_market, :max_fixture)"
)


def uid(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


@pytest.fixture(scope="module")
def engine(private_database_url: str) -> Iterator[sa.Engine]:
    url = sa.make_url(private_database_url).set(drivername="postgresql+psycopg2")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS bets CASCADE"))
    migrate(url.render_as_string(hide_password=False), MIGRATIONS, "bets")
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class Outcome:
    claimed: bool
    status: str
    reason: str
    message: str


@dataclass
class Book:
    """Players, accounts and bets straight in the bets schema, as identity's events and the
    wallet would have left them."""

    engine: sa.Engine
    # Set: every statement runs on it (a transaction the caller rolls back).
    connection: sa.Connection | None = None

    def run(self, statement: str, **params: Any) -> Any:
        if self.connection is not None:
            return self.connection.execute(sa.text(statement), params)
        with self.engine.connect() as conn:
            return conn.execute(sa.text(statement), params)

    def player(
        self,
        *,
        kyc: str = "VERIFIED",
        of_age: bool = True,
        excluded: bool = False,
        provisional_since: datetime | None = None,
        cap: int | None = BIG,
        pending_cap: int | None = None,
        pending_at: datetime | None = None,
        wallet: int | None = BIG,
        held_first: bool = False,
    ) -> str:
        player = uid("p")
        self.run(
            "INSERT INTO bets.players (player_id, kyc_status, of_age, excluded, provisional_since,"
            " stake_cap_minor, pending_stake_cap_minor, pending_stake_cap_effective_at)"
            " VALUES (:p, :kyc, :of_age, :excluded, :since, :cap, :pending, :at)",
            p=player,
            kyc=kyc,
            of_age=of_age,
            excluded=excluded,
            since=provisional_since,
            cap=cap,
            pending=pending_cap,
            at=pending_at,
        )
        # The hold touches account rows in id order, whichever came first: a held account
        # older than the wallet takes the other branch of the function.
        # Opened as the Python ledger opens them (the function finds them by these codes).
        accounts = [player_held(player, "EUR"), player_wallet(player, "EUR")]
        for account in accounts[0 if held_first else 1 :] if wallet is not None else []:
            self.run(
                "INSERT INTO bets.accounts (code, currency, kind, player_id, normal_side,"
                " allow_negative, balance_minor) VALUES (:code, :currency, :kind, :p, :side,"
                " :negative, :b)",
                code=account.code,
                currency=account.currency,
                kind=account.kind.value,
                p=player,
                side=account.normal_side,
                negative=account.allow_negative,
                b=wallet if account.kind is AccountKind.PLAYER_WALLET else 0,
            )
        return player

    def place(
        self,
        player: str,
        stake: int = 1_000,
        *,
        liability: int | None = None,
        legs: list[tuple[str, str, str]] | None = None,
        now: datetime = NOW,
        window_start: datetime | None = None,
        max_open: int = BIG,
        max_market: int = BIG,
        max_fixture: int = BIG,
        bet_id: str | None = None,
    ) -> Outcome:
        liability = stake if liability is None else liability
        row = self.run(
            _PLACE.text,
            bet_id=bet_id or uid("bet"),
            player=player,
            key=uid("key"),
            stake=stake,
            odds=20_000,
            payout=stake + liability,
            liability=liability,
            now=now,
            legs=json.dumps(
                [{"f": f, "m": m, "s": s} for f, m, s in (legs or [(uid("fx"), "m", "s")])]
            ),
            offer_rejection="",
            messages=MESSAGES,
            may_bet=list(MAY_BET),
            provisional_cutoff=now - timedelta(days=30),
            window_start=window_start or now - timedelta(days=7),
            max_open=max_open,
            max_market=max_market,
            max_fixture=max_fixture,
        ).one()
        return Outcome(*row)

    def balance(self, player: str, kind: str) -> int | None:
        account = (player_wallet if kind == "wallet" else player_held)(player, "EUR")
        row = self.run(
            "SELECT balance_minor, kind, normal_side, allow_negative, player_id"
            " FROM bets.accounts WHERE code = :c AND currency = :currency",
            c=account.code,
            currency=account.currency,
        ).first()
        if row is None:
            return None
        # One held account whoever opens it: the function opens it as the ledger would.
        assert tuple(row[1:]) == (
            account.kind.value,
            account.normal_side,
            account.allow_negative,
            account.player_id,
        )
        return int(row[0])

    def exposure(self, fixture: str) -> dict[tuple[str, str], tuple[int, int]]:
        rows = self.run(
            "SELECT market_id, selection_id, liability_minor, stakes_minor"
            " FROM bets.selection_exposure WHERE fixture_id = :f",
            f=fixture,
        )
        return {(m, s): (int(li), int(st)) for m, s, li, st in rows}

    def moved(self, player: str) -> int:
        """Ledger entries on the player's accounts."""
        return int(
            self.run(
                "SELECT count(*) FROM bets.entries e JOIN bets.accounts a ON a.id = e.account_id"
                " WHERE a.player_id = :p",
                p=player,
            ).scalar()
        )

    def totals(self, player: str) -> tuple[int, int]:
        """The running totals place_bet keeps: stake in the window's hours, open stake."""
        staked = self.run(
            "SELECT coalesce(sum(staked_minor), 0) FROM bets.player_stake_hours"
            " WHERE player_id = :p",
            p=player,
        ).scalar()
        open_ = self.run(
            "SELECT open_stake_minor FROM bets.players WHERE player_id = :p", p=player
        ).scalar()
        return int(staked), int(open_)


@pytest.fixture()
def book(engine: sa.Engine) -> Book:
    return Book(engine)


def refused(book: Book, player: str, outcome: Outcome, reason: str) -> None:
    """A refusal is stored, names its reason, and moves no money and no running total."""
    assert (outcome.claimed, outcome.status, outcome.reason) == (True, "REJECTED", reason)
    assert outcome.message
    assert book.moved(player) == 0
    if book.run("SELECT 1 FROM bets.players WHERE player_id = :p", p=player).scalar():
        assert book.totals(player) == (0, 0)


def accepted(outcome: Outcome) -> None:
    assert (outcome.claimed, outcome.status, outcome.reason) == (True, "ACCEPTED", "")


# ---- the player -------------------------------------------------------------------------


def test_self_exclusion_comes_before_every_other_player_check(book: Book) -> None:
    # Excluded and, besides, under age, deactivated, provisional too long, without a cap:
    # the player reads that they are excluded, not why else they could not bet.
    p = book.player(
        excluded=True,
        of_age=False,
        kyc="DEACTIVATED",
        provisional_since=NOW - timedelta(days=400),
        cap=None,
        wallet=0,
    )
    outcome = book.place(p)
    refused(book, p, outcome, "SELF_EXCLUDED")
    assert outcome.message == "the player is excluded from betting"
    # The flag alone decides: the same player without it bets.
    q = book.player(excluded=True)
    refused(book, q, book.place(q), "SELF_EXCLUDED")
    book.run("UPDATE bets.players SET excluded = false WHERE player_id = :p", p=q)
    accepted(book.place(q))


def test_an_unknown_player_is_refused_and_stored_without_a_row_to_lock(book: Book) -> None:
    nobody = uid("p")
    outcome = book.place(nobody)
    refused(book, nobody, outcome, "KYC_REQUIRED")
    assert outcome.message == "identity has not opened this account"


# Every state identity's contract has (a protobuf enum wrapper lists its names with keys()).
KYC_STATES = [name.removeprefix("KYC_STATUS_") for name in ipb.KycStatus.keys()]  # noqa: SIM118


@pytest.mark.parametrize("status", KYC_STATES)
def test_only_pending_provisional_and_verified_accounts_bet(book: Book, status: str) -> None:
    p = book.player(kyc=status, provisional_since=NOW - timedelta(days=1))
    outcome = book.place(p)
    if status in ("PENDING", "PROVISIONAL", "VERIFIED"):
        accepted(outcome)
    else:
        refused(book, p, outcome, "KYC_REQUIRED")
        assert outcome.message == f"account status {status.lower()} may not bet"


def test_an_adult_bets_and_a_minor_does_not_whatever_the_state(book: Book) -> None:
    minor = book.player(of_age=False)
    refused(book, minor, book.place(minor), "KYC_REQUIRED")


def test_a_provisional_account_bets_until_its_cutoff_to_the_microsecond(book: Book) -> None:
    cutoff = NOW - timedelta(days=30)
    for status in ("PROVISIONAL", "PENDING"):
        on_time = book.player(kyc=status, provisional_since=cutoff)
        accepted(book.place(on_time))
        late = book.player(kyc=status, provisional_since=cutoff - US)
        outcome = book.place(late)
        refused(book, late, outcome, "KYC_REQUIRED")
        assert outcome.message == "a provisional account must be verified within 30 days"
    # Verified ends the clock: a long-ago provisional start no longer matters.
    verified = book.player(kyc="VERIFIED", provisional_since=cutoff - timedelta(days=300))
    accepted(book.place(verified))


# ---- the 7-day stake cap ----------------------------------------------------------------


def test_a_raised_cap_is_in_force_from_its_effective_time_exactly(book: Book) -> None:
    due = book.player(cap=1_000, pending_cap=5_000, pending_at=NOW)
    accepted(book.place(due, 5_000))
    early = book.player(cap=1_000, pending_cap=5_000, pending_at=NOW + US)
    outcome = book.place(early, 1_001)
    refused(book, early, outcome, "RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED")
    assert outcome.message == (
        "the 7-day stake cap of 1000 minor units would be exceeded (0 already staked)"
    )
    accepted(book.place(early, 1_000))


def test_a_stake_placed_at_the_windows_first_microsecond_counts(book: Book) -> None:
    placed = NOW - timedelta(days=6)
    p = book.player(cap=1_500)
    accepted(book.place(p, 1_000, now=placed))
    # The window starting at that very instant holds it: 500 left.
    outcome = book.place(p, 501, window_start=placed)
    assert (outcome.status, outcome.reason) == (
        "REJECTED",
        "RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED",
    )
    assert outcome.message.endswith("(1000 already staked)")
    # One microsecond later it has left the window: the whole cap again.
    accepted(book.place(p, 1_500, window_start=placed + US))


def test_no_cap_no_bet(book: Book) -> None:
    p = book.player(cap=None)
    refused(book, p, book.place(p), "STAKE_CAP_NOT_SET")


# ---- the house's liability --------------------------------------------------------------


def test_a_markets_liability_at_its_limit_is_taken_one_unit_over_refused(book: Book) -> None:
    f = uid("fx")
    home, away = (f, "m1", "home"), (f, "m1", "away")
    p = book.player()
    accepted(book.place(p, 1_000, liability=10_000, legs=[home], max_market=10_000))
    # The worst selection counts, not the sum: the other side of the market fits again.
    accepted(book.place(p, 1_000, liability=10_000, legs=[away], max_market=10_000))
    before = book.exposure(f)
    q = book.player()
    outcome = book.place(q, 10, liability=1, legs=[home], max_market=10_000)
    refused(book, q, outcome, "ABOVE_MARKET_MAX")
    assert outcome.message == "the house's liability on m1 is full"
    assert (
        book.exposure(f)
        == before
        == {("m1", "home"): (10_000, 1_000), ("m1", "away"): (10_000, 1_000)}
    )
    # A bet that risks nothing is not held back by a full market.
    accepted(book.place(q, 10, liability=0, legs=[home], max_market=10_000))


def test_a_fixtures_liability_one_unit_over_its_limit_is_refused(book: Book) -> None:
    f = uid("fx")
    p = book.player()
    accepted(book.place(p, 100, liability=10_000, legs=[(f, "m1", "home")], max_fixture=15_000))
    # Each market adds its worst selection: 10 000 + 5 000 is the limit exactly.
    accepted(book.place(p, 100, liability=5_000, legs=[(f, "m2", "over")], max_fixture=15_000))
    before = book.exposure(f)
    q = book.player()
    outcome = book.place(q, 100, liability=1, legs=[(f, "m3", "yes")], max_fixture=15_000)
    refused(book, q, outcome, "ABOVE_EVENT_MAX")
    assert outcome.message == f"the house's liability on {f} is full"
    # Refused after its exposure was added: taken off again (a zero row may stay).
    after = {k: v for k, v in book.exposure(f).items() if v != (0, 0)}
    assert after == before


def test_the_exposure_report_is_the_room_place_bet_leaves(book: Book) -> None:
    """GetExposureReport's figures (PostgresReports.exposure) and place_bet's limits are one
    measure (services/bets/sql/worst_case.sql): from the report alone follows the largest
    liability a bet may add on each market, and place_bet takes exactly that and refuses one
    unit more, for the market's worst selection and a new one, in a market the house wins
    whatever happens too."""
    f = uid("fx")
    market_max, fixture_max = 10_000, 17_000

    def bet(on: Book, player: str, liability: int, market: str, selection: str) -> Outcome:
        legs = [(f, market, selection)]
        return on.place(
            player,
            100,
            liability=liability,
            legs=legs,
            max_market=market_max,
            max_fixture=fixture_max,
        )

    # A market the house wins whatever happens, as cash-outs and settlements can leave one
    # (add_exposure): its worst case is -2 000, and it offsets nothing elsewhere.
    book.run(
        "INSERT INTO bets.selection_exposure"
        " (fixture_id, market_id, selection_id, liability_minor, stakes_minor)"
        " VALUES (:f, 'won', 'a', -3000, 500), (:f, 'won', 'b', -2000, 400)",
        f=f,
    )
    p = book.player()
    accepted(bet(book, p, market_max, "m1", "home"))  # the market's limit exactly
    accepted(bet(book, p, 4_000, "m1", "away"))
    accepted(bet(book, p, 5_000, "m2", "over"))
    report = PostgresReports(book.engine).exposure(f)
    assert report == FixtureExposure(
        f,
        (
            MarketExposureRow("m1", 10_000, 200),
            MarketExposureRow("m2", 5_000, 100),
            MarketExposureRow("won", -2_000, 900),
        ),
        15_000,
    )

    # A bet of L on a selection holding b (the market's worst, w, or a new one, 0) makes the
    # market's worst case max(w, b + L), so the most it may add is what keeps b + L within the
    # market's limit and within the fixture's room above what the market counts already.
    room = fixture_max - report.worst_case_loss_minor
    worst = {"m1": "home", "m2": "over", "won": "b"}
    q = book.player()
    tried = []
    for market in (*report.markets, MarketExposureRow("m3", 0, 0)):
        w = market.worst_case_loss_minor
        for selection, b in ((worst.get(market.market_id), w), ("new", 0)):
            if selection is None:
                continue
            most = min(market_max, room + max(w, 0)) - b
            over = "ABOVE_MARKET_MAX" if b + most + 1 > market_max else "ABOVE_EVENT_MAX"
            # Both tries on one connection, rolled back: the next starts from the report.
            connection = book.engine.connect().execution_options(isolation_level="READ COMMITTED")
            with connection as conn, conn.begin() as transaction:
                probe = Book(book.engine, conn)
                refused(probe, q, bet(probe, q, most + 1, market.market_id, selection), over)
                accepted(bet(probe, q, most, market.market_id, selection))
                transaction.rollback()
            tried.append((market.market_id, selection, most, over))
    # The edges met: a full market, a fixture's room, and the room a negative market leaves.
    assert tried == [
        ("m1", "home", 0, "ABOVE_MARKET_MAX"),
        ("m1", "new", 10_000, "ABOVE_MARKET_MAX"),
        ("m2", "over", 2_000, "ABOVE_EVENT_MAX"),
        ("m2", "new", 7_000, "ABOVE_EVENT_MAX"),
        ("won", "b", 4_000, "ABOVE_EVENT_MAX"),
        ("won", "new", 2_000, "ABOVE_EVENT_MAX"),
        ("m3", "new", 2_000, "ABOVE_EVENT_MAX"),
    ]
    assert PostgresReports(book.engine).exposure(f) == report


def test_the_liability_check_reads_its_fixtures_rows_by_the_primary_key(
    book: Book, caplog: pytest.LogCaptureFixture
) -> None:
    """The legs' fixtures reach bets.market_worst_case below its grouping (worst_case.sql says
    how): with sequential scans disfavoured, place_bet's liability query finds its rows through
    the index. Were the filter applied after the grouping (an IN (SELECT ...) does that), no
    index could serve it and every bet would read every fixture's rows."""
    f, other = uid("fx"), uid("fx")
    p = book.player()
    accepted(book.place(p, 100, liability=1_000, legs=[(other, "m", "s")]))
    with book.engine.connect() as conn:
        try:
            conn.exec_driver_sql("LOAD 'auto_explain'")
        except sa.exc.DBAPIError:
            pytest.skip("auto_explain is not installed")
        for setting in (
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_nested_statements = on",
            "auto_explain.log_level = notice",
            "client_min_messages = notice",
            "enable_seqscan = off",
        ):
            conn.exec_driver_sql(f"SET {setting}")
        # SQLAlchemy's psycopg2 dialect hands the server's notices to this logger.
        caplog.set_level(logging.INFO, logger="sqlalchemy.dialects.postgresql")
        caplog.clear()
        accepted(Book(book.engine, conn).place(p, 100, liability=1_000, legs=[(f, "m", "s")]))
        plans = [m for m in caplog.messages if "bets.market_worst_case" in m]
    assert len(plans) == 1, caplog.messages
    assert "Index Cond: (fixture_id = ANY" in plans[0]
    assert "Seq Scan on selection_exposure" not in plans[0]


# ---- funds and the stake hold -----------------------------------------------------------


@pytest.mark.parametrize("held_first", [False, True], ids=["wallet-first", "held-first"])
def test_a_wallet_of_exactly_the_stake_pays_it_one_unit_less_does_not(
    book: Book, held_first: bool
) -> None:
    f = uid("fx")
    short = book.player(wallet=999, held_first=held_first)
    outcome = book.place(short, 1_000, legs=[(f, "m", "s")])
    refused(book, short, outcome, "INSUFFICIENT_FUNDS")
    assert outcome.message == "the wallet cannot cover the stake"
    # The held account (opened on the way, or credited first when it is the older row) is
    # left as it was.
    assert (book.balance(short, "wallet"), book.balance(short, "held")) == (999, 0)
    assert {k: v for k, v in book.exposure(f).items() if v != (0, 0)} == {}

    exact = book.player(wallet=1_000, held_first=held_first)
    bet_id = uid("bet")
    accepted(book.place(exact, 1_000, legs=[(f, "m", "s")], bet_id=bet_id))
    assert (book.balance(exact, "wallet"), book.balance(exact, "held")) == (0, 1_000)
    assert book.totals(exact) == (1_000, 1_000)
    # One balanced transaction for the bet: the wallet debited, the held account credited,
    # each account's balance moved by exactly its entry.
    rows = book.run(
        "SELECT t.kind, a.kind, e.amount_minor, e.currency, a.normal_side"
        " FROM bets.transactions t JOIN bets.entries e ON e.transaction_id = t.id"
        " JOIN bets.accounts a ON a.id = e.account_id WHERE t.bet_id = :b ORDER BY a.kind",
        b=bet_id,
    ).all()
    assert [tuple(r[:4]) for r in rows] == [
        ("stake", "player_held", -1_000, "EUR"),
        ("stake", "player_wallet", 1_000, "EUR"),
    ]
    assert sum(r[2] for r in rows) == 0
    assert {r[1]: r[4] * r[2] for r in rows} == {"player_held": 1_000, "player_wallet": -1_000}


def test_a_player_without_a_wallet_has_no_funds(book: Book) -> None:
    p = book.player(wallet=None)
    f = uid("fx")
    refused(book, p, book.place(p, legs=[(f, "m", "s")]), "INSUFFICIENT_FUNDS")
    assert book.balance(p, "held") is None
    assert {k: v for k, v in book.exposure(f).items() if v != (0, 0)} == {}
