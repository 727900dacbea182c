"""Period and elapsed time, shared by the clocked sports (football, basketball)."""

from __future__ import annotations

from betmesh.common.v1 import game_state_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import InvalidArgument


def advance(state: game_state_pb2.GameState, event: me.MatchEvent, max_period: int | None) -> None:
    """Updates `state` (a copy the caller owns) for the event's period and clock."""
    if event.type == me.MATCH_EVENT_TYPE_MATCH_STARTED:
        state.period = 1
    elif event.type == me.MATCH_EVENT_TYPE_PERIOD_STARTED:
        # Feeds that do not number periods just say "the next one".
        period = event.period or state.period + 1
        if period < state.period:
            raise InvalidArgument(
                "PERIOD_BACKWARDS",
                f"period {period} started while period {state.period} is under way",
                {"period": str(period), "current_period": str(state.period)},
            )
        if max_period is not None and period > max_period:
            raise InvalidArgument(
                "INVALID_PERIOD",
                f"period {period} is beyond the last possible period ({max_period})",
                {"period": str(period)},
            )
        state.period = period
    # Zero means "not reported"; a reported clock may also go back (feeds correct themselves).
    if event.elapsed_seconds:
        state.elapsed_seconds = event.elapsed_seconds
