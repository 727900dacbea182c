"""Tennis scoring: points -> games (deuce, advantage) -> sets (tie-break at 6-6) -> match.

Points are counted 0, 1, 2, 3, ... (not 15/30/40). Deuce is 3-3 and advantage 4-3; when the
player behind wins the next point the game goes back to 3-3, so the counts stay small and equal
scores always mean the same thing. Every set, the last one included, ends in a 7-point
tie-break (two clear) at 6-6. The serve changes after every game; in a tie-break the first
server serves one point, then the players serve two points each; the player who received first
in the tie-break serves first in the next set.
"""

from __future__ import annotations

from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import InvalidArgument

SIDE_REQUIRED = frozenset({me.MATCH_EVENT_TYPE_POINT_WON})
EVENT_TYPES = SIDE_REQUIRED

GAME_POINTS = 4
TIEBREAK_POINTS = 7
SET_GAMES = 6


def initial() -> game_state_pb2.TennisState:
    return game_state_pb2.TennisState(home_serving=True)


def set_winner(score: game_state_pb2.TennisSetScore) -> int | None:
    """The side that won this set, or None while it is being played."""
    home, away = score.home_games, score.away_games
    for side, mine, theirs in (
        (sport_pb2.SIDE_HOME, home, away),
        (sport_pb2.SIDE_AWAY, away, home),
    ):
        if (mine >= SET_GAMES and mine - theirs >= 2) or (
            mine == SET_GAMES + 1 and theirs == SET_GAMES
        ):
            return side
    return None


def sets_won(tennis: game_state_pb2.TennisState) -> tuple[int, int]:
    winners = [set_winner(s) for s in tennis.sets]
    return winners.count(sport_pb2.SIDE_HOME), winners.count(sport_pb2.SIDE_AWAY)


def match_winner(tennis: game_state_pb2.TennisState, best_of_sets: int) -> int | None:
    needed = best_of_sets // 2 + 1
    home, away = sets_won(tennis)
    if home >= needed:
        return sport_pb2.SIDE_HOME
    if away >= needed:
        return sport_pb2.SIDE_AWAY
    return None


def _tiebreak_first_server_home(tennis: game_state_pb2.TennisState) -> bool:
    # Point k (from 1) is served by the first server when (k // 2) is even: 1, 4, 5, 8, 9, ...
    next_point = tennis.home_points + tennis.away_points + 1
    first_serves_it = (next_point // 2) % 2 == 0
    return tennis.home_serving if first_serves_it else not tennis.home_serving


def apply(state: game_state_pb2.GameState, event: me.MatchEvent, best_of_sets: int) -> None:
    """Updates `state` (a copy the caller owns) for a validated tennis event."""
    tennis = state.tennis
    if event.type == me.MATCH_EVENT_TYPE_MATCH_STARTED:
        del tennis.sets[:]
        tennis.sets.add()
        # The side on MATCH_STARTED, when given, is the first server.
        tennis.home_serving = event.side != sport_pb2.SIDE_AWAY
        state.period = 1
    elif event.type == me.MATCH_EVENT_TYPE_POINT_WON:
        _point_won(state, event.side == sport_pb2.SIDE_HOME, best_of_sets)


def _point_won(state: game_state_pb2.GameState, home: bool, best_of_sets: int) -> None:
    tennis = state.tennis
    if match_winner(tennis, best_of_sets) is not None:
        raise InvalidArgument(
            "MATCH_DECIDED", "POINT_WON after the last point of the match; send MATCH_ENDED"
        )
    first_server_home = _tiebreak_first_server_home(tennis) if tennis.in_tiebreak else False
    if home:
        tennis.home_points += 1
    else:
        tennis.away_points += 1
    mine, theirs = (
        (tennis.home_points, tennis.away_points)
        if home
        else (tennis.away_points, tennis.home_points)
    )
    needed = TIEBREAK_POINTS if tennis.in_tiebreak else GAME_POINTS
    if mine >= needed and mine - theirs >= 2:
        _game_won(state, home, best_of_sets, first_server_home)
    elif tennis.in_tiebreak:
        if (tennis.home_points + tennis.away_points) % 2 == 1:
            tennis.home_serving = not tennis.home_serving
    elif tennis.home_points == tennis.away_points == GAME_POINTS:
        tennis.home_points = tennis.away_points = GAME_POINTS - 1


def _game_won(
    state: game_state_pb2.GameState, home: bool, best_of_sets: int, tiebreak_first_home: bool
) -> None:
    tennis = state.tennis
    current = tennis.sets[-1]
    if home:
        current.home_games += 1
    else:
        current.away_games += 1
    if tennis.in_tiebreak:
        tennis.home_serving = not tiebreak_first_home
    else:
        tennis.home_serving = not tennis.home_serving
    tennis.home_points = tennis.away_points = 0
    tennis.in_tiebreak = current.home_games == current.away_games == SET_GAMES
    if set_winner(current) is not None and match_winner(tennis, best_of_sets) is None:
        tennis.sets.add()
        state.period = len(tennis.sets)
