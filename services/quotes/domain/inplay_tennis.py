"""In-play tennis: the pre-match Markov chain, conditioned on the score and the server.

From `GameState.tennis` (sets so far, points in the current game or tiebreak, who serves next)
the distribution of the rest of the match is computed exactly, with the same point-on-serve
probabilities and rules as pre-match (`tennis.py`):
- the current game from its point score (deuce resolved in closed form), or the current
  tiebreak from its point score and the serve order (first point, then two each);
- the current set from its game score, the current game first, then games on alternating
  serve as in `tennis.set_distribution`;
- the remaining sets as in `tennis.match_distribution`, starting from the set score and the
  player who serves first in the next set, with the completed games already counted in the
  total-games and games-margin distributions.

Sets are read as the live service scores them: every set but the last is complete, a set is
won at 6 games with two clear or 7-6. Before the first point (no set yet) the price is the
pre-match one (the caller keeps the pre-match distribution, a coin toss for the first server).
"""

from __future__ import annotations

import functools

import numpy as np
from betmesh.common.v1 import game_state_pb2

from services.quotes.domain.tennis import (
    ADVANTAGE_CAP,
    SET_GAMES,
    MatchDistribution,
    MatchSets,
    SetOutcome,
    TennisRules,
    play_sets,
    set_distribution,
    set_rules,
)

Array = np.ndarray


def game_from(p: float, server: int, receiver: int) -> float:
    """P(the server wins the game) from its point score; p = P(the server wins a point)."""
    q = 1.0 - p
    deuce = p * p / (p * p + q * q)

    @functools.cache
    def win(i: int, j: int) -> float:
        if i >= 4 and i - j >= 2:
            return 1.0
        if j >= 4 and j - i >= 2:
            return 0.0
        if i >= 3 and j >= 3:
            if i == j:
                return deuce
            return p + q * deuce if i > j else p * deuce
        return p * win(i + 1, j) + q * win(i, j + 1)

    return win(server, receiver)


