"""Basketball: points of 1, 2 or 3, quarters and overtimes, the game clock."""

from __future__ import annotations

from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import InvalidArgument
from services.live.domain import clock

# The game clock by the fixture's rules (the contract's BasketballRules, which the fixture rides
# on the first event): the NBA plays 4 x 12 minutes, FIBA 4 x 10, both overtimes of 5. A fixture
# naming no rules is an NBA one (the shipped data and the demo are NBA teams). Quotes prices on
# the regulation this puts in the state (services/quotes/domain/basketball_rules.py).
REGULATION_BY_RULES = {
    sport_pb2.BASKETBALL_RULES_UNSPECIFIED: 4 * 12 * 60,
    sport_pb2.BASKETBALL_RULES_NBA: 4 * 12 * 60,
    sport_pb2.BASKETBALL_RULES_FIBA: 4 * 10 * 60,
}
REGULATION_SECONDS = REGULATION_BY_RULES[sport_pb2.BASKETBALL_RULES_UNSPECIFIED]

SIDE_REQUIRED = frozenset({me.MATCH_EVENT_TYPE_POINTS_SCORED})
EVENT_TYPES = SIDE_REQUIRED


def initial(
    rules: sport_pb2.BasketballRules.ValueType = sport_pb2.BASKETBALL_RULES_UNSPECIFIED,
) -> game_state_pb2.BasketballState:
    regulation = REGULATION_BY_RULES.get(rules)
    if regulation is None:
        raise InvalidArgument(
            "UNKNOWN_BASKETBALL_RULES",
            f"fixture.basketball_rules {rules} is not a known rule set",
            {"basketball_rules": str(rules)},
        )
    return game_state_pb2.BasketballState(regulation_seconds=regulation)


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
