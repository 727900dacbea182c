"""What the bets core needs from storage; the PostgreSQL adapter implements it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.bets.domain.ledger import LedgerTransaction, WalletBalance
from services.bets.domain.model import (
    Bet,
    BetRejected,
    BetStatus,
    CashOutOffer,
    GameSnapshot,
    Leg,
    Rejection,
)
from services.bets.domain.statement import StatementRow


@dataclass(frozen=True)
class SettledNotice:
    event_id: str
    bet_id: str
    player_id: str
    status: BetStatus
    payout_minor: int
    currency: str


@dataclass(frozen=True)
class VoidedNotice:
    """What an operator's void cancelled, for partners' streams (live's BetCancel)."""

    # Stable for the void (its idempotency key): consumers drop a second delivery by it.
    event_id: str
    fixture_id: str
    market_ids: tuple[str, ...]
    placed_after: datetime | None
    placed_before: datetime | None
    reason: str
    voided_at: datetime


@dataclass(frozen=True)
class MarketExposureRow:
    market_id: str
    worst_case_loss_minor: int
    stakes_minor: int


@dataclass(frozen=True)
class ReturnToPlayer:
    stakes_minor: int
    payouts_minor: int
    settled_bet_count: int


@dataclass(frozen=True)
class PlacementRules:
    """The checks that need the player's lock, with the figures the core chose; the store
    applies them in this order: player (unknown, excluded, KYC state or age, provisional past
    its cut-off, no stake cap), the offer's own verdict, the 7-day stake cap, open stakes,
    liability per market then per fixture, funds."""

    # KYC states that may bet; any but VERIFIED only until the provisional cut-off.
    may_bet: tuple[str, ...]
    # A provisional account opened before this may no longer bet.
    provisional_cutoff: datetime
    # Stakes placed since this count against the 7-day cap.
    window_start: datetime
    max_open_stake_minor: int
    max_market_liability_minor: int
    max_fixture_liability_minor: int
    # Reason (or "KYC_REQUIRED/UNKNOWN", "/STATUS", "/PROVISIONAL_EXPIRED") -> message, with
    # {a} (cap), {b} (already staked), {id} (market or fixture), {status} filled in.
    messages: dict[str, str]


@dataclass(frozen=True)
class Placed:
    """What placing stored: the bet's status and refusal, or that the key was already taken."""

    claimed: bool
    status: BetStatus | None = None
    rejection: Rejection | None = None
    message: str = ""


class BetSession(Protocol):
    """One atomic unit of work."""

    def update_bet(self, bet: Bet) -> None: ...

    def lock_bet(self, bet_id: str) -> Bet | None: ...

    def add_exposure(self, legs: list[Leg], liability_minor: int, stake_minor: int) -> None:
        """Adds (or with a negative amount, removes) a bet's liability on each leg's selection,
        holding the fixtures' rows until commit so concurrent bets see each other. The limits on
        the house's liability are bets.place_bet's rule (services/bets/sql/place_bet.sql): the
        paths here only take exposure off, or put back what a settlement rollback reopens."""
        ...

    def game(self, fixture_id: str) -> GameSnapshot | None: ...

    def post(self, transaction: LedgerTransaction) -> None: ...

    def wallet(self, player_id: str, currency: str) -> WalletBalance: ...

    def bet_ids_on(
        self,
        fixture_id: str,
        market_ids: list[str],
        placed_after: datetime | None,
        placed_before: datetime | None,
    ) -> list[str]: ...

    def notify_settled(self, notice: SettledNotice) -> None:
        """Queues a BetSettled event, committed with the settlement (outbox)."""
        ...

    def notify_voided(self, notice: VoidedNotice) -> None:
        """Queues a BetsVoided event, committed with the void's result (outbox); a notice
        whose event_id is already queued is not queued again."""
        ...

    def claim_operation(self, key: str, fingerprint: str) -> tuple[str, int] | None:
        """Reserves an operator request's idempotency key: None when new, else the first
        request's (fingerprint, result)."""
        ...

    def finish_operation(self, key: str, result: int) -> None: ...

    def save_offer(self, offer: CashOutOffer) -> None: ...

    def offer(self, offer_id: str) -> CashOutOffer | None: ...

    def forget_offers(self, bet_id: str) -> None:
        """Drops every offer of the bet: after a cash-out they price a stake no longer on."""
        ...


class BetStore(Protocol):
    def session(self) -> AbstractContextManager[BetSession]: ...

    def place(self, bet: Bet, offer: BetRejected | None, rules: PlacementRules) -> Placed:
        """Stores a new bet and, unless a rule refuses it, its exposure and stake hold: one
        atomic unit, serialised per player. When (player, idempotency key) is taken, waits for
        its holder and stores nothing (`claimed` False)."""
        ...

    async def place_async(
        self, bet: Bet, offer: BetRejected | None, rules: PlacementRules
    ) -> Placed:
        """`place` without a worker thread, for callers on the event loop."""
        ...

    def bet_by_key(self, player_id: str, idempotency_key: str) -> Bet | None: ...

    def games(self, fixture_ids: list[str]) -> dict[str, GameSnapshot]: ...

    def get_bet(self, bet_id: str) -> Bet | None: ...

    def list_bets(
        self, player_id: str, statuses: list[BetStatus], before: str | None, limit: int
    ) -> list[Bet]: ...

    def due_pending(self, now: datetime, limit: int) -> list[str]: ...

    def purge_offers(self, expired_before: datetime) -> int:
        """Deletes offers that expired before the time given; returns how many."""
        ...


class BetReports(Protocol):
    """The operators' reports, read only."""

    def return_to_player(self, start: datetime, end: datetime) -> ReturnToPlayer:
        """Stakes and payouts of bets settled in [start, end), voids left out."""
        ...

    def statement_rows(self, start: datetime, end: datetime) -> list[StatementRow]:
        """Bets settled in [start, end) by month (UTC) and live or not, voids left out."""
        ...

    def exposure(self, fixture_id: str) -> list[MarketExposureRow]:
        """Each market's worst-case loss and stakes (domain/exposure.py)."""
        ...
