"""The figures the book's rules use (limits, delays, cash-out terms), set from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from service_runtime.live_bet_delay import LiveBetDelays
from service_runtime.live_watch import DEFAULT_SILENCE_SECONDS


@dataclass(frozen=True)
class BetRules:
    min_stake_minor: int = 10
    max_stake_minor: int = 1_000_000
    max_payout_minor: int = 10_000_000
    max_market_liability_minor: int = 50_000_000
    max_fixture_liability_minor: int = 100_000_000
    # Open (unsettled) stakes one player may have at once.
    max_player_open_stake_minor: int = 5_000_000
    max_legs: int = 12
    allow_same_fixture_legs: bool = False
    # In wall seconds, from the one definition bets and live share (live announces them).
    live_delay_seconds: dict[str, float] = field(
        default_factory=lambda: LiveBetDelays.standard().seconds_by_sport()
    )
    default_live_delay_seconds: float = field(
        default_factory=lambda: LiveBetDelays.standard().default_ms / 1000
    )
    # An in-play bet is refused (BETTING_SUSPENDED) on a fixture live has not vouched for
    # within this many seconds (its LiveHeartbeat): a dead or frozen live suspends nothing
    # itself, so its silence must (service_runtime/live_watch.py).
    live_silence_seconds: float = DEFAULT_SILENCE_SECONDS
    provisional_days: int = 30
    stake_cap_window_days: int = 7
    # The house keeps (10000 - margin) / 10000 of a cash-out's fair value.
    cash_out_margin_e4: int = 9_500
    cash_out_offer_seconds: float = 5.0
    # How long an expired offer is kept (to answer OFFER_EXPIRED) before it is purged.
    cash_out_offer_retention_seconds: float = 60.0
