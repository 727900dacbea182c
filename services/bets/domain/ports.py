"""The bets domain's ports: what the rules and use cases go through (bets and their unit of
work, the reports, the ledger, the payment provider). Contracts only; the values they carry are
their rules' own (settling.py's SettledNotice, limits.py's PlacementRules and SevenDayCap, ...).
Adapters implement them; the service layer's own ports: service_layer/ports.py."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from services.bets.domain.ledger import EntryView, LedgerTransaction, WalletBalance
from services.bets.domain.model import (
    Bet,
    BetRejected,
    BetStatus,
    CashOutOffer,
    GameSnapshot,
    Leg,
)

if TYPE_CHECKING:
    # The values the ports carry live with their rules, which import these ports.
    from services.bets.domain.exposure import FixtureExposure
    from services.bets.domain.limits import CapKind, PlacementRules, SevenDayCap
    from services.bets.domain.placing import Placed
    from services.bets.domain.settling import SettledNotice
    from services.bets.domain.statement import ReturnToPlayer, StatementRow
    from services.bets.domain.voiding import VoidedNotice


@dataclass(frozen=True)
class Charge:
    charge_id: str
    provider: str


class PaymentProvider(Protocol):
    """Takes money from a player's payment method.

    `charge` must be idempotent on `idempotency_key` (a repeat returns the first charge and
    moves no money): the ledger posts after the charge, so a crash between the two is healed by
    the client's retry, which charges again with the same key. A refusal raises a DomainError
    (FailedPrecondition PAYMENT_DECLINED).
    """

    @property
    def name(self) -> str: ...

    def charge(
        self,
        idempotency_key: str,
        player_id: str,
        amount_minor: int,
        currency: str,
        payment_method_id: str,
    ) -> Charge: ...

    def payout(
        self,
        idempotency_key: str,
        player_id: str,
        amount_minor: int,
        currency: str,
        payment_method_id: str,
    ) -> Charge:
        """Sends money to the player's payment method; idempotent on the key like charge."""
        ...


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    transaction_id: str


class LedgerSession(Protocol):
    """One atomic unit of work: everything done through it commits together or not at all."""

    def claim_idempotency(
        self, scope: str, key: str, fingerprint: str, transaction_id: str
    ) -> IdempotencyRecord | None:
        """Reserves `key` for `transaction_id`: None when this session now owns the key.

        When another session holds the key and has not finished, waits for its outcome: its
        committed record is returned, or, if it rolled back, the key is claimed here.
        """
        ...

    def post(self, transaction: LedgerTransaction) -> None:
        """Appends a balanced transaction; raises InsufficientFunds if an account would
        go below zero where that is not allowed."""
        ...

    def wallet(self, player_id: str, currency: str) -> WalletBalance: ...

    def deposit_cap(self, player_id: str) -> SevenDayCap:
        """The player's deposit cap, their row locked until the session ends: two deposits
        of one player cannot both fit under it."""
        ...

    def deposited_since(self, player_id: str, currency: str, since: datetime) -> int:
        """Deposits into the player's wallet posted at or after `since`."""
        ...


class Ledger(Protocol):
    def session(self) -> AbstractContextManager[LedgerSession]: ...

    def wallet(self, player_id: str, currency: str) -> WalletBalance: ...

    def player_entries(
        self, player_id: str, before_entry_id: int | None, limit: int
    ) -> list[EntryView]:
        """Entries on the player's accounts, newest first, older than `before_entry_id`."""
        ...


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

    def exposure(self, fixture_id: str) -> FixtureExposure:
        """The fixture's worst-case loss, per market and in all, as bets.place_bet limits it
        (domain/exposure.py says where the measure lives)."""
        ...


class FeedState(Protocol):
    """What bets keeps of what it hears; each write keeps the newest (by event sequence, or by
    when identity said it), so a redelivered or late event changes nothing."""

    def save_game(self, fixture_id: str, game: GameSnapshot) -> None: ...

    def save_status(
        self, fixture_id: str, market_ids: list[str], status: str, sequence: int, said_at: datetime
    ) -> None:
        """A bet stop or reopening of the markets (all the fixture's if none named)."""
        ...

    def statuses(self) -> list[tuple[str, str, str, int, datetime]]:
        """Every kept status: fixture, market ('' for the whole fixture), status, sequence,
        when said."""
        ...

    def save_kyc(
        self, player_id: str, status: str, of_age: bool, excluded: bool, said_at: datetime
    ) -> None: ...

    def save_cap(
        self,
        kind: CapKind,
        player_id: str,
        cap_minor: int,
        effective_at: datetime,
        said_at: datetime,
        raise_delay_seconds: float,
    ) -> None:
        """Records the stake or deposit cap as `SevenDayCap.changed` decides (a raise waits,
        a cut applies)."""
        ...
