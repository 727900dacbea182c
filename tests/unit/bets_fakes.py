"""In-memory stand-ins for the bets ports, for fast tests of the service layer's orchestration
(the live delay, deciding due bets, fetching prices first). They keep bets and postings in dicts
and apply none of the placement rules: those have one home, the place_bet SQL function, and are
tested on PostgreSQL (tests/integration/test_bets_*.py)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from services.bets.domain.chain_results import (
    ClaimedResult,
    Evidence,
    HoldRow,
    OnChain,
    Verdict,
)
from services.bets.domain.exposure import FixtureExposure
from services.bets.domain.ledger import (
    EntryView,
    LedgerTransaction,
    TransactionKind,
    WalletBalance,
)
from services.bets.domain.limits import CapKind, PlacementRules, SevenDayCap
from services.bets.domain.model import (
    Bet,
    BetRejected,
    BetStatus,
    CashOutOffer,
    FixtureQuotes,
    GameSnapshot,
    Leg,
)
from services.bets.domain.placing import Placed
from services.bets.domain.ports import Charge, IdempotencyRecord
from services.bets.domain.prices import PriceBook
from services.bets.domain.settling import SettledNotice
from services.bets.domain.statement import ReturnToPlayer, StatementRow
from services.bets.domain.voiding import VoidedNotice


@dataclass
class FakeBetSession:
    """Writes go to the store only when the session commits (the unit of work's promise)."""

    store: FakeBetStore
    bets: dict[str, Bet] = field(default_factory=dict)
    posted: list[LedgerTransaction] = field(default_factory=list)
    settled: list[SettledNotice] = field(default_factory=list)
    voided: list[VoidedNotice] = field(default_factory=list)
    offers: dict[str, CashOutOffer] = field(default_factory=dict)

    def update_bet(self, bet: Bet) -> None:
        self.bets[bet.bet_id] = copy.deepcopy(bet)

    def lock_bet(self, bet_id: str) -> Bet | None:
        found = self.store.bets.get(bet_id)
        return copy.deepcopy(found)

    def add_exposure(self, legs: list[Leg], liability_minor: int, stake_minor: int) -> None:
        return None

    def game(self, fixture_id: str) -> GameSnapshot | None:
        return self.store.game_states.get(fixture_id)

    def post(self, transaction: LedgerTransaction) -> None:
        self.posted.append(transaction)

    def wallet(self, player_id: str, currency: str) -> WalletBalance:
        return WalletBalance(player_id, currency, 0, 0)

    def bet_ids_on(
        self,
        fixture_id: str,
        market_ids: list[str],
        placed_after: datetime | None,
        placed_before: datetime | None,
    ) -> list[str]:
        return sorted(
            b.bet_id
            for b in self.store.bets.values()
            if any(
                leg.fixture_id == fixture_id and (not market_ids or leg.market_id in market_ids)
                for leg in b.legs
            )
        )

    def notify_settled(self, notice: SettledNotice) -> None:
        self.settled.append(notice)

    def notify_voided(self, notice: VoidedNotice) -> None:
        self.voided.append(notice)

    def claim_operation(self, key: str, fingerprint: str) -> tuple[str, int] | None:
        # As bets.operations: a key claimed by an unfinished request of the same body is
        # claimed again (its retry runs it on).
        earlier = self.store.operations.setdefault(key, (fingerprint, None))
        if earlier == (fingerprint, None):
            return None
        return earlier[0], earlier[1] or 0

    def finish_operation(self, key: str, result: int) -> None:
        self.store.operations[key] = (self.store.operations[key][0], result)

    def save_offer(self, offer: CashOutOffer) -> None:
        self.offers[offer.offer_id] = offer

    def offer(self, offer_id: str) -> CashOutOffer | None:
        return self.store.offers.get(offer_id)

    def forget_offers(self, bet_id: str) -> None:
        for offer_id in [k for k, v in self.store.offers.items() if v.bet_id == bet_id]:
            del self.store.offers[offer_id]


@dataclass
class FakeBetStore:
    bets: dict[str, Bet] = field(default_factory=dict)
    game_states: dict[str, GameSnapshot] = field(default_factory=dict)
    posted: list[LedgerTransaction] = field(default_factory=list)
    settled: list[SettledNotice] = field(default_factory=list)
    voided: list[VoidedNotice] = field(default_factory=list)
    offers: dict[str, CashOutOffer] = field(default_factory=dict)
    operations: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    # What the reports' views hold, by fixture (the measure is SQL's: worst_case.sql).
    exposures: dict[str, FixtureExposure] = field(default_factory=dict)
    # Fails the next reads of due bets this many times (a database that is away).
    due_failures: int = 0

    @contextmanager
    def session(self) -> Iterator[FakeBetSession]:
        session = FakeBetSession(self)
        yield session
        # Reached only without an exception: commit.
        self.bets.update(session.bets)
        self.posted.extend(session.posted)
        self.settled.extend(session.settled)
        self.voided.extend(session.voided)
        self.offers.update(session.offers)

    def place(self, bet: Bet, offer: BetRejected | None, rules: PlacementRules) -> Placed:
        if any(
            b.player_id == bet.player_id and b.idempotency_key == bet.idempotency_key
            for b in self.bets.values()
        ):
            return Placed(claimed=False)
        if offer is not None:
            status = BetStatus.REJECTED
        else:
            status = BetStatus.PENDING if bet.live else BetStatus.ACCEPTED
        self.bets[bet.bet_id] = replace(copy.deepcopy(bet), status=status)
        if offer is not None:
            return Placed(True, status, offer.reason, offer.message)
        return Placed(True, status)

    async def place_async(
        self, bet: Bet, offer: BetRejected | None, rules: PlacementRules
    ) -> Placed:
        return self.place(bet, offer, rules)

    def bet_by_key(self, player_id: str, idempotency_key: str) -> Bet | None:
        for b in self.bets.values():
            if b.player_id == player_id and b.idempotency_key == idempotency_key:
                return copy.deepcopy(b)
        return None

    def games(self, fixture_ids: list[str]) -> dict[str, GameSnapshot]:
        return {f: g for f, g in self.game_states.items() if f in fixture_ids}

    def get_bet(self, bet_id: str) -> Bet | None:
        return copy.deepcopy(self.bets.get(bet_id))

    def list_bets(
        self, player_id: str, statuses: list[BetStatus], before: str | None, limit: int
    ) -> list[Bet]:
        found = [
            b
            for b in self.bets.values()
            if b.player_id == player_id and (not statuses or b.status in statuses)
        ]
        return sorted(found, key=lambda b: (b.placed_at, b.bet_id), reverse=True)[:limit]

    def due_pending(self, now: datetime, limit: int) -> list[str]:
        if self.due_failures:
            self.due_failures -= 1
            raise ConnectionError("the database is away")
        due = [
            b
            for b in self.bets.values()
            if b.status is BetStatus.PENDING
            and b.decide_after is not None
            and b.decide_after <= now
        ]
        return [b.bet_id for b in sorted(due, key=lambda b: b.decide_after or now)][:limit]

    def return_to_player(self, start: datetime, end: datetime) -> ReturnToPlayer:
        return ReturnToPlayer(0, 0, 0)

    def statement_rows(self, start: datetime, end: datetime) -> list[StatementRow]:
        return []

    def exposure(self, fixture_id: str) -> FixtureExposure:
        return self.exposures.get(fixture_id, FixtureExposure(fixture_id, (), 0))

    def purge_offers(self, expired_before: datetime) -> int:
        gone = [k for k, v in self.offers.items() if v.expires_at < expired_before]
        for k in gone:
            del self.offers[k]
        return len(gone)


@dataclass
class FakeLedger:
    """The ledger port in memory: idempotency keys, postings and deposit caps, committed when a
    session ends without an exception."""

    posted: list[LedgerTransaction] = field(default_factory=list)
    keys: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    caps: dict[str, SevenDayCap] = field(default_factory=dict)

    @contextmanager
    def session(self) -> Iterator[FakeLedgerSession]:
        session = FakeLedgerSession(self)
        yield session
        self.posted.extend(session.posted)
        self.keys.update(session.keys)

    def wallet(self, player_id: str, currency: str) -> WalletBalance:
        return self._balance(self.posted, player_id, currency)

    def _balance(
        self, posted: list[LedgerTransaction], player_id: str, currency: str
    ) -> WalletBalance:
        # A wallet is credit-normal: a negative posting adds to it.
        code = f"player:{player_id}:wallet"
        balance = -sum(p.amount_minor for t in posted for p in t.postings if p.account.code == code)
        return WalletBalance(player_id, currency, balance, 0)

    def player_entries(
        self, player_id: str, before_entry_id: int | None, limit: int
    ) -> list[EntryView]:
        return []


@dataclass
class FakeLedgerSession:
    ledger: FakeLedger
    posted: list[LedgerTransaction] = field(default_factory=list)
    keys: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)

    def claim_idempotency(
        self, scope: str, key: str, fingerprint: str, transaction_id: str
    ) -> IdempotencyRecord | None:
        earlier = self.ledger.keys.get((scope, key))
        if earlier is None:
            self.keys[(scope, key)] = IdempotencyRecord(fingerprint, transaction_id)
        return earlier

    def post(self, transaction: LedgerTransaction) -> None:
        self.posted.append(transaction)

    def wallet(self, player_id: str, currency: str) -> WalletBalance:
        return self.ledger._balance(self.ledger.posted + self.posted, player_id, currency)

    def deposit_cap(self, player_id: str) -> SevenDayCap:
        return self.ledger.caps.get(player_id, SevenDayCap(None, None, None))

    def deposited_since(self, player_id: str, currency: str, since: datetime) -> int:
        code = f"player:{player_id}:wallet"
        return -sum(
            p.amount_minor
            for t in self.ledger.posted
            if t.kind is TransactionKind.DEPOSIT
            for p in t.postings
            if p.account.code == code
        )