def _first_server_serves(point_index: int) -> bool:
    # Tiebreak serve order: point 0 by the first server, then two points each.
    return point_index == 0 or ((point_index - 1) // 2) % 2 == 1


def tiebreak_from(
    pa: float, pb: float, a_points: int, b_points: int, a_first: bool, points: int
) -> float:
    """P(A wins the tiebreak to `points` from a_points-b_points), A serving its first point
    when a_first. Beyond (points-1)-all every two points are one serve each."""
    last = points - 1
    tie_a = pa * (1.0 - pb)
    tie_b = (1.0 - pa) * pb
    tie = tie_a / (tie_a + tie_b)

    def a_wins_point(k: int) -> float:
        a_serves = _first_server_serves(k) == a_first
        return pa if a_serves else 1.0 - pb

    @functools.cache
    def win(i: int, j: int) -> float:
        if i >= points and i - j >= 2:
            return 1.0
        if j >= points and j - i >= 2:
            return 0.0
        p = a_wins_point(i + j)
        if i >= last and j >= last:
            if i == j:
                return tie
            return p + (1.0 - p) * tie if i > j else p * tie
        return p * win(i + 1, j) + (1.0 - p) * win(i, j + 1)

    return win(a_points, b_points)


def set_won(home: int, away: int) -> int:
    """1 home, -1 away, 0 still being played (the live service's rule)."""
    for sign, mine, theirs in ((1, home, away), (-1, away, home)):
        if (mine >= SET_GAMES and mine - theirs >= 2) or (
            mine == SET_GAMES + 1 and theirs == SET_GAMES
        ):
            return sign
    return 0


def set_from(
    ga: int,
    gb: int,
    first_game_a: float,
    hold_a: float,
    hold_b: float,
    tb_a_first: float,
    tb_b_first: float,
    tiebreak_at: int,
    a_first_set: bool,
) -> list[SetOutcome]:
    """Final game scores of a set under way at ga-gb, the current game won by A with
    probability first_game_a; a_first_set: A served the set's first game."""
    return set_distribution(
        hold_a, hold_b, tb_a_first, tb_b_first, tiebreak_at, a_first_set, (ga, gb), first_game_a
    )


def live_distribution(
    pa: float, pb: float, rules: TennisRules, state: game_state_pb2.TennisState
) -> MatchDistribution | None:
    """The match distribution from the current score; None before the first point is played
    (no set yet): the pre-match distribution applies then."""
    if not state.sets:
        return None
    need = rules.best_of_sets // 2 + 1
    sets = MatchSets(pa, pb, rules)
    sa = sb = games_done = margin_done = 0
    for done in state.sets[:-1]:
        won = set_won(done.home_games, done.away_games)
        sa, sb = sa + (won > 0), sb + (won < 0)
        games_done += done.home_games + done.away_games
        margin_done += done.home_games - done.away_games
    current = state.sets[-1]
    ga, gb = current.home_games, current.away_games

    advantage = not rules.tiebreak_at_games or not rules.final_set_tiebreak
    max_set = 2 * ADVANTAGE_CAP + 2 if advantage else 2 * rules.tiebreak_at_games + 1
    offset = rules.best_of_sets * max_set + games_done + ga + gb + 2
    length = offset + 1
    totals_out = np.zeros(length)
    margins_out = np.zeros(2 * offset + 1)
    set_scores: dict[tuple[int, int], float] = {}
    states: dict[tuple[int, int, bool], tuple[Array, Array]] = {}

    def land(nsa: int, nsb: int, next_a_first: bool, games: int, margin: int, mass: float) -> None:
        if need in (nsa, nsb):
            set_scores[(nsa, nsb)] = set_scores.get((nsa, nsb), 0.0) + mass
            totals_out[games] += mass
            margins_out[offset + margin] += mass
            return
        key = (nsa, nsb, next_a_first)
        if key not in states:
            states[key] = (np.zeros(length), np.zeros(2 * offset + 1))
        totals, margins = states[key]
        totals[games] += mass
        margins[offset + margin] += mass

    won_current = set_won(ga, gb)
    if won_current or need in (sa, sb):
        # The last point of the match has been played: the result is certain.
        sa, sb = sa + (won_current > 0), sb + (won_current < 0)
        land(sa, sb, True, games_done + ga + gb, margin_done + ga - gb, 1.0)
    else:
        final = sa == sb == need - 1
        tiebreak_at, points = set_rules(rules, final)
        a_serves_next = state.home_serving
        if state.in_tiebreak:
            played_points = state.home_points + state.away_points
            tb_a_first = a_serves_next if _first_server_serves(played_points) else not a_serves_next
            w = tiebreak_from(pa, pb, state.home_points, state.away_points, tb_a_first, points)
            outcomes = [(ga + 1, gb, w), (ga, gb + 1, 1.0 - w)]
            a_first_set = tb_a_first if (ga + gb) % 2 == 0 else not tb_a_first
        else:
            if a_serves_next:
                first_game_a = game_from(pa, state.home_points, state.away_points)
            else:
                first_game_a = 1.0 - game_from(pb, state.away_points, state.home_points)
            a_first_set = a_serves_next if (ga + gb) % 2 == 0 else not a_serves_next
            tb_a, tb_b = sets.tiebreaks(points) if tiebreak_at else (0.0, 0.0)
            outcomes = set_from(
                ga, gb, first_game_a, sets.hold_a, sets.hold_b, tb_a, tb_b, tiebreak_at, a_first_set
            )
        for fa, fb, m in outcomes:
            games = fa + fb
            next_a_first = a_first_set if games % 2 == 0 else not a_first_set
            land(
                sa + (fa > fb),
                sb + (fb > fa),
                next_a_first,
                games_done + games,
                margin_done + fa - fb,
                m,
            )
    return play_sets(sets, states, sa + sb, totals_out, margins_out, set_scores)
