"""The player and house limits a bet meets under the player's lock: KYC and self-exclusion,
the 7-day stake cap, open stakes, the house's liability per market and per fixture, funds.

They are applied in one statement, `bets.place_bet` (services/bets/sql/place_bet.sql, their one
implementation); this module chooses the figures and the messages it is handed. The 7-day caps
as identity announces them (`SevenDayCap`: stake and deposit) are here too: when a raise
applies, and the cap in force that the wallet's deposits check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.bets.domain.bet_rules import BetRules


class CapKind(StrEnum):
    """Which of a player's two 7-day caps identity announced: both follow `SevenDayCap`."""

    STAKE = "stake"
    DEPOSIT = "deposit"


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


@dataclass(frozen=True)
class PlacementRules:
    """The checks that need the player's lock, with the figures placing chose; the store
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
