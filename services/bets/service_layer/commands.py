"""What callers ask the bets service to do, free of gRPC: the servicer builds these from
requests, the background tasks from the clock. Commands that already lived in the domain
(placing, depositing, settling a market) are re-exported so a caller finds every one here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.bets.domain.model import BetStatus, PlaceBetCommand
from services.bets.domain.requests import DepositCommand
from services.bets.domain.settling import SettleCommand

__all__ = [
    "CashOut",
    "DecideBet",
    "DecideDueBets",
    "DepositCommand",
    "GetCashOutOffer",
    "ListBets",
    "ListLedgerEntries",
    "PlaceBetCommand",
    "RollbackSettlement",
    "SettleCommand",
    "SettleMarket",
    "VoidBets",
]


@dataclass(frozen=True)
class DecideBet:
    """Ends one live bet's delay (a no-op for a bet no longer pending)."""

    bet_id: str


@dataclass(frozen=True)
class DecideDueBets:
    """Decides live bets whose delay is over and whose caller did not wait (or whose process
    died during the delay)."""

    limit: int = 100


@dataclass(frozen=True)
class ListBets:
    player_id: str
    statuses: tuple[BetStatus, ...]
    page_size: int
    page_token: str


@dataclass(frozen=True)
class ListLedgerEntries:
    player_id: str
    page_size: int
    page_token: str


@dataclass(frozen=True)
class GetCashOutOffer:
    bet_id: str
    # The part of the stake to cash out; None: all of it.
    stake_minor: int | None
    currency: str


@dataclass(frozen=True)
class CashOut:
    idempotency_key: str
    bet_id: str
    offer_id: str


@dataclass(frozen=True)
class SettleMarket:
    idempotency_key: str
    settle: SettleCommand


@dataclass(frozen=True)
class RollbackSettlement:
    idempotency_key: str
    fixture_id: str
    market_id: str


@dataclass(frozen=True)
class VoidBets:
    idempotency_key: str
    fixture_id: str
    market_ids: tuple[str, ...]
    placed_after: datetime | None
    placed_before: datetime | None
    reason: str
