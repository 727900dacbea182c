"""Basketball: normal model for the final margin and the total (Stern 1994).

Expected points from the snapshot's ratings (points above average; `defence` is points conceded
above average, so a positive defence is a weak one):
    home = mean_total / 2 + home.attack + away.defence + advantage / 2
    away = mean_total / 2 + away.attack + home.defence - advantage / 2
    margin ~ Normal(home - away, margin_sigma),  total ~ Normal(home + away, total_sigma)
(advantage = home_advantage_points, 0 at a neutral venue).

Scores are integers, so both are discretised with a continuity correction:
P(X = k) = Phi((k + 0.5 - mu) / sigma) - Phi((k - 0.5 - mu) / sigma).

No draw: the regulation tie mass P(margin = 0) goes to overtime. An overtime is modelled as a
short game, margin ~ Normal(mu * f, sigma * sqrt(f)) with f the overtime's share of regulation
(5/48 under the NBA's rules, 5/40 under FIBA's: `basketball_rules.py`, from the fixture); a tied
overtime is followed by an identical one, so the overtime margin is that distribution
conditioned on not being 0, and the tie mass is spread over it. Moneyline and spread both
settle on this final margin, so they are consistent with each other. Overtime points are left
inside the total's own normal (its sigma absorbs them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from betmesh.common.v1 import market_pb2, sport_pb2

from services.quotes.domain.basketball_rules import DEFAULT_REGULATION_SECONDS, OVERTIME_SECONDS
from services.quotes.domain.markets import (
    MarketProbabilities,
    Outcomes,
    SelectionProbability,
    centre_line_e2,
)

TAIL_SIGMAS = 8
# Lines offered around the centre (the x.5 line nearest the expectation), in hundredths; the
# whole lines between carry a push.
LINE_OFFSETS_E2 = (-200, -100, -50, 0, 50, 100, 200)

MARKET_TYPES = (
    market_pb2.MARKET_TYPE_MONEYLINE,
    market_pb2.MARKET_TYPE_POINT_SPREAD,
    market_pb2.MARKET_TYPE_TOTAL_POINTS,
)


@dataclass(frozen=True)
class Expectation:
    margin: float
    total: float
    margin_sigma: float
    total_sigma: float
    # One overtime's share of the game (basketball_rules.Clock.overtime_fraction).
    overtime_fraction: float = OVERTIME_SECONDS / DEFAULT_REGULATION_SECONDS


def expectation(
    home_attack: float,
    home_defence: float,
    away_attack: float,
    away_defence: float,
    home_advantage: float,
    mean_total: float,
    margin_sigma: float,
    total_sigma: float,
    neutral: bool,
    overtime_fraction: float = OVERTIME_SECONDS / DEFAULT_REGULATION_SECONDS,
) -> Expectation:
    advantage = 0.0 if neutral else home_advantage
    home = mean_total / 2 + home_attack + away_defence + advantage / 2
    away = mean_total / 2 + away_attack + home_defence - advantage / 2
    return Expectation(home - away, home + away, margin_sigma, total_sigma, overtime_fraction)


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def discrete_normal(mu: float, sigma: float) -> dict[int, float]:
    """P(X = k) for the integers within TAIL_SIGMAS; each tail folded into its last integer."""
    low = math.floor(mu - TAIL_SIGMAS * sigma)
    high = math.ceil(mu + TAIL_SIGMAS * sigma)
    cdf = [_phi((k + 0.5 - mu) / sigma) for k in range(low, high)]
    dist: dict[int, float] = {}
    previous = 0.0
    for k, c in zip(range(low, high), cdf, strict=True):
        dist[k] = c - previous
        previous = c
    dist[high] = 1.0 - previous
    return dist


def final_margin(e: Expectation) -> dict[int, float]:
    """Distribution of the final margin (home - away), overtime included; never 0."""
    return with_overtime(e, discrete_normal(e.margin, e.margin_sigma))


def with_overtime(e: Expectation, regulation: dict[int, float]) -> dict[int, float]:
    """The margin at the end of regulation with its tie played off: overtime's margin (the
    spread and variance of its share of a game), conditioned on not tying again (ties repeat
    until one does not). Changes and returns `regulation`."""
    tie = regulation.pop(0, 0.0)
    if tie:
        f = e.overtime_fraction
        overtime = discrete_normal(e.margin * f, e.margin_sigma * math.sqrt(f))
        overtime_tie = overtime.pop(0, 0.0)
        decided = 1.0 - overtime_tie
        for k, m in overtime.items():
            regulation[k] = regulation.get(k, 0.0) + tie * m / decided
    return regulation


def _signed(line_e2: int) -> str:
    return ("+" if line_e2 > 0 else "") + f"{line_e2 / 100:g}"


def _two_way(dist: dict[int, float], line_e2: int, sign: int) -> tuple[Outcomes, Outcomes]:
    """Outcomes of the side that wins when sign * k * 100 + line_e2 > 0, and of the other."""
    win = lose = 0.0
    for k, m in dist.items():
        value = sign * k * 100 + line_e2
        if value > 0:
            win += m
        elif value < 0:
            lose += m
    push = max(0.0, 1.0 - win - lose)
    return Outcomes(win=win, push=push, lose=lose), Outcomes(win=lose, push=push, lose=win)


def basketball_markets(
    e: Expectation,
    home_name: str,
    away_name: str,
    wanted: Sequence[market_pb2.MarketType.ValueType],
) -> list[MarketProbabilities]:
    return distribution_markets(
        lambda: final_margin(e),
        e.margin,
        lambda: discrete_normal(e.total, e.total_sigma),
        e.total,
        home_name,
        away_name,
        wanted,
    )


def distribution_markets(
    margin_distribution: Callable[[], dict[int, float]],
    margin_mean: float,
    total_distribution: Callable[[], dict[int, float]],
    total_mean: float,
    home_name: str,
    away_name: str,
    wanted: Sequence[market_pb2.MarketType.ValueType],
) -> list[MarketProbabilities]:
    """Moneyline, spreads and totals from the final margin's and total's distributions (pre-match
    and in play alike; in play they are conditioned on the score and the time left)."""
    markets: list[MarketProbabilities] = []
    needs_margin = {market_pb2.MARKET_TYPE_MONEYLINE, market_pb2.MARKET_TYPE_POINT_SPREAD}
    margin = margin_distribution() if needs_margin & set(wanted) else {}
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
        centre = centre_line_e2(-margin_mean)
        for line in (centre + d for d in LINE_OFFSETS_E2):
            # The line applies to home: home covers when margin + line > 0.
            home_out, away_out = _two_way(margin, line, 1)
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
        total = total_distribution()
        centre = centre_line_e2(total_mean)
        for line in (centre + d for d in LINE_OFFSETS_E2):
            # Over wins when total * 100 - line > 0.
            over, under = _two_way(total, -line, 1)
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
