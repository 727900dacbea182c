"""What the bets core needs from storage; the PostgreSQL adapter implements it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.bets.domain.ledger import LedgerTransaction, WalletBalance
from services.bets.domain.model import (
    Bet,
    BetStatus,
    CashOutOffer,
    GameSnapshot,
    Leg,
    PlayerStanding,
)


@dataclass(frozen=True)
class Liabilities:
    """House worst-case losses after a bet's exposure is added."""

    markets: dict[tuple[str, str], int]
    fixtures: dict[str, int]


@dataclass(frozen=True)
class SettledNotice:
    event_id: str
    bet_id: str
    player_id: str
    status: BetStatus
    payout_minor: int
    currency: str


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


class BetSession(Protocol):
    """One atomic unit of work."""

    def claim_bet(self, bet: Bet) -> Bet | None:
        """Inserts the bet; when (player, idempotency key) is taken, waits for the holder and
        returns the bet already stored instead."""
        ...

    def savepoint(self) -> AbstractContextManager[None]: ...

    def update_bet(self, bet: Bet) -> None: ...

    def lock_bet(self, bet_id: str) -> Bet | None: ...

    def player(self, player_id: str, *, lock: bool) -> PlayerStanding | None: ...

    def stakes(self, player_id: str, since: datetime, excluding_bet: str) -> tuple[int, int]:
        """(stakes placed since `since` and not rejected, stakes still open)."""
        ...

    def add_exposure(self, legs: list[Leg], liability_minor: int, stake_minor: int) -> Liabilities:
        """Adds (or with a negative amount, removes) a bet's liability on each leg's selection,
        holding the fixtures' rows until commit so concurrent bets see each other."""
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

    def claim_operation(self, key: str, fingerprint: str) -> tuple[str, int] | None:
        """Reserves an operator request's idempotency key: None when new, else the first
        request's (fingerprint, result)."""
        ...

    def finish_operation(self, key: str, result: int) -> None: ...

    def save_offer(self, offer: CashOutOffer) -> None: ...

    def offer(self, offer_id: str) -> CashOutOffer | None: ...


class BetStore(Protocol):
    def session(self) -> AbstractContextManager[BetSession]: ...

    def get_bet(self, bet_id: str) -> Bet | None: ...

    def list_bets(
        self, player_id: str, statuses: list[BetStatus], before: str | None, limit: int
    ) -> list[Bet]: ...

    def due_pending(self, now: datetime, limit: int) -> list[str]: ...

    def return_to_player(self, start: datetime, end: datetime) -> ReturnToPlayer: ...

    def exposure(self, fixture_id: str) -> list[MarketExposureRow]: ...
