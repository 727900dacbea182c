"""Football: goals (and VAR cancellations), red cards, halves, elapsed time."""

from __future__ import annotations

from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import InvalidArgument
from services.live.domain import clock

REGULATION_SECONDS = 90 * 60
# Two halves, two halves of extra time, the penalty shoot-out.
MAX_PERIOD = 5

SIDE_REQUIRED = frozenset(
    {
        me.MATCH_EVENT_TYPE_GOAL,
        me.MATCH_EVENT_TYPE_GOAL_CANCELLED,
        me.MATCH_EVENT_TYPE_YELLOW_CARD,
        me.MATCH_EVENT_TYPE_RED_CARD,
        me.MATCH_EVENT_TYPE_PENALTY_AWARDED,
        me.MATCH_EVENT_TYPE_PENALTY_MISSED,
        me.MATCH_EVENT_TYPE_DANGEROUS_ATTACK,
    }
)
EVENT_TYPES = SIDE_REQUIRED


def initial() -> game_state_pb2.FootballState:
    return game_state_pb2.FootballState(regulation_seconds=REGULATION_SECONDS)


def apply(state: game_state_pb2.GameState, event: me.MatchEvent) -> None:
    """Updates `state` (a copy the caller owns) for a validated football event."""
    clock.advance(state, event, MAX_PERIOD)
    score = state.football
    home = event.side == sport_pb2.SIDE_HOME
    if event.type == me.MATCH_EVENT_TYPE_GOAL:
        if home:
            score.home_goals += 1
        else:
            score.away_goals += 1
    elif event.type == me.MATCH_EVENT_TYPE_GOAL_CANCELLED:
        goals = score.home_goals if home else score.away_goals
        if goals == 0:
            raise InvalidArgument(
                "NO_GOAL_TO_CANCEL",
                f"GOAL_CANCELLED for the {'home' if home else 'away'} side, which has no goal",
                {"side": sport_pb2.Side.Name(event.side)},
            )
        if home:
            score.home_goals -= 1
        else:
            score.away_goals -= 1
    elif event.type == me.MATCH_EVENT_TYPE_RED_CARD:
        if home:
            score.home_red_cards += 1
        else:
            score.away_red_cards += 1
