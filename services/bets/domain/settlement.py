"""Settlement arithmetic: outcomes from a final score, payouts from outcomes.

All exact: odds are integers in ten-thousandths, combined with Fractions (all legs won: with
integers, the same figure), and a payout is rounded down to the minor unit once, at the end (the
house never pays a fraction it does not owe).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from services.bets.domain.model import BetStatus, Outcome

ODDS_SCALE = 10_000
# Dead-heat factors are ten-thousandths of the stake that wins: 10000 is a plain win.
NO_DEAD_HEAT = 10_000
_HALVES = {
    (Outcome.WIN, Outcome.WIN): Outcome.WIN,
    (Outcome.LOSE, Outcome.LOSE): Outcome.LOSE,
    (Outcome.VOID, Outcome.VOID): Outcome.VOID,
    (Outcome.WIN, Outcome.VOID): Outcome.HALF_WIN,
    (Outcome.VOID, Outcome.WIN): Outcome.HALF_WIN,
    (Outcome.LOSE, Outcome.VOID): Outcome.HALF_LOSE,
    (Outcome.VOID, Outcome.LOSE): Outcome.HALF_LOSE,
}


class UnsettleableSelection(ValueError):
    """The result does not say how this selection ends (unknown id or market type)."""


@dataclass(frozen=True)
class FinalScore:
    home: int
    away: int
    # "COMPLETED", "ABANDONED", "CANCELLED"
    status: str = "COMPLETED"
    # Tennis: games per set, home and away in turn (h1, a1, h2, a2, ...).
    set_games: tuple[int, ...] = ()


def leg_factor(outcome: Outcome, odds_e4: int, dead_heat_e4: int = NO_DEAD_HEAT) -> Fraction:
    """What one unit staked on this leg returns (stake included). A dead heat (a win shared by
    n tied selections, factor 1/n) pays that share of the stake at the full odds and loses the
    rest (Sportradar's dead_heat_factor; the standard rule of every book)."""
    odds = Fraction(odds_e4, ODDS_SCALE)
    if outcome is Outcome.WIN:
        return odds * Fraction(dead_heat_e4, ODDS_SCALE)
    if outcome is Outcome.LOSE:
        return Fraction(0)
    if outcome is Outcome.VOID:
        return Fraction(1)
    if outcome is Outcome.HALF_WIN:
        return (odds + 1) / 2
    return Fraction(1, 2)


def payout(
    stake_minor: int, legs: Sequence[tuple[Outcome, int]], dead_heat_e4: Sequence[int] = ()
) -> int:
    """Payout of a single or an accumulator: the stake times every leg's factor, rounded down.
    A void leg's factor is 1, so it drops out of the combined price; a dead-heat leg's winning
    share carries on to the next leg. `dead_heat_e4`: each leg's factor, or none at all."""
    factors = list(dead_heat_e4) or [NO_DEAD_HEAT] * len(legs)
    total = Fraction(stake_minor)
    for (outcome, odds_e4), dead_heat in zip(legs, factors, strict=True):
        total *= leg_factor(outcome, odds_e4, dead_heat)
    return total.numerator // total.denominator


def combined_odds_e4(odds: Sequence[int]) -> int:
    """The legs' odds multiplied, in ten-thousandths, rounded down: the exact product of the
    fractions o / ODDS_SCALE, kept in integers (floor division is exact), as `payout` does
    with Fractions; placing computes it on every bet."""
    product: int = math.prod(odds)
    scale: int = ODDS_SCALE ** len(odds)
    return product * ODDS_SCALE // scale


def potential_payout(stake_minor: int, odds: Sequence[int]) -> int:
    """`payout` if every leg wins, in integers: the stake times the odds' exact product,
    rounded down (equal to `payout(stake_minor, [(Outcome.WIN, o) for o in odds])`)."""
    product: int = math.prod(odds)
    scale: int = ODDS_SCALE ** len(odds)
    return stake_minor * product // scale


def bet_status(outcomes: Sequence[Outcome]) -> BetStatus:
    if any(o is Outcome.LOSE for o in outcomes):
        return BetStatus.LOST
    if all(o is Outcome.VOID for o in outcomes):
        return BetStatus.VOID
    if any(o is Outcome.HALF_LOSE for o in outcomes):
        return BetStatus.HALF_LOST
    if any(o is Outcome.HALF_WIN for o in outcomes):
        return BetStatus.HALF_WON
    return BetStatus.WON


def _compare(value: int, line_e2: int) -> Outcome:
    """Over side of a whole or half line: value against line (hundredths)."""
    scaled = value * 100
    if scaled > line_e2:
        return Outcome.WIN
    if scaled < line_e2:
        return Outcome.LOSE
    return Outcome.VOID


def _flip(outcome: Outcome) -> Outcome:
    return {
        Outcome.WIN: Outcome.LOSE,
        Outcome.LOSE: Outcome.WIN,
        Outcome.VOID: Outcome.VOID,
        Outcome.HALF_WIN: Outcome.HALF_LOSE,
        Outcome.HALF_LOSE: Outcome.HALF_WIN,
    }[outcome]


def over_outcome(value: int, line_e2: int) -> Outcome:
    """A quarter line (x.25, x.75) is half the stake on each neighbouring half-line."""
    if line_e2 % 50 == 25:
        return _HALVES[(_compare(value, line_e2 - 25), _compare(value, line_e2 + 25))]
    return _compare(value, line_e2)


def handicap_outcome(home: int, away: int, line_e2: int, selection: str) -> Outcome:
    """The line is added to the home side; the away selection is its mirror."""
    # home + line vs away  <=>  (home - away) vs -line
    home_side = over_outcome(home - away, -line_e2)
    if selection == "home":
        return home_side
    if selection == "away":
        return _flip(home_side)
    raise UnsettleableSelection(selection)


def _winner(home: int, away: int) -> str:
    return "home" if home > away else "away" if away > home else "draw"


def _double_chance(selection: str) -> set[str]:
    aliases = {"1x": {"home", "draw"}, "12": {"home", "away"}, "x2": {"draw", "away"}}
    if selection.lower() in aliases:
        return aliases[selection.lower()]
    parts = {p for p in selection.replace("-", "_").split("_") if p}
    if len(parts) != 2 or not parts <= {"home", "draw", "away"}:
        raise UnsettleableSelection(selection)
    return parts


def _over_under(value: int, line_e2: int, selection: str) -> Outcome:
    over = over_outcome(value, line_e2)
    if selection == "over":
        return over
    if selection == "under":
        return _flip(over)
    raise UnsettleableSelection(selection)


def _score_pair(selection: str) -> tuple[int, int]:
    home, sep, away = selection.partition("-")
    if not sep or not home.isdigit() or not away.isdigit():
        raise UnsettleableSelection(selection)
    return int(home), int(away)


def selection_outcome(
    market_type: str, line_e2: int, side: str, selection: str, score: FinalScore
) -> Outcome:
    """How a selection ends given the final score. Abandoned or cancelled fixtures void."""
    if score.status != "COMPLETED":
        return Outcome.VOID
    home, away = score.home, score.away
    games_home = sum(score.set_games[0::2])
    games_away = sum(score.set_games[1::2])
    if market_type in ("MATCH_RESULT", "MATCH_WINNER", "MONEYLINE"):
        if selection not in ("home", "draw", "away"):
            raise UnsettleableSelection(selection)
        winner = _winner(home, away)
        if market_type != "MATCH_RESULT" and winner == "draw":
            return Outcome.VOID
        return Outcome.WIN if selection == winner else Outcome.LOSE
    if market_type == "DRAW_NO_BET":
        if selection not in ("home", "away"):
            raise UnsettleableSelection(selection)
        winner = _winner(home, away)
        if winner == "draw":
            return Outcome.VOID
        return Outcome.WIN if selection == winner else Outcome.LOSE
    if market_type == "DOUBLE_CHANCE":
        return Outcome.WIN if _winner(home, away) in _double_chance(selection) else Outcome.LOSE
    if market_type in ("TOTAL_GOALS", "TOTAL_POINTS"):
        return _over_under(home + away, line_e2, selection)
    if market_type == "TOTAL_GAMES":
        return _over_under(games_home + games_away, line_e2, selection)
    if market_type == "TEAM_TOTAL_GOALS":
        if side not in ("HOME", "AWAY"):
            raise UnsettleableSelection(f"team total without a side: {selection}")
        return _over_under(home if side == "HOME" else away, line_e2, selection)
    if market_type == "BOTH_TEAMS_TO_SCORE":
        both = home > 0 and away > 0
        if selection not in ("yes", "no"):
            raise UnsettleableSelection(selection)
        return Outcome.WIN if both == (selection == "yes") else Outcome.LOSE
    if market_type in ("ASIAN_HANDICAP", "POINT_SPREAD"):
        return handicap_outcome(home, away, line_e2, selection)
    if market_type == "GAMES_HANDICAP":
        return handicap_outcome(games_home, games_away, line_e2, selection)
    if market_type in ("CORRECT_SCORE", "SET_BETTING"):
        return Outcome.WIN if _score_pair(selection) == (home, away) else Outcome.LOSE
    raise UnsettleableSelection(f"market type {market_type or '(unknown)'}")
