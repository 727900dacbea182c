"""In-play basketball: Brownian motion for the margin and the total (Stern 1994).

With tau the share of the game still to play (of regulation; within an overtime, what is
left of its five minutes as a share of regulation) and the pre-match expectation
(`basketball.expectation`: spread, mean total, their sigmas):
    final margin ~ Normal(lead + spread * tau, margin_sigma * sqrt(tau))
    final total  ~ Normal(points so far + total * tau, total_sigma * sqrt(tau))
discretised with the same continuity correction as pre-match. A tie at the end of the
period goes to overtime exactly as pre-match (a short game of 5 minutes' share of regulation
of the spread and variance, ties repeating); a tie at the buzzer keeps the totals open on that
overtime too (NBA and FIBA rule: totals and moneylines include overtime). Otherwise at
tau = 0 the score is certain.
Before tip-off (period 0) tau is 1 with a 0-0 score, so the price is the pre-match one.
Lines are re-centred on the in-play expectations, so live line markets move with the game.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from betmesh.common.v1 import game_state_pb2, market_pb2

from services.quotes.domain.basketball import (
    Expectation,
    discrete_normal,
    distribution_markets,
    with_overtime,
)
from services.quotes.domain.basketball_rules import (
    DEFAULT_REGULATION_SECONDS,
    OVERTIME_SECONDS,
    REGULATION_PERIODS,
)
from services.quotes.domain.markets import MarketProbabilities


def remaining_fraction(state: game_state_pb2.GameState, regulation_seconds: int = 0) -> float:
    """Share of regulation still to play on `regulation_seconds` (basketball_rules.clock; 0:
    the state's own clock, else the NBA's)."""
    regulation = (
        regulation_seconds or state.basketball.regulation_seconds or DEFAULT_REGULATION_SECONDS
    )
    if state.period == 0:
        return 1.0
    if state.period <= REGULATION_PERIODS:
        left = regulation - min(state.elapsed_seconds, regulation)
    else:
        end = regulation + (state.period - REGULATION_PERIODS) * OVERTIME_SECONDS
        left = max(0, end - max(state.elapsed_seconds, end - OVERTIME_SECONDS))
    return left / regulation


def _distribution(mu: float, sigma: float) -> dict[int, float]:
    if sigma <= 0.0:
        return {round(mu): 1.0}
    return discrete_normal(mu, sigma)


def final_margin(e: Expectation, lead: int, tau: float) -> dict[int, float]:
    """Final margin (home - away) including overtimes; never 0."""
    return with_overtime(e, _distribution(lead + e.margin * tau, e.margin_sigma * math.sqrt(tau)))


def live_markets(
    e: Expectation,
    state: game_state_pb2.GameState,
    home_name: str,
    away_name: str,
    wanted: Sequence[market_pb2.MarketType.ValueType],
    regulation_seconds: int = 0,
) -> list[MarketProbabilities]:
    score = state.basketball
    tau = remaining_fraction(state, regulation_seconds)
    lead = score.home_points - score.away_points
    margin_mu = lead + e.margin * tau
    total_mu = score.home_points + score.away_points + e.total * tau
    total_sigma = e.total_sigma * math.sqrt(tau)
    if tau == 0.0 and lead == 0 and state.period >= REGULATION_PERIODS:
        # Tied at the buzzer: an overtime follows, and totals (like the moneyline) include it.
        total_mu += e.total * e.overtime_fraction
        total_sigma = e.total_sigma * math.sqrt(e.overtime_fraction)
    return distribution_markets(
        lambda: final_margin(e, lead, tau),
        margin_mu,
        lambda: _distribution(total_mu, total_sigma),
        total_mu,
        home_name,
        away_name,
        wanted,
    )