class FakePayments:
    name = "fake"

    def charge(
        self,
        idempotency_key: str,
        player_id: str,
        amount_minor: int,
        currency: str,
        payment_method_id: str,
    ) -> Charge:
        return Charge(f"ch_{idempotency_key}", self.name)

    def payout(
        self,
        idempotency_key: str,
        player_id: str,
        amount_minor: int,
        currency: str,
        payment_method_id: str,
    ) -> Charge:
        return Charge(f"po_{idempotency_key}", self.name)


@dataclass
class FakePrices:
    """The gateway's on-demand reads: records what was asked, and fills the book from `known`
    when asked (a fixture the consumers never heard of)."""

    book: PriceBook
    known: dict[str, FixtureQuotes] = field(default_factory=dict)
    asked: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    async def ensure_prices(self, fixture_ids: list[str]) -> None:
        self.asked.append(("prices", tuple(fixture_ids)))
        for f in fixture_ids:
            quotes = self.known.get(f)
            if quotes is not None:
                self.book.apply_quote_set(quotes)

    async def ensure_fixture_names(self, fixture_ids: list[str]) -> None:
        self.asked.append(("names", tuple(fixture_ids)))

    def knows(self, fixture_ids: list[str]) -> bool:
        # Never: every bet goes through both ensure_* (what the tests record).
        return False


