"""Football and basketball game state, and the reasons events are refused."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import DomainError, FailedPrecondition, InvalidArgument
from services.live.domain.game import LiveGame, MatchStatus, apply_event, new_game, validate_event

HOME, AWAY = sport_pb2.SIDE_HOME, sport_pb2.SIDE_AWAY
FOOTBALL, BASKETBALL, TENNIS = (
    sport_pb2.SPORT_FOOTBALL,
    sport_pb2.SPORT_BASKETBALL,
    sport_pb2.SPORT_TENNIS,
)


def event(
    game: LiveGame,
    event_type: int,
    side: int = 0,
    sport: int | None = None,
    *,
    points: int = 0,
    period: int = 0,
) -> me.MatchEvent:
    return me.MatchEvent(
        fixture_id=game.fixture_id,
        sport=game.sport if sport is None else sport,  # type: ignore[arg-type]
        sequence=game.applied_sequence + 1,
        type=event_type,  # type: ignore[arg-type]
        side=side,  # type: ignore[arg-type]
        points=points,
        period=period,
    )


def play(game: LiveGame, *events: tuple[int, ...]) -> LiveGame:
    """Each item: (type,) or (type, side) or (type, side, elapsed_seconds)."""
    for item in events:
        event_type, side, elapsed = (*item, 0, 0)[:3]
        built = event(game, event_type, side)
        built.elapsed_seconds = elapsed
        validate_event(built)
        game = apply_event(game, built)
    return game


def refusal(game: LiveGame, built: me.MatchEvent) -> DomainError:
    with pytest.raises(DomainError) as caught:
        validate_event(built)
        apply_event(game, built)
    return caught.value


def started(sport: int) -> LiveGame:
    return play(new_game(f"fx-{sport}", sport), (me.MATCH_EVENT_TYPE_MATCH_STARTED,))  # type: ignore[arg-type]


def test_football_scripted_match() -> None:
    game = play(
        new_game("fb-1", FOOTBALL),
        (me.MATCH_EVENT_TYPE_MATCH_STARTED,),
        (me.MATCH_EVENT_TYPE_GOAL, HOME, 600),
        (me.MATCH_EVENT_TYPE_YELLOW_CARD, AWAY, 900),
        (me.MATCH_EVENT_TYPE_GOAL, AWAY, 1500),
        (me.MATCH_EVENT_TYPE_RED_CARD, AWAY, 2000),
        (me.MATCH_EVENT_TYPE_PERIOD_ENDED, 0, 2700),
        (me.MATCH_EVENT_TYPE_PERIOD_STARTED, 0, 2700),
        (me.MATCH_EVENT_TYPE_GOAL, HOME, 3600),
        (me.MATCH_EVENT_TYPE_GOAL, HOME, 3700),
        (me.MATCH_EVENT_TYPE_GOAL_CANCELLED, HOME, 3800),
        (me.MATCH_EVENT_TYPE_CLOCK, 0, 4000),
    )
    football = game.state.football
    assert (football.home_goals, football.away_goals) == (2, 1)
    assert (football.home_red_cards, football.away_red_cards) == (0, 1)
    assert football.regulation_seconds == 5400
    assert game.state.period == 2
    assert game.state.elapsed_seconds == 4000
    assert game.state.event_sequence == 11
    assert game.status == MatchStatus.LIVE
    ended = play(game, (me.MATCH_EVENT_TYPE_MATCH_ENDED, 0, 5700))
    assert ended.status == MatchStatus.ENDED
    # The input game is untouched: apply_event works on a copy.
    assert game.status == MatchStatus.LIVE
    assert game.state.event_sequence == 11


def test_football_event_without_elapsed_keeps_the_clock() -> None:
    game = play(
        started(FOOTBALL), (me.MATCH_EVENT_TYPE_CLOCK, 0, 120), (me.MATCH_EVENT_TYPE_GOAL, HOME)
    )
    assert game.state.elapsed_seconds == 120


def test_football_numbered_periods_cannot_go_back_or_beyond_penalties() -> None:
    game = started(FOOTBALL)
    game = apply_event(game, event(game, me.MATCH_EVENT_TYPE_PERIOD_STARTED, period=3))
    assert game.state.period == 3
    backwards = refusal(game, event(game, me.MATCH_EVENT_TYPE_PERIOD_STARTED, period=2))
    assert (backwards.code, backwards.reason) == ("INVALID_ARGUMENT", "PERIOD_BACKWARDS")
    beyond = refusal(game, event(game, me.MATCH_EVENT_TYPE_PERIOD_STARTED, period=6))
    assert beyond.reason == "INVALID_PERIOD"


def test_goal_cancelled_without_a_goal_is_refused() -> None:
    game = play(started(FOOTBALL), (me.MATCH_EVENT_TYPE_GOAL, HOME))
    error = refusal(game, event(game, me.MATCH_EVENT_TYPE_GOAL_CANCELLED, AWAY))
    assert (error.code, error.reason) == ("INVALID_ARGUMENT", "NO_GOAL_TO_CANCEL")


def test_basketball_points_periods_and_clock() -> None:
    game = started(BASKETBALL)
    for side, points, elapsed in ((HOME, 2, 30), (AWAY, 3, 55), (HOME, 1, 70), (HOME, 3, 100)):
        built = event(game, me.MATCH_EVENT_TYPE_POINTS_SCORED, side, points=points)
        built.elapsed_seconds = elapsed
        validate_event(built)
        game = apply_event(game, built)
    game = play(game, (me.MATCH_EVENT_TYPE_PERIOD_ENDED, 0, 600))
    game = play(game, (me.MATCH_EVENT_TYPE_PERIOD_STARTED,))
    game = play(game, (me.MATCH_EVENT_TYPE_CLOCK, 0, 650))
    basketball = game.state.basketball
    assert (basketball.home_points, basketball.away_points) == (6, 3)
    assert basketball.regulation_seconds == 2880
    assert game.state.period == 2
    assert game.state.elapsed_seconds == 650
    # Overtime periods have no limit.
    game = apply_event(game, event(game, me.MATCH_EVENT_TYPE_PERIOD_STARTED, period=7))
    assert game.state.period == 7


@pytest.mark.parametrize("points", [0, 4])
def test_basketball_points_must_be_one_two_or_three(points: int) -> None:
    game = started(BASKETBALL)
    error = refusal(game, event(game, me.MATCH_EVENT_TYPE_POINTS_SCORED, HOME, points=points))
    assert (error.code, error.reason) == ("INVALID_ARGUMENT", "INVALID_POINTS")


@pytest.mark.parametrize(
    ("sport", "event_type"),
    [
        (BASKETBALL, me.MATCH_EVENT_TYPE_GOAL),
        (FOOTBALL, me.MATCH_EVENT_TYPE_POINT_WON),
        (FOOTBALL, me.MATCH_EVENT_TYPE_POINTS_SCORED),
        (TENNIS, me.MATCH_EVENT_TYPE_GOAL),
        (TENNIS, me.MATCH_EVENT_TYPE_PERIOD_STARTED),
        (TENNIS, me.MATCH_EVENT_TYPE_CLOCK),
    ],
)
def test_event_type_not_valid_for_the_sport(sport: int, event_type: int) -> None:
    game = started(sport)
    error = refusal(game, event(game, event_type, HOME, points=2))
    assert (error.code, error.reason) == ("INVALID_ARGUMENT", "EVENT_TYPE_NOT_VALID_FOR_SPORT")


@pytest.mark.parametrize(
    ("sport", "event_type"),
    [
        (FOOTBALL, me.MATCH_EVENT_TYPE_GOAL),
        (FOOTBALL, me.MATCH_EVENT_TYPE_RED_CARD),
        (FOOTBALL, me.MATCH_EVENT_TYPE_GOAL_CANCELLED),
        (TENNIS, me.MATCH_EVENT_TYPE_POINT_WON),
        (BASKETBALL, me.MATCH_EVENT_TYPE_POINTS_SCORED),
    ],
)
def test_side_is_required(sport: int, event_type: int) -> None:
    game = started(sport)
    error = refusal(game, event(game, event_type, points=2))
    assert (error.code, error.reason) == ("INVALID_ARGUMENT", "SIDE_REQUIRED")


def test_wrong_sport_for_the_fixture() -> None:
    game = started(FOOTBALL)
    error = refusal(
        game, event(game, me.MATCH_EVENT_TYPE_POINTS_SCORED, HOME, BASKETBALL, points=2)
    )
    assert (error.code, error.reason) == ("INVALID_ARGUMENT", "SPORT_MISMATCH")


@pytest.mark.parametrize(
    "event_type",
    [me.MATCH_EVENT_TYPE_GOAL, me.MATCH_EVENT_TYPE_PERIOD_STARTED, me.MATCH_EVENT_TYPE_MATCH_ENDED],
)
def test_nothing_but_a_start_before_the_start(event_type: int) -> None:
    game = new_game("fb-2", FOOTBALL)
    error = refusal(game, event(game, event_type, HOME))
    assert (error.code, error.reason) == ("INVALID_ARGUMENT", "MATCH_NOT_STARTED")


def test_started_twice_is_refused() -> None:
    game = started(FOOTBALL)
    error = refusal(game, event(game, me.MATCH_EVENT_TYPE_MATCH_STARTED))
    assert error.reason == "MATCH_ALREADY_STARTED"


def test_abandoned_before_kick_off_and_then_closed() -> None:
    game = play(new_game("fb-3", FOOTBALL), (me.MATCH_EVENT_TYPE_MATCH_ABANDONED,))
    assert game.status == MatchStatus.ABANDONED
    error = refusal(game, event(game, me.MATCH_EVENT_TYPE_MATCH_STARTED))
    assert isinstance(error, FailedPrecondition)
    assert error.reason == "MATCH_ENDED"


def test_anything_after_the_end_is_a_failed_precondition() -> None:
    game = play(started(BASKETBALL), (me.MATCH_EVENT_TYPE_MATCH_ENDED,))
    for event_type in (me.MATCH_EVENT_TYPE_CLOCK, me.MATCH_EVENT_TYPE_MATCH_ENDED):
        error = refusal(game, event(game, event_type))
        assert (error.code, error.reason) == ("FAILED_PRECONDITION", "MATCH_ENDED")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"fixture_id": ""}, "FIXTURE_ID_REQUIRED"),
        ({"fixture_id": "x" * 201}, "FIXTURE_ID_TOO_LONG"),
        ({"sequence": 0}, "SEQUENCE_REQUIRED"),
        ({"sport": 0}, "SPORT_REQUIRED"),
        ({"sport": 99}, "SPORT_REQUIRED"),
        ({"type": 0}, "EVENT_TYPE_REQUIRED"),
    ],
)
def test_malformed_events(fields: dict[str, object], reason: str) -> None:
    built = me.MatchEvent(
        fixture_id="fb-4", sport=FOOTBALL, sequence=1, type=me.MATCH_EVENT_TYPE_MATCH_STARTED
    )
    for name, value in fields.items():
        setattr(built, name, value)
    with pytest.raises(InvalidArgument) as caught:
        validate_event(built)
    assert caught.value.reason == reason


def test_a_score_beyond_the_sport_is_refused_and_never_priced() -> None:
    game = play(started(FOOTBALL), *[(me.MATCH_EVENT_TYPE_GOAL, HOME)] * 50)
    assert game.state.football.home_goals == 50
    error = refusal(game, event(game, me.MATCH_EVENT_TYPE_GOAL, HOME))
    assert isinstance(error, InvalidArgument) and error.reason == "SCORE_OUT_OF_RANGE"


@pytest.mark.parametrize("fixture_id", ["fx\0", "fx\n1", "fx 1", "fixé"])
def test_a_fixture_id_outside_printable_ascii_is_refused(fixture_id: str) -> None:
    built = me.MatchEvent(
        fixture_id=fixture_id,
        sport=FOOTBALL,  # type: ignore[arg-type]
        sequence=1,
        type=me.MATCH_EVENT_TYPE_MATCH_STARTED,
    )
    with pytest.raises(InvalidArgument) as caught:
        validate_event(built)
    assert caught.value.reason == "FIXTURE_ID_INVALID"
