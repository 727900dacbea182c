"""Interfaces the wallet core needs; adapters implement them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.bets.domain.ledger import EntryView, LedgerTransaction, WalletBalance


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


@dataclass(frozen=True)
class SevenDayCap:
    """A player's 7-day deposit or stake cap as identity announced it (ANJ: set before the
    first deposit or bet; a raise applies after 48 h, a cut at once).

    The one Python home of these rules. bets.place_bet reads the stake cap in force itself
    (services/bets/sql/place_bet.sql: it must, under the player's lock, in the bet's one
    statement), with the same definition as `in_force`; both are tested at the exact instant
    (tests/unit/test_bets_caps.py, tests/integration/test_bets_place_bet_rules.py)."""

    cap_minor: int | None
    pending_cap_minor: int | None
    pending_effective_at: datetime | None

    def in_force(self, now: datetime) -> int | None:
        if (
            self.pending_cap_minor is not None
            and self.pending_effective_at is not None
            and self.pending_effective_at <= now
        ):
            return self.pending_cap_minor
        return self.cap_minor

    def changed(
        self, cap_minor: int, effective_at: datetime, said_at: datetime, raise_delay: timedelta
    ) -> SevenDayCap:
        """The cap after identity said `cap_minor` at `said_at`: a first cap or a cut applies
        at once; a raise waits out the delay, or until `effective_at` if that is later."""
        current = self.in_force(said_at)
        if current is None or cap_minor <= current:
            return SevenDayCap(cap_minor, None, None)
        return SevenDayCap(current, cap_minor, max(effective_at, said_at + raise_delay))


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