class FakeClock:
    """A clock that moves only when the code under test sleeps (or a test moves it)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


@dataclass
class FakeChainResults:
    """bets.chain_results in memory: each claim's state and reason, and what the chain said."""

    claims: dict[tuple[str, int], tuple[ClaimedResult, datetime]] = field(default_factory=dict)
    states: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    evidence: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)
    now: datetime = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def record(self, claimed: ClaimedResult) -> None:
        key = (claimed.fixture_id, claimed.version)
        if key not in self.claims:
            self.claims[key] = (claimed, self.now)
            self.states[key] = ("WAITING", "")

    def waiting(self, limit: int) -> list[tuple[ClaimedResult, datetime]]:
        return [c for k, c in sorted(self.claims.items()) if self.states[k][0] == "WAITING"][:limit]

    def waiting_one(self, fixture_id: str, version: int) -> tuple[ClaimedResult, datetime] | None:
        key = (fixture_id, version)
        return self.claims[key] if self.states.get(key, ("",))[0] == "WAITING" else None

    def newer_claimed(self, fixture_id: str, version: int) -> bool:
        return any(f == fixture_id and v >= version for f, v in self.claims)

    def resolve(
        self,
        claimed: ClaimedResult,
        verdict: Verdict,
        chain: OnChain | None,
        signers: tuple[str, ...] = (),
        config_version: int | None = None,
    ) -> None:
        key = (claimed.fixture_id, claimed.version)
        if self.states[key][0] == "WAITING":
            self.states[key] = (verdict.state.value, verdict.reason)
            self.evidence[key] = signers

    def touch(self, claimed: ClaimedResult, reason: str) -> None:
        key = (claimed.fixture_id, claimed.version)
        if self.states[key][0] == "WAITING":
            self.states[key] = ("WAITING", reason)

    def holds(self, after: tuple[str, int], limit: int) -> list[HoldRow]:
        return [
            HoldRow(claimed, reason, None, self.evidence.get(key, ()), 1, since)
            for key, (claimed, since) in sorted(self.claims.items())
            if key > after
            for state, reason in [self.states[key]]
            if state == "HELD"
        ][:limit]


