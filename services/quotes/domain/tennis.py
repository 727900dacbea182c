"""Tennis: the hierarchical Markov model, point -> game -> tiebreak -> set -> match.

Exact dynamic programming (no simulation) from each player's probability of winning a point on
their own serve, which is assumed constant through the match (Barnett & Clarke 2005; Newton &
Keller 2005):
- game: closed form, deuce resolved as p^2 / (p^2 + q^2);
- tiebreak: a DP over points with the serve order A, B, B, A, A, ...; from a tie at
  (N-1, N-1) every pair of points has one serve each, so the winner is a / (a + b) with
  a = pa (1 - pb), b = (1 - pa) pb;
- set: a DP over games with alternating service, a tiebreak at `tiebreak_at_games` all or
  advantage play (win by two games) when it is 0;
- match: a DP over sets that also carries the distributions of total games and of the games
  margin, and who serves first in the next set (the player who received first in the last game
  of the previous set, so it depends on the parity of that set's games, a tiebreak counting one).

Advantage sets are unbounded: the DP follows them to `ADVANTAGE_CAP` games all; the tail beyond
(a geometric series whose winner is a / (a + b) in closed form, a and b the chances of winning
both games of a service pair) is placed at the cap. Match-winner and set-betting probabilities
are therefore exact; only total-games mass beyond 30-30 in one set is lumped at that score.

Serve probabilities of a matchup (documented formula, Barnett & Clarke's additive model):
    p_AB = s_A - (r_B - r_avg)
where s_A is A's serve-point win and r_B B's return-point win (each against an average
opponent) and r_avg the average return-point win of the snapshot's players: A's serve loses
exactly as many points to B as B's return is better than average. Clamped to [0.01, 0.99].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from betmesh.common.v1 import market_pb2, sport_pb2
from numpy.typing import NDArray

from services.quotes.domain.markets import (
    MarketProbabilities,
    Outcomes,
    SelectionProbability,
    centre_line_e2,
)

Array = NDArray[np.float64]
ADVANTAGE_CAP = 30
SET_GAMES = 6
MIN_POINT, MAX_POINT = 0.01, 0.99
LINE_OFFSETS_E2 = (-200, -100, 0, 100, 200)

MARKET_TYPES = (
    market_pb2.MARKET_TYPE_MATCH_WINNER,
    market_pb2.MARKET_TYPE_SET_BETTING,
    market_pb2.MARKET_TYPE_TOTAL_GAMES,
    market_pb2.MARKET_TYPE_GAMES_HANDICAP,
)


@dataclass(frozen=True)
class TennisRules:
    best_of_sets: int  # 3 or 5
    tiebreak_at_games: int  # 0: advantage sets
    final_set_tiebreak: bool
    final_set_tiebreak_points: int  # 7 or 10


@dataclass(frozen=True)
class MatchDistribution:
    """Everything the markets need, A being the first-named (home) player."""

    win: float
    set_scores: dict[tuple[int, int], float]  # (sets A, sets B) -> probability
    total_games: list[float]  # index = total games
    margin_offset: int
    games_margin: list[float]  # index - margin_offset = games A - games B


def matchup_serve_probability(serve: float, opponent_return: float, average_return: float) -> float:
    p = serve - (opponent_return - average_return)
    return min(MAX_POINT, max(MIN_POINT, p))


def game_win(p: float) -> float:
    """P(the server wins a game), p = P(the server wins a point)."""
    q = 1.0 - p
    deuce = p * p / (p * p + q * q)
    return p**4 * (1.0 + 4.0 * q + 10.0 * q * q) + 20.0 * p**3 * q**3 * deuce


def tiebreak_win(pa: float, pb: float, points: int) -> float:
    """P(A wins a tiebreak to `points`, A serving first); pa, pb: each one's serve-point win."""
    prob = {(0, 0): 1.0}
    win = 0.0
    tie_a = pa * (1.0 - pb)
    tie_b = (1.0 - pa) * pb
    last = points - 1
    for total in range(0, 2 * last + 1):
        # Point k (0-based) is A's for k = 0 and then in pairs: B B A A B B ...
        a_serves = total == 0 or ((total - 1) // 2) % 2 == 1
        p = pa if a_serves else 1.0 - pb
        for i in range(max(0, total - last), min(total, last) + 1):
            j = total - i
            mass = prob.pop((i, j), 0.0)
            if not mass:
                continue
            if i == last and j == last:
                win += mass * tie_a / (tie_a + tie_b)
                continue
            if i + 1 == points:
                win += mass * p
            else:
                prob[(i + 1, j)] = prob.get((i + 1, j), 0.0) + mass * p
            if j + 1 != points:
                prob[(i, j + 1)] = prob.get((i, j + 1), 0.0) + mass * (1.0 - p)
    return win


SetOutcome = tuple[int, int, float]  # games A, games B, probability


def set_distribution(
    hold_a: float,
    hold_b: float,
    tb_a_first: float,
    tb_b_first: float,
    tiebreak_at: int,
    a_first: bool,
    games: tuple[int, int] = (0, 0),
    first_game_a: float | None = None,
) -> list[SetOutcome]:
    """Final game scores of one set. hold_x: P(x holds serve); tb_x_first: P(A wins the
    tiebreak when x serves its first point); a_first: A served the set's first game. In play,
    the set is under way at `games` and A wins the game being played with first_game_a."""
    ga, gb = games
    cap = tiebreak_at if tiebreak_at else max(ADVANTAGE_CAP, max(ga, gb) + 1)
    prob = {(ga, gb): 1.0}
    out: dict[tuple[int, int], float] = {}
    start = ga + gb
    for total in range(start, 2 * cap + 1):
        a_serves = (total % 2 == 0) == a_first
        if total == start and first_game_a is not None:
            p = first_game_a
        else:
            p = hold_a if a_serves else 1.0 - hold_b
        for i in range(max(0, total - cap), min(total, cap) + 1):
            j = total - i
            mass = prob.pop((i, j), 0.0)
            if not mass:
                continue
            if i == cap and j == cap:
                if tiebreak_at:
                    w = tb_a_first if a_serves else tb_b_first
                    out[(cap + 1, cap)] = out.get((cap + 1, cap), 0.0) + mass * w
                    out[(cap, cap + 1)] = out.get((cap, cap + 1), 0.0) + mass * (1.0 - w)
                else:
                    # Each service pair from here: A takes both games, B takes both, or tie.
                    both_a = hold_a * (1.0 - hold_b)
                    both_b = (1.0 - hold_a) * hold_b
                    w = both_a / (both_a + both_b)
                    out[(cap + 2, cap)] = out.get((cap + 2, cap), 0.0) + mass * w
                    out[(cap, cap + 2)] = out.get((cap, cap + 2), 0.0) + mass * (1.0 - w)
                continue
            for (ni, nj), m in (((i + 1, j), mass * p), ((i, j + 1), mass * (1.0 - p))):
                if max(ni, nj) >= SET_GAMES and abs(ni - nj) >= 2:
                    out[(ni, nj)] = out.get((ni, nj), 0.0) + m
                else:
                    prob[(ni, nj)] = prob.get((ni, nj), 0.0) + m
    return [(a, b, m) for (a, b), m in sorted(out.items())]


def set_rules(rules: TennisRules, final: bool) -> tuple[int, int]:
    """A set's tiebreak_at_games (0: advantage) and tiebreak points: the final set's own
    rules when it is the final set."""
    if final:
        tiebreak_at = rules.tiebreak_at_games if rules.final_set_tiebreak else 0
        return tiebreak_at, rules.final_set_tiebreak_points or 7
    return rules.tiebreak_at_games, 7


class MatchSets:
    """One match's sets from their first point (each player's hold, each tiebreak's odds, each
    kind of set's final scores), computed once per pricing."""

    def __init__(self, pa: float, pb: float, rules: TennisRules) -> None:
        self.pa, self.pb, self.rules = pa, pb, rules
        self.hold_a, self.hold_b = game_win(pa), game_win(pb)
        self._tiebreaks: dict[int, tuple[float, float]] = {}
        self._outcomes: dict[tuple[bool, bool], tuple[SetOutcome, ...]] = {}

    def tiebreaks(self, points: int) -> tuple[float, float]:
        """P(A wins a tiebreak to `points`) when A serves its first point, and when B does."""
        if points not in self._tiebreaks:
            self._tiebreaks[points] = (
                tiebreak_win(self.pa, self.pb, points),
                1.0 - tiebreak_win(self.pb, self.pa, points),
            )
        return self._tiebreaks[points]

    def outcomes(self, a_first: bool, final: bool) -> tuple[SetOutcome, ...]:
        """Final game scores of a set A serves first in (or not), the final set (or not)."""
        key = (a_first, final)
        if key not in self._outcomes:
            tiebreak_at, points = set_rules(self.rules, final)
            tb_a, tb_b = self.tiebreaks(points) if tiebreak_at else (0.0, 0.0)
            self._outcomes[key] = tuple(
                set_distribution(self.hold_a, self.hold_b, tb_a, tb_b, tiebreak_at, a_first)
            )
        return self._outcomes[key]


def match_distribution(pa: float, pb: float, rules: TennisRules) -> MatchDistribution:
    advantage = not rules.tiebreak_at_games or not rules.final_set_tiebreak
    max_set = 2 * ADVANTAGE_CAP + 2 if advantage else 2 * rules.tiebreak_at_games + 1
    length = rules.best_of_sets * max_set + 1
    offset = rules.best_of_sets * max_set
    # State: (sets A, sets B, A serves first in the next set) -> (totals, margins), two
    # distributions each summing to the state's mass. Who serves first is a coin toss.
    start_totals = np.zeros(length)
    start_totals[0] = 0.5
    start_margins = np.zeros(2 * offset + 1)
    start_margins[offset] = 0.5
    states: dict[tuple[int, int, bool], tuple[Array, Array]] = {
        (0, 0, True): (start_totals, start_margins),
        (0, 0, False): (start_totals.copy(), start_margins.copy()),
    }
    return play_sets(
        MatchSets(pa, pb, rules), states, 0, np.zeros(length), np.zeros(2 * offset + 1), {}
    )


def play_sets(
    sets: MatchSets,
    states: dict[tuple[int, int, bool], tuple[Array, Array]],
    played_sets: int,
    totals_out: Array,
    margins_out: Array,
    set_scores: dict[tuple[int, int], float],
) -> MatchDistribution:
    """The rest of the match from whole sets: each state (sets A, sets B, A serves first in the
    next set), holding the distributions of total games and of the games margin so far (the
    margin's index offset by half its length), played set by set from `played_sets` sets until
    one player has won; what ends the match lands in totals_out, margins_out and set_scores."""
    need = sets.rules.best_of_sets // 2 + 1
    offset = (len(margins_out) - 1) // 2
    for played in range(played_sets, 2 * need - 1):
        for sa in range(0, need):
            sb = played - sa
            if not 0 <= sb < need:
                continue
            final = sa == sb == need - 1
            for a_first in (True, False):
                state = states.pop((sa, sb, a_first), None)
                if state is None:
                    continue
                totals, margins = state
                mass = float(totals.sum())
                for ga, gb, m in sets.outcomes(a_first, final):
                    games = ga + gb
                    nsa, nsb = (sa + 1, sb) if ga > gb else (sa, sb + 1)
                    next_a_first = a_first if games % 2 == 0 else not a_first
                    if need in (nsa, nsb):
                        key = (nsa, nsb)
                        tgt_t, tgt_m = totals_out, margins_out
                        set_scores[key] = set_scores.get(key, 0.0) + m * mass
                    else:
                        nxt = states.get((nsa, nsb, next_a_first))
                        if nxt is None:
                            nxt = (np.zeros(len(totals_out)), np.zeros(len(margins_out)))
                            states[(nsa, nsb, next_a_first)] = nxt
                        tgt_t, tgt_m = nxt
                    _add_shifted(tgt_t, totals, games, m)
                    _add_shifted(tgt_m, margins, ga - gb, m)
    win = sum(v for (a, b), v in set_scores.items() if a > b)
    return MatchDistribution(win, set_scores, totals_out.tolist(), offset, margins_out.tolist())


def _add_shifted(target: Array, source: Array, shift: int, weight: float) -> None:
    if shift >= 0:
        target[shift:] += source[: len(source) - shift] * weight
    else:
        target[:shift] += source[-shift:] * weight


def _line_name(line_e2: int) -> str:
    sign = "+" if line_e2 > 0 else ""
    return f"{sign}{line_e2 / 100:g}"


def _line_selections(
    first: tuple[str, str], second: tuple[str, str], win: float, lose: float, line_e2: int
) -> list[SelectionProbability]:
    """A line's two selections (id, name): the first wins with `win`, the second with `lose`;
    on a whole line what neither wins is a push, which voids both."""
    push = 1.0 - win - lose if line_e2 % 100 == 0 else 0.0
    return [
        SelectionProbability(
            *first, Outcomes(win=win, push=push, lose=lose).effective_probability()
        ),
        SelectionProbability(
            *second, Outcomes(win=lose, push=push, lose=win).effective_probability()
        ),
    ]


def tennis_markets(
    dist: MatchDistribution,
    home_name: str,
    away_name: str,
    best_of_sets: int,
    wanted: Sequence[market_pb2.MarketType.ValueType],
) -> list[MarketProbabilities]:
    markets: list[MarketProbabilities] = []
    if market_pb2.MARKET_TYPE_MATCH_WINNER in wanted:
        markets.append(
            MarketProbabilities(
                market_pb2.MARKET_TYPE_MATCH_WINNER,
                "Match winner",
                [
                    SelectionProbability("home", home_name, dist.win),
                    SelectionProbability("away", away_name, 1.0 - dist.win),
                ],
            )
        )
    if market_pb2.MARKET_TYPE_SET_BETTING in wanted:
        need = best_of_sets // 2 + 1
        scores = [(need, b) for b in range(need)] + [(a, need) for a in range(need)]
        markets.append(
            MarketProbabilities(
                market_pb2.MARKET_TYPE_SET_BETTING,
                "Set betting",
                [
                    SelectionProbability(
                        f"{a}-{b}",
                        f"{home_name if a > b else away_name} {max(a, b)}-{min(a, b)}",
                        dist.set_scores.get((a, b), 0.0),
                    )
                    for a, b in scores
                ],
            )
        )
    if market_pb2.MARKET_TYPE_TOTAL_GAMES in wanted:
        expected = sum(i * m for i, m in enumerate(dist.total_games))
        centre = centre_line_e2(expected)
        for line in (centre + d for d in LINE_OFFSETS_E2):
            over = sum(m for i, m in enumerate(dist.total_games) if i * 100 > line)
            under = sum(m for i, m in enumerate(dist.total_games) if i * 100 < line)
            markets.append(
                MarketProbabilities(
                    market_pb2.MARKET_TYPE_TOTAL_GAMES,
                    f"Total games {line / 100:g}",
                    _line_selections(
                        ("over", f"Over {line / 100:g}"),
                        ("under", f"Under {line / 100:g}"),
                        over,
                        under,
                        line,
                    ),
                    line_e2=line,
                )
            )
    if market_pb2.MARKET_TYPE_GAMES_HANDICAP in wanted:
        margins = [(i - dist.margin_offset, m) for i, m in enumerate(dist.games_margin) if m]
        expected = sum(k * m for k, m in margins)
        centre = centre_line_e2(-expected)
        for line in (centre + d for d in LINE_OFFSETS_E2):
            # The line applies to the home player: home covers when margin + line > 0.
            home = sum(m for k, m in margins if k * 100 + line > 0)
            away = sum(m for k, m in margins if k * 100 + line < 0)
            markets.append(
                MarketProbabilities(
                    market_pb2.MARKET_TYPE_GAMES_HANDICAP,
                    f"Games handicap {home_name} {_line_name(line)}",
                    _line_selections(
                        ("home", f"{home_name} {_line_name(line)}"),
                        ("away", f"{away_name} {_line_name(-line)}"),
                        home,
                        away,
                        line,
                    ),
                    line_e2=line,
                    side=sport_pb2.SIDE_HOME,
                )
            )
    return markets
