"""In-play basketball: Brownian motion for the margin and the total (Stern 1994).

With tau the share of the game still to play (of regulation; within an overtime, what is
left of its five minutes as a share of regulation) and the pre-match expectation
(`basketball.expectation`: spread, mean total, their sigmas):
    final margin ~ Normal(lead + spread * tau, margin_sigma * sqrt(tau))
    final total  ~ Normal(points so far + total * tau, total_sigma * sqrt(tau))
discretised with the same continuity correction as pre-match. A tie at the end of the
period goes to overtime exactly as pre-match (a short game of 5/48 of the spread and
variance, ties repeating). At tau = 0 the margin and the total are the score: certain.
Before tip-off (period 0) tau is 1 with a 0-0 score, so the price is the pre-match one.
Lines are re-centred on the in-play expectations, so live line markets move with the game.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2

from services.quotes.domain.basketball import (
    LINE_OFFSETS_E2,
    OVERTIME_FRACTION,
    Expectation,
    discrete_normal,
)
from services.quotes.domain.markets import MarketProbabilities, Outcomes, SelectionProbability

DEFAULT_REGULATION_SECONDS = 4 * 10 * 60
OVERTIME_SECONDS = 5 * 60
REGULATION_PERIODS = 4


def remaining_fraction(state: game_state_pb2.GameState) -> float:
    regulation = state.basketball.regulation_seconds or DEFAULT_REGULATION_SECONDS
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
    regulation = _distribution(lead + e.margin * tau, e.margin_sigma * math.sqrt(tau))
    tie = regulation.pop(0, 0.0)
    if tie:
        overtime = discrete_normal(
            e.margin * OVERTIME_FRACTION, e.margin_sigma * math.sqrt(OVERTIME_FRACTION)
        )
        overtime_tie = overtime.pop(0, 0.0)
        decided = 1.0 - overtime_tie
        for k, m in overtime.items():
            regulation[k] = regulation.get(k, 0.0) + tie * m / decided
    return regulation


def _half_line_e2(value: float) -> int:
    return math.floor(value) * 100 + 50


def _signed(line_e2: int) -> str:
    return ("+" if line_e2 > 0 else "") + f"{line_e2 / 100:g}"


def _two_way(dist: dict[int, float], line_e2: int) -> tuple[Outcomes, Outcomes]:
    win = lose = 0.0
    for k, m in dist.items():
        value = k * 100 + line_e2
        if value > 0:
            win += m
        elif value < 0:
            lose += m
    push = max(0.0, 1.0 - win - lose)
    return Outcomes(win=win, push=push, lose=lose), Outcomes(win=lose, push=push, lose=win)


def live_markets(
    e: Expectation,
    state: game_state_pb2.GameState,
    home_name: str,
    away_name: str,
    wanted: Sequence[market_pb2.MarketType.ValueType],
) -> list[MarketProbabilities]:
    score = state.basketball
    tau = remaining_fraction(state)
    lead = score.home_points - score.away_points
    margin_mu = lead + e.margin * tau
    total_mu = score.home_points + score.away_points + e.total * tau
    markets: list[MarketProbabilities] = []
    needs_margin = {market_pb2.MARKET_TYPE_MONEYLINE, market_pb2.MARKET_TYPE_POINT_SPREAD}
    margin = final_margin(e, lead, tau) if needs_margin & set(wanted) else {}
    if market_pb2.MARKET_TYPE_MONEYLINE in wanted:
        home = sum(m for k, m in margin.items() if k > 0)
        markets.append(
            MarketProbabilities(
                market_pb2.MARKET_TYPE_MONEYLINE,
                "Moneyline",
                [
                    SelectionProbability("home", home_name, home),
                    SelectionProbability("away", away_name, 1.0 - home),
                ],
            )
        )
    if market_pb2.MARKET_TYPE_POINT_SPREAD in wanted:
        centre = _half_line_e2(-margin_mu)
        for line in (centre + d for d in LINE_OFFSETS_E2):
            home_out, away_out = _two_way(margin, line)
            markets.append(
                MarketProbabilities(
                    market_pb2.MARKET_TYPE_POINT_SPREAD,
                    f"Point spread {home_name} {_signed(line)}",
                    [
                        SelectionProbability(
                            "home", f"{home_name} {_signed(line)}", home_out.effective_probability()
                        ),
                        SelectionProbability(
                            "away",
                            f"{away_name} {_signed(-line)}",
                            away_out.effective_probability(),
                        ),
                    ],
                    line_e2=line,
                    side=sport_pb2.SIDE_HOME,
                )
            )
    if market_pb2.MARKET_TYPE_TOTAL_POINTS in wanted:
        total = _distribution(total_mu, e.total_sigma * math.sqrt(tau))
        centre = _half_line_e2(total_mu)
        for line in (centre + d for d in LINE_OFFSETS_E2):
            over, under = _two_way(total, -line)
            markets.append(
                MarketProbabilities(
                    market_pb2.MARKET_TYPE_TOTAL_POINTS,
                    f"Total points {line / 100:g}",
                    [
                        SelectionProbability(
                            "over", f"Over {line / 100:g}", over.effective_probability()
                        ),
                        SelectionProbability(
                            "under", f"Under {line / 100:g}", under.effective_probability()
                        ),
                    ],
                    line_e2=line,
                )
            )
    return markets
