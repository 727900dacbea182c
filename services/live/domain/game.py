"""Game state per fixture: pure functions `(LiveGame, MatchEvent) -> LiveGame`.

The wire state is a `betmesh.common.v1.GameState`; what it cannot express (whether the match has
started or ended, the number of sets in a tennis match) travels beside it in `LiveGame`.
Events are validated in two steps: `validate_event` checks what an event says on its own (run
before sequencing, so a malformed event is never held), `apply_event` checks that it fits the
game as it stands when its turn comes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from service_runtime.limits import check_within_contract
from services.live.domain import basketball, football, tennis

# Plain ints: enum values arrive from the wire and from storage, and may be unknown numbers.
Sport = int
EventType = int

MAX_FIXTURE_ID_LENGTH = 200
DEFAULT_BEST_OF_SETS = 3

_ANY_SPORT = frozenset(
    {
        me.MATCH_EVENT_TYPE_MATCH_STARTED,
        me.MATCH_EVENT_TYPE_MATCH_ENDED,
        me.MATCH_EVENT_TYPE_MATCH_ABANDONED,
    }
)
_CLOCKED = frozenset(
    {
        me.MATCH_EVENT_TYPE_PERIOD_STARTED,
        me.MATCH_EVENT_TYPE_PERIOD_ENDED,
        me.MATCH_EVENT_TYPE_CLOCK,
    }
)
EVENT_TYPES: dict[Sport, frozenset[EventType]] = {
    sport_pb2.SPORT_FOOTBALL: _ANY_SPORT | _CLOCKED | football.EVENT_TYPES,
    sport_pb2.SPORT_BASKETBALL: _ANY_SPORT | _CLOCKED | basketball.EVENT_TYPES,
    # Tennis has no clock, and its periods (sets) follow from the points.
    sport_pb2.SPORT_TENNIS: _ANY_SPORT | tennis.EVENT_TYPES,
}
SIDE_REQUIRED = football.SIDE_REQUIRED | basketball.SIDE_REQUIRED | tennis.SIDE_REQUIRED


class MatchStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    LIVE = "LIVE"
    ENDED = "ENDED"
    ABANDONED = "ABANDONED"


@dataclass(frozen=True)
class LiveGame:
    fixture_id: str
    sport: Sport
    status: MatchStatus
    # Tennis only; the other sports ignore it.
    best_of_sets: int
    # Never mutated in place: every change works on a copy, so a LiveGame can be shared.
    state: game_state_pb2.GameState

    @property
    def applied_sequence(self) -> int:
        return self.state.event_sequence

    @property
    def finished(self) -> bool:
        return self.status in (MatchStatus.ENDED, MatchStatus.ABANDONED)


def sport_name(sport: Sport) -> str:
    value = sport_pb2.Sport.DESCRIPTOR.values_by_number.get(sport)
    return value.name if value is not None else str(sport)


def type_name(event_type: EventType) -> str:
    value = me.MatchEventType.DESCRIPTOR.values_by_number.get(event_type)
    return value.name if value is not None else str(event_type)


def new_game(
    fixture_id: str,
    sport: Sport,
    best_of_sets: int = DEFAULT_BEST_OF_SETS,
    basketball_rules: sport_pb2.BasketballRules.ValueType = sport_pb2.BASKETBALL_RULES_UNSPECIFIED,
) -> LiveGame:
    """A fixture before its first event: no sequence applied, not started."""
    state = game_state_pb2.GameState()
    if sport == sport_pb2.SPORT_FOOTBALL:
        state.football.CopyFrom(football.initial())
    elif sport == sport_pb2.SPORT_BASKETBALL:
        state.basketball.CopyFrom(basketball.initial(basketball_rules))
    else:
        state.tennis.CopyFrom(tennis.initial())
    return LiveGame(fixture_id, sport, MatchStatus.NOT_STARTED, best_of_sets, state)


def validate_event(event: me.MatchEvent) -> None:
    """What can be checked from the event alone; raises InvalidArgument with the reason."""
    if not event.fixture_id:
        raise InvalidArgument("FIXTURE_ID_REQUIRED", "event.fixture_id is required")
    if len(event.fixture_id) > MAX_FIXTURE_ID_LENGTH:
        raise InvalidArgument(
            "FIXTURE_ID_TOO_LONG",
            f"event.fixture_id is longer than {MAX_FIXTURE_ID_LENGTH} characters",
        )
    # The contract's pattern (printable ASCII, no space), again here: the id keys Redis state
    # and events every consumer reads, so a NUL or a newline in it must never be stored.
    if not (event.fixture_id.isascii() and event.fixture_id.isprintable()) or (
        " " in event.fixture_id
    ):
        raise InvalidArgument(
            "FIXTURE_ID_INVALID", "event.fixture_id must be printable ASCII without spaces"
        )
    if event.sequence < 1:
        raise InvalidArgument(
            "SEQUENCE_REQUIRED", "event.sequence is required; sequences start at 1"
        )
    if event.sport not in EVENT_TYPES:
        raise InvalidArgument(
            "SPORT_REQUIRED",
            f"event.sport must be football, tennis or basketball, not {sport_name(event.sport)}",
        )
    if event.type == me.MATCH_EVENT_TYPE_UNSPECIFIED:
        raise InvalidArgument("EVENT_TYPE_REQUIRED", "event.type is required")
    if event.type not in EVENT_TYPES[event.sport]:
        raise InvalidArgument(
            "EVENT_TYPE_NOT_VALID_FOR_SPORT",
            f"{type_name(event.type)} is not a {sport_name(event.sport)} event",
            {"event_type": type_name(event.type), "sport": sport_name(event.sport)},
        )
    if event.type in SIDE_REQUIRED and event.side not in (sport_pb2.SIDE_HOME, sport_pb2.SIDE_AWAY):
        raise InvalidArgument(
            "SIDE_REQUIRED",
            f"{type_name(event.type)} needs event.side (home or away)",
            {"event_type": type_name(event.type)},
        )
    if event.sport == sport_pb2.SPORT_BASKETBALL:
        basketball.validate(event)


def check_sport(game: LiveGame, event: me.MatchEvent) -> None:
    if event.sport != game.sport:
        raise InvalidArgument(
            "SPORT_MISMATCH",
            f"fixture {game.fixture_id} is {sport_name(game.sport)}, "
            f"the event says {sport_name(event.sport)}",
            {"fixture_sport": sport_name(game.sport), "event_sport": sport_name(event.sport)},
        )


def check_not_finished(game: LiveGame) -> None:
    if game.finished:
        raise FailedPrecondition(
            "MATCH_ENDED",
            f"fixture {game.fixture_id} is {game.status.value.lower()}; it takes no more events",
            {"fixture_id": game.fixture_id, "status": game.status.value},
        )


def check_operator_can_stop(fixture_id: str, game: LiveGame | None) -> LiveGame:
    """An operator stops (or resumes) only a fixture in play: before kick-off its pre-match
    markets are the gateway's, after the end there is nothing left to stop."""
    if game is None:
        raise NotFound(
            "FIXTURE_NOT_FOUND",
            "no match event has been applied for this fixture",
            {"fixture_id": fixture_id},
        )
    if game.status != MatchStatus.LIVE:
        raise FailedPrecondition(
            "FIXTURE_NOT_LIVE",
            f"the fixture is {game.status.value.lower()}; only live fixtures are suspended here",
            {"fixture_id": fixture_id, "status": game.status.value},
        )
    return game


