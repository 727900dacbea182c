"""Basketball, second engine: every market straight from the normal CDF at its threshold.

Specification (shared with the reference, `basketball.py` / `inplay_basketball.py`): expected
points home = mean_total/2 + attack_h + defence_a + advantage/2, away = mean_total/2 +
attack_a + defence_h - advantage/2; margin ~ Normal(home - away, margin_sigma), total ~
Normal(home + away, total_sigma), each discretised on the integers with a continuity
correction (P(X = k) = Phi(k + 1/2) - Phi(k - 1/2) in standard units) and its tails beyond
8 sigma folded into the last integers. A regulation tie goes to overtime, a short game of 5/48
(NBA) or 5/40 (FIBA) of the spread and variance, repeated while tied: the tie mass is spread
over the overtime margin conditioned on not being 0. In play: tau the share of regulation left
(what is left of the current overtime's five minutes beyond), margin ~ Normal(lead + spread * tau,
sigma * sqrt(tau)), total ~ Normal(points + total * tau, sigma_t * sqrt(tau)); at tau = 0 the
score (rounded mean) is certain. Lines: the x.5 line nearest the (in-play) mean and offsets.

How this engine computes it: no pmf is built. P(X <= m) of a discretised normal is Phi at
m + 1/2 (0 below the folded tail, 1 above it), upper tails Phi(-x) through erfc, and the
final margin's CDF is the regulation CDF without its tie plus the tie times the overtime's
CDF without its own tie, renormalised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from services.quotes.domain.basketball_rules import (
    DEFAULT_REGULATION_SECONDS,
    OVERTIME_SECONDS,
    REGULATION_PERIODS,
    Clock,
)
from services.quotes.domain.markets import MarketProbabilities, SelectionProbability, centre_line_e2

TAILS = 8
OFFSETS = (-200, -100, -50, 0, 50, 100, 200)


@dataclass(frozen=True)
class Discrete:
    """A continuity-corrected normal on the integers, tails folded (or a point mass)."""

    mu: float
    sigma: float

    def bounds(self) -> tuple[int, int]:
        return math.floor(self.mu - TAILS * self.sigma), math.ceil(self.mu + TAILS * self.sigma)

    def at_most(self, m: int) -> float:
        if self.sigma <= 0.0:
            return 1.0 if round(self.mu) <= m else 0.0
        low, high = self.bounds()
        if m < low:
            return 0.0
        if m >= high:
            return 1.0
        return 0.5 * math.erfc(-((m + 0.5 - self.mu) / self.sigma) / math.sqrt(2.0))

    def above(self, m: int) -> float:
        """P(X > m), from the upper tail directly."""
        if self.sigma <= 0.0:
            return 1.0 if round(self.mu) > m else 0.0
        low, high = self.bounds()
        if m < low:
            return 1.0
        if m >= high:
            return 0.0
        return 0.5 * math.erfc(((m + 0.5 - self.mu) / self.sigma) / math.sqrt(2.0))

    def exactly(self, k: int) -> float:
        return self.at_most(k) - self.at_most(k - 1)


@dataclass(frozen=True)
class FinalMargin:
    """Regulation margin, with its tie replaced by overtime's non-tied margin."""

    regulation: Discrete
    overtime: Discrete

    def _parts(self) -> tuple[float, float]:
        tie = self.regulation.exactly(0)
        overtime_tie = self.overtime.exactly(0)
        return tie, (tie / (1.0 - overtime_tie) if tie else 0.0)

    def above(self, m: int) -> float:
        tie, scale = self._parts()
        regulation = self.regulation.above(m) - (tie if m < 0 else 0.0)
        if not scale:
            return regulation
        overtime = self.overtime.above(m) - (self.overtime.exactly(0) if m < 0 else 0.0)
        return regulation + scale * overtime

    def below(self, m: int) -> float:
        """P(margin < m)."""
        tie, scale = self._parts()
        regulation = self.regulation.at_most(m - 1) - (tie if m > 0 else 0.0)
        if not scale:
            return regulation
        overtime = self.overtime.at_most(m - 1) - (self.overtime.exactly(0) if m > 0 else 0.0)
        return regulation + scale * overtime


def _effective(win: float, lose: float) -> float:
    return win / (win + lose) if win > 0.0 else 0.0


def _split(line_e2: int) -> tuple[int, int]:
    """For "value * 100 > line" and "value * 100 < line" on integers: the m of value > m and
    of value < m'."""
    above = math.floor(line_e2 / 100)  # value > line/100  <=>  value > floor(line/100)
    below = math.ceil(line_e2 / 100)  # value < line/100  <=>  value < ceil(line/100)
    return above, below


def _signed(line_e2: int) -> str:
    return ("+" if line_e2 > 0 else "") + f"{line_e2 / 100:g}"


