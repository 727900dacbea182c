"""The player and house limits a bet meets under the player's lock: KYC and self-exclusion,
the 7-day stake cap, open stakes, the house's liability per market and per fixture, funds.

They are applied in one statement, `bets.place_bet` (services/bets/sql/place_bet.sql, their one
implementation); this module chooses the figures and the messages it is handed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.bets.domain.bet_ports import PlacementRules
from services.bets.domain.bet_rules import BetRules

# KYC states in which a player may bet; PROVISIONAL only for its first month (ANJ).
MAY_BET = ("PENDING", "PROVISIONAL", "VERIFIED")


def placement_messages(rules: BetRules) -> dict[str, str]:
    """What a refused player reads, by reason; the store fills in the figures it found."""
    return {
        "KYC_REQUIRED/UNKNOWN": "identity has not opened this account",
        "KYC_REQUIRED/STATUS": "account status {status} may not bet",
        "KYC_REQUIRED/PROVISIONAL_EXPIRED": (
            f"a provisional account must be verified within {rules.provisional_days} days"
        ),
        "SELF_EXCLUDED": "the player is excluded from betting",
        "STAKE_CAP_NOT_SET": "a 7-day stake cap must be set before the first bet",
        "RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED": (
            "the 7-day stake cap of {a} minor units would be exceeded ({b} already staked)"
        ),
        "ABOVE_PLAYER_MAX": (
            f"open stakes are capped at {rules.max_player_open_stake_minor} minor units"
        ),
        "ABOVE_MARKET_MAX": "the house's liability on {id} is full",
        "ABOVE_EVENT_MAX": "the house's liability on {id} is full",
        "INSUFFICIENT_FUNDS": "the wallet cannot cover the stake",
    }


def placement_rules(rules: BetRules, messages: dict[str, str], now: datetime) -> PlacementRules:
    """The figures for a bet placed at `now` (`messages`: `placement_messages(rules)`, made
    once: the same templates go with every bet)."""
    return PlacementRules(
        may_bet=MAY_BET,
        provisional_cutoff=now - timedelta(days=rules.provisional_days),
        window_start=now - timedelta(days=rules.stake_cap_window_days),
        max_open_stake_minor=rules.max_player_open_stake_minor,
        max_market_liability_minor=rules.max_market_liability_minor,
        max_fixture_liability_minor=rules.max_fixture_liability_minor,
        messages=messages,
    )
