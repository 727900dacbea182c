"""Bets as the core sees them: statuses, rejection reasons, legs, quotes, player standing.

Names mirror the contract's enums (without their prefixes) so the servicer maps them by name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class BetStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    WON = "WON"
    LOST = "LOST"
    VOID = "VOID"
    HALF_WON = "HALF_WON"
    HALF_LOST = "HALF_LOST"
    CASHED_OUT = "CASHED_OUT"


OPEN_STATUSES = frozenset({BetStatus.PENDING, BetStatus.ACCEPTED})
SETTLED_STATUSES = frozenset(
    {BetStatus.WON, BetStatus.LOST, BetStatus.VOID, BetStatus.HALF_WON, BetStatus.HALF_LOST}
)


class Rejection(enum.StrEnum):
    LINE_CHANGED = "LINE_CHANGED"
    SCORE_CHANGED = "SCORE_CHANGED"
    RED_CARDS_CHANGED = "RED_CARDS_CHANGED"
    ABOVE_EVENT_MAX = "ABOVE_EVENT_MAX"
    ABOVE_MAX_BET_AMOUNT = "ABOVE_MAX_BET_AMOUNT"
    BELOW_MIN_BET_AMOUNT = "BELOW_MIN_BET_AMOUNT"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    PAST_CUTOFF_TIME = "PAST_CUTOFF_TIME"
    DUPLICATED_REQUEST = "DUPLICATED_REQUEST"
    RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED = "RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED"
    BETTING_SUSPENDED = "BETTING_SUSPENDED"
    ABOVE_MAX_PAYOUT = "ABOVE_MAX_PAYOUT"
    ABOVE_MARKET_MAX = "ABOVE_MARKET_MAX"
    MARKET_NOT_FOUND = "MARKET_NOT_FOUND"
    SELECTION_WITHDRAWN = "SELECTION_WITHDRAWN"
    NO_CONSENSUS_PRICE = "NO_CONSENSUS_PRICE"
    SAME_FIXTURE_LEGS = "SAME_FIXTURE_LEGS"
    KYC_REQUIRED = "KYC_REQUIRED"
    SELF_EXCLUDED = "SELF_EXCLUDED"
    STAKE_CAP_NOT_SET = "STAKE_CAP_NOT_SET"
    ABOVE_PLAYER_MAX = "ABOVE_PLAYER_MAX"


class BetRejected(Exception):
    """A business refusal: answered as a REJECTED bet, never as an RPC error."""

    def __init__(self, reason: Rejection, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class OddsAcceptance(enum.StrEnum):
    NONE = "NONE"
    ANY = "ANY"
    HIGHER = "HIGHER"


class Outcome(enum.StrEnum):
    WIN = "WIN"
    LOSE = "LOSE"
    VOID = "VOID"
    HALF_WIN = "HALF_WIN"
    HALF_LOSE = "HALF_LOSE"


@dataclass(frozen=True)
class SelectionQuote:
    selection_id: str
    name: str
    odds_e4: int
    active: bool


@dataclass(frozen=True)
class MarketQuote:
    market_id: str
    # MarketType name without prefix, e.g. "TOTAL_GOALS".
    market_type: str
    name: str
    line_e2: int
    # "HOME", "AWAY" or "" (Side name without prefix).
    side: str
    # MarketStatus name without prefix, e.g. "ACTIVE".
    status: str
    selections: dict[str, SelectionQuote]


@dataclass(frozen=True)
class FixtureQuotes:
    """One accepted consensus quote set: the prices bets are checked against."""

    fixture_id: str
    sport: str  # "FOOTBALL", "TENNIS", "BASKETBALL"
    live: bool
    event_sequence: int
    digest: str
    accepted_at: datetime
    markets: dict[str, MarketQuote]


@dataclass(frozen=True)
class GameSnapshot:
    """What a live re-check compares: the score and red cards at a point of the game."""

    event_sequence: int
    home_score: int
    away_score: int
    home_red_cards: int = 0
    away_red_cards: int = 0


@dataclass(frozen=True)
class LegRequest:
    fixture_id: str
    market_id: str
    selection_id: str
    odds_e4: int


@dataclass(frozen=True)
class PlaceBetCommand:
    idempotency_key: str
    player_id: str
    legs: tuple[LegRequest, ...]
    stake_minor: int | None
    currency: str
    acceptance: OddsAcceptance
    live: bool
    wait_for_decision: bool


@dataclass
class Leg:
    fixture_id: str
    market_id: str
    selection_id: str
    odds_e4: int
    accepted_odds_e4: int = 0
    quote_set_digest: str = ""
    market_type: str = ""
    line_e2: int = 0
    side: str = ""
    sport: str = ""
    market_name: str = ""
    selection_name: str = ""
    outcome: Outcome | None = None
    # "Home v Away" as the fixture store names it, kept with the bet (the names may change).
    fixture_name: str = ""
    # A winning leg's share of the stake in a dead heat, ten-thousandths (10000: none).
    dead_heat_e4: int = 10_000
    result_version: int = 0
    # Set by an operator void: the leg stays void whatever result comes later.
    voided: bool = False
    # Live bets: the game as it was when the bet was taken.
    game: GameSnapshot | None = None


@dataclass
class Bet:
    bet_id: str
    player_id: str
    idempotency_key: str
    fingerprint: str
    legs: list[Leg]
    stake_minor: int
    currency: str
    odds_e4: int
    potential_payout_minor: int
    status: BetStatus
    acceptance: OddsAcceptance
    live: bool
    placed_at: datetime
    rejection: Rejection | None = None
    rejection_message: str = ""
    decided_at: datetime | None = None
    settled_at: datetime | None = None
    payout_minor: int = 0
    decide_after: datetime | None = None
    # Counts settlements, so each settlement and its rollback get their own ledger ids.
    settlement_count: int = 0
    liability_minor: int = 0
    # Partial cash-outs so far: the part of the stake they closed (stake_minor is what is still
    # on) and what they paid.
    cashed_out_stake_minor: int = 0
    cashed_out_minor: int = 0
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlayerStanding:
    """What bets knows of a player from identity's events."""

    player_id: str
    kyc_status: str  # KycStatus name without prefix, e.g. "VERIFIED"
    of_age: bool
    excluded: bool
    provisional_since: datetime | None
    stake_cap_minor: int | None
    pending_stake_cap_minor: int | None
    # Which cap is in force is bets.place_bet's rule (services/bets/sql/place_bet.sql).
    pending_stake_cap_effective_at: datetime | None


@dataclass(frozen=True)
class CashOutOffer:
    """What the house offers to close a bet now, bound to the prices it was computed from."""

    offer_id: str
    bet_id: str
    amount_minor: int
    # Each leg's current odds_e4 when offered, in leg order ("," joined).
    prices: str
    expires_at: datetime
    # The part of the stake the offer closes; None: all of it.
    stake_minor: int | None = None