@dataclass
class FakeChainReader:
    """The oracle contract: what it stores per fixture (None: nothing yet)."""

    stored: dict[str, OnChain] = field(default_factory=dict)
    signers: tuple[str, ...] = ("0xsigner",)

    def read(self, fixture_id: str, transaction_hash: str) -> OnChain | None:
        return self.stored.get(fixture_id)

    def evidence(self) -> Evidence:
        return Evidence(self.signers, 1)


@dataclass
class FakeOutbox:
    """bets.outbox: queued entries, claimed by one relay at a time."""

    queued: list[object] = field(default_factory=list)
    claimed: bool = False
    # Another process's relay holds the claim.
    held_elsewhere: bool = False

    def claim(self, limit: int) -> FakeClaim | None:
        if self.claimed or self.held_elsewhere:
            return None
        self.claimed = True
        return FakeClaim(self, self.queued[:limit])


@dataclass
class FakeClaim:
    outbox: FakeOutbox
    entries: list[object]
    ended: str = ""

    def done(self) -> None:
        del self.outbox.queued[: len(self.entries)]
        self.outbox.claimed, self.ended = False, "done"

    def abandon(self) -> None:
        self.outbox.claimed, self.ended = False, "abandoned"


@dataclass
class FakeBus:
    published: list[object] = field(default_factory=list)
    # Fails the publication of these entries (Redis away).
    failing: set[object] = field(default_factory=set)

    async def publish(self, entry: object) -> None:
        if entry in self.failing:
            raise ConnectionError("the bus is away")
        self.published.append(entry)


@dataclass
class FakeFeedState:
    """What bets keeps of what it hears, in memory; records each write in order."""

    kept: list[tuple[object, ...]] = field(default_factory=list)
    kept_statuses: list[tuple[str, str, str, int, datetime]] = field(default_factory=list)

    def save_game(self, fixture_id: str, game: GameSnapshot) -> None:
        self.kept.append(("game", fixture_id, game))

    def save_status(
        self, fixture_id: str, market_ids: list[str], status: str, sequence: int, said_at: datetime
    ) -> None:
        self.kept.append(("status", fixture_id, tuple(market_ids), status, sequence))
        for market_id in market_ids or [""]:
            self.kept_statuses.append((fixture_id, market_id, status, sequence, said_at))

    def statuses(self) -> list[tuple[str, str, str, int, datetime]]:
        return list(self.kept_statuses)

    def save_kyc(
        self, player_id: str, status: str, of_age: bool, excluded: bool, said_at: datetime
    ) -> None:
        self.kept.append(("kyc", player_id, status, of_age, excluded))

    def save_cap(
        self,
        kind: CapKind,
        player_id: str,
        cap_minor: int,
        effective_at: datetime,
        said_at: datetime,
        raise_delay_seconds: float,
    ) -> None:
        self.kept.append((f"{kind}_cap", player_id, cap_minor, raise_delay_seconds))