def apply_event(game: LiveGame, event: me.MatchEvent) -> LiveGame:
    """The game after `event`; the event must be valid (`validate_event`) and next in sequence."""
    check_sport(game, event)
    check_not_finished(game)
    status = game.status
    if event.type == me.MATCH_EVENT_TYPE_MATCH_STARTED:
        if status != MatchStatus.NOT_STARTED:
            raise InvalidArgument(
                "MATCH_ALREADY_STARTED", f"fixture {game.fixture_id} has already started"
            )
        status = MatchStatus.LIVE
    elif event.type == me.MATCH_EVENT_TYPE_MATCH_ABANDONED:
        # A match can be abandoned before it starts (weather, a walkover).
        status = MatchStatus.ABANDONED
    elif status != MatchStatus.LIVE:
        raise InvalidArgument(
            "MATCH_NOT_STARTED",
            f"{type_name(event.type)} before MATCH_STARTED for fixture {game.fixture_id}",
            {"event_type": type_name(event.type)},
        )
    elif event.type == me.MATCH_EVENT_TYPE_MATCH_ENDED:
        status = MatchStatus.ENDED

    state = game_state_pb2.GameState()
    state.CopyFrom(game.state)
    if game.sport == sport_pb2.SPORT_FOOTBALL:
        football.apply(state, event)
    elif game.sport == sport_pb2.SPORT_BASKETBALL:
        basketball.apply(state, event)
    else:
        tennis.apply(state, event, game.best_of_sets)
    state.event_sequence = event.sequence
    # The state is what the quote models price from: it stays within what the contract allows
    # for the sport (a 51st goal, a 401st point is a feed's mistake, refused, never priced).
    check_within_contract(state, "SCORE_OUT_OF_RANGE", "game_state")
    return replace(game, status=status, state=state)