def markets(
    margin: FinalMargin,
    margin_mean: float,
    total: Discrete,
    home_name: str,
    away_name: str,
    wanted: Sequence[market_pb2.MarketType.ValueType],
) -> list[MarketProbabilities]:
    out: list[MarketProbabilities] = []
    want = set(wanted)
    if market_pb2.MARKET_TYPE_MONEYLINE in want:
        home = margin.above(0)
        out.append(
            MarketProbabilities(
                market_pb2.MARKET_TYPE_MONEYLINE,
                "Moneyline",
                [
                    SelectionProbability("home", home_name, home),
                    SelectionProbability("away", away_name, 1.0 - home),
                ],
            )
        )
    if market_pb2.MARKET_TYPE_POINT_SPREAD in want:
        centre = centre_line_e2(-margin_mean)
        for line in (centre + d for d in OFFSETS):
            # Home covers when margin * 100 + line > 0, i.e. margin * 100 > -line.
            above, below = _split(-line)
            win, lose = margin.above(above), margin.below(below)
            out.append(
                MarketProbabilities(
                    market_pb2.MARKET_TYPE_POINT_SPREAD,
                    f"Point spread {home_name} {_signed(line)}",
                    [
                        SelectionProbability(
                            "home", f"{home_name} {_signed(line)}", _effective(win, lose)
                        ),
                        SelectionProbability(
                            "away", f"{away_name} {_signed(-line)}", _effective(lose, win)
                        ),
                    ],
                    line_e2=line,
                    side=sport_pb2.SIDE_HOME,
                )
            )
    if market_pb2.MARKET_TYPE_TOTAL_POINTS in want:
        centre = centre_line_e2(total.mu)
        for line in (centre + d for d in OFFSETS):
            above, below = _split(line)
            over, under = total.above(above), total.at_most(below - 1)
            text = f"{line / 100:g}"
            out.append(
                MarketProbabilities(
                    market_pb2.MARKET_TYPE_TOTAL_POINTS,
                    f"Total points {text}",
                    [
                        SelectionProbability("over", f"Over {text}", _effective(over, under)),
                        SelectionProbability("under", f"Under {text}", _effective(under, over)),
                    ],
                    line_e2=line,
                )
            )
    return out


def time_left(state: game_state_pb2.GameState, regulation_seconds: int = 0) -> float:
    # The clock asked for, else the state's own, else the NBA's: the first one set.
    clocks = (regulation_seconds, state.basketball.regulation_seconds, DEFAULT_REGULATION_SECONDS)
    regulation = next(seconds for seconds in clocks if seconds)
    if state.period == 0:
        return 1.0
    # The clock's window for the period: regulation as one span, or the current overtime's
    # five minutes; the game clock is read clamped into it.
    overtimes = max(0, state.period - REGULATION_PERIODS)
    window_end = regulation + overtimes * OVERTIME_SECONDS
    window_start = window_end - OVERTIME_SECONDS if overtimes else 0
    clock = min(max(state.elapsed_seconds, window_start), window_end)
    return (window_end - clock) / regulation


def model(
    fixture: sport_pb2.Fixture,
    snapshot: snapshot_pb2.ModelSnapshot,
    home: snapshot_pb2.TeamRating,
    away: snapshot_pb2.TeamRating,
    wanted: Sequence[market_pb2.MarketType.ValueType],
    state: game_state_pb2.GameState | None,
    clock: Clock,
) -> list[MarketProbabilities]:
    p = snapshot.basketball
    overtime_share = clock.overtime_fraction
    advantage = 0.0 if fixture.neutral_venue else p.home_advantage_points
    home_points = p.mean_total_points / 2 + home.attack + away.defence + advantage / 2
    away_points = p.mean_total_points / 2 + away.attack + home.defence - advantage / 2
    spread, expected_total = home_points - away_points, home_points + away_points
    overtime = Discrete(spread * overtime_share, p.margin_sigma * math.sqrt(overtime_share))
    if state is None:
        regulation = Discrete(spread, p.margin_sigma)
        total = Discrete(expected_total, p.total_sigma)
        margin_mean = spread
    else:
        tau = time_left(state, clock.regulation_seconds)
        score = state.basketball
        lead = score.home_points - score.away_points
        margin_mean = lead + spread * tau
        regulation = Discrete(margin_mean, p.margin_sigma * math.sqrt(tau))
        points, share = score.home_points + score.away_points, tau
        if tau == 0.0 and lead == 0 and state.period >= REGULATION_PERIODS:
            share = overtime_share  # tied at the buzzer: totals include the overtime to come
        total = Discrete(points + expected_total * share, p.total_sigma * math.sqrt(share))
    return markets(
        FinalMargin(regulation, overtime),
        margin_mean,
        total,
        fixture.home.name or home.name,
        fixture.away.name or away.name,
        wanted,
    )
