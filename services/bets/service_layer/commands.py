"""What callers ask the bets service to do, free of gRPC: the servicer builds these from
requests, the background tasks from the clock. Commands that already lived in the domain
(placing, depositing, settling a market) are re-exported so a caller finds every one here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.bets.domain.model import BetStatus, FixtureQuotes, GameSnapshot, PlaceBetCommand
from services.bets.domain.requests import DepositCommand
from services.bets.domain.settling import SettleCommand

__all__ = [
    "CapsChanged",
    "CashOut",
    "DecideBet",
    "DecideDueBets",
    "DepositCommand",
    "GameStateChanged",
    "GetCashOutOffer",
    "KycChanged",
    "ListBets",
    "ListLedgerEntries",
    "MarketStatusChanged",
    "PlaceBetCommand",
    "PricesAccepted",
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


# ---- what bets hears (adapters/feeds.py builds these from events) -----------------------------


@dataclass(frozen=True)
class PricesAccepted:
    quotes: FixtureQuotes


@dataclass(frozen=True)
class MarketStatusChanged:
    fixture_id: str
    # Empty: every market of the fixture.
    market_ids: tuple[str, ...]
    status: str
    event_sequence: int
    said_at: datetime


@dataclass(frozen=True)
class LiveWatching:
    """A live process's heartbeat: it watches these in-play fixtures, their feeds alive."""

    fixture_ids: tuple[str, ...]
    said_at: datetime


@dataclass(frozen=True)
class GameStateChanged:
    fixture_id: str
    game: GameSnapshot


@dataclass(frozen=True)
class KycChanged:
    player_id: str
    kyc_status: str
    of_age: bool
    excluded: bool
    said_at: datetime


@dataclass(frozen=True)
class CapsChanged:
    """A player's 7-day caps as identity said them (None: that cap not in the announcement)."""

    player_id: str
    stake_cap_minor: int | None
    deposit_cap_minor: int | None
    effective_at: datetime
    said_at: datetime
