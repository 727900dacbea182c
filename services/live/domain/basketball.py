"""Basketball: points of 1, 2 or 3, quarters and overtimes, the game clock."""

from __future__ import annotations

from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import InvalidArgument
from services.live.domain import clock

# NBA (4 x 12 min, overtimes of 5): the shipped data and the demo are NBA teams. FIBA is
# 4 x 10 (2400 s); nothing in a match event names the competition yet.
REGULATION_SECONDS = 4 * 12 * 60

SIDE_REQUIRED = frozenset({me.MATCH_EVENT_TYPE_POINTS_SCORED})
EVENT_TYPES = SIDE_REQUIRED


def initial() -> game_state_pb2.BasketballState:
    return game_state_pb2.BasketballState(regulation_seconds=REGULATION_SECONDS)


def validate(event: me.MatchEvent) -> None:
    if event.type == me.MATCH_EVENT_TYPE_POINTS_SCORED and event.points not in (1, 2, 3):
        raise InvalidArgument(
            "INVALID_POINTS",
            f"POINTS_SCORED needs event.points of 1, 2 or 3, not {event.points}",
            {"points": str(event.points)},
        )


def apply(state: game_state_pb2.GameState, event: me.MatchEvent) -> None:
    """Updates `state` (a copy the caller owns) for a validated basketball event."""
    # Overtimes have no limit.
    clock.advance(state, event, None)
    if event.type == me.MATCH_EVENT_TYPE_POINTS_SCORED:
        if event.side == sport_pb2.SIDE_HOME:
            state.basketball.home_points += event.points
        else:
            state.basketball.away_points += event.points
