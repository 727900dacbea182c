"""Per-fixture sequencing, pure: duplicates, holding, gap filling, gap expiry, the end."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import DomainError
from services.live.domain.game import LiveGame, apply_event
from services.live.domain.repricing import MatchClock, project_clock
from services.live.domain.sequencing import MAX_AHEAD, Decision, HeldEvent, Outcome, decide

HOLD = 30.0


def goal(sequence: int, side: int = sport_pb2.SIDE_HOME) -> me.MatchEvent:
    return me.MatchEvent(
        fixture_id="fb-seq",
        sport=sport_pb2.SPORT_FOOTBALL,
        sequence=sequence,
        type=me.MATCH_EVENT_TYPE_GOAL,
        side=side,  # type: ignore[arg-type]
    )


def kick_off() -> me.MatchEvent:
    return me.MatchEvent(
        fixture_id="fb-seq",
        sport=sport_pb2.SPORT_FOOTBALL,
        sequence=1,
        type=me.MATCH_EVENT_TYPE_MATCH_STARTED,
    )


class Fixture:
    """What the store would keep, updated from each decision as the adapter does."""

    def __init__(self) -> None:
        self.game: LiveGame | None = None
        self.held: dict[int, HeldEvent] = {}

    def ingest(self, event: me.MatchEvent, now: float = 0.0) -> Decision:
        decision = decide(self.game, self.held, event, now, hold_seconds=HOLD)
        self.game = decision.game
        for sequence in decision.release:
            del self.held[sequence]
        if decision.hold is not None:
            self.held[decision.hold.event.sequence] = decision.hold
        return decision

    def refused(self, event: me.MatchEvent, now: float = 0.0) -> DomainError:
        held: Mapping[int, HeldEvent] = dict(self.held)
        with pytest.raises(DomainError) as caught:
            self.ingest(event, now)
        assert self.held == held  # a refusal changes nothing
        return caught.value


def goals(fixture: Fixture) -> tuple[int, int]:
    assert fixture.game is not None
    return fixture.game.state.football.home_goals, fixture.game.state.football.away_goals


def test_in_order_events_apply() -> None:
    fixture = Fixture()
    first = fixture.ingest(kick_off())
    assert (first.outcome, first.applied_sequence) == (Outcome.APPLIED, 1)
    second = fixture.ingest(goal(2))
    assert (second.outcome, second.applied_sequence) == (Outcome.APPLIED, 2)
    assert len(second.applied) == 1
    assert goals(fixture) == (1, 0)


def test_duplicates_change_nothing() -> None:
    fixture = Fixture()
    fixture.ingest(kick_off())
    fixture.ingest(goal(2))
    again = fixture.ingest(goal(2))
    assert (again.outcome, again.applied_sequence) == (Outcome.DUPLICATE, 2)
    assert not again.changed
    assert fixture.ingest(kick_off()).outcome == Outcome.DUPLICATE
    assert goals(fixture) == (1, 0)


def test_held_then_applied_in_order_when_the_gap_fills() -> None:
    fixture = Fixture()
    fixture.ingest(kick_off())
    four = fixture.ingest(goal(4, sport_pb2.SIDE_AWAY))
    three = fixture.ingest(goal(3))
    assert (four.outcome, four.applied_sequence) == (Outcome.HELD, 1)
    assert (three.outcome, three.applied_sequence) == (Outcome.HELD, 1)
    assert fixture.ingest(goal(4)).outcome == Outcome.DUPLICATE  # already held
    filled = fixture.ingest(goal(2))
    assert (filled.outcome, filled.applied_sequence) == (Outcome.APPLIED, 4)
    assert [g.applied_sequence for g in filled.applied] == [2, 3, 4]
    assert filled.release == (3, 4)
    assert fixture.held == {}
    # The held copy of 4 (away) is the one applied, not the duplicate sent later.
    assert goals(fixture) == (2, 1)


def test_events_before_the_first_are_held_until_it_comes() -> None:
    fixture = Fixture()
    assert fixture.ingest(goal(2)).outcome == Outcome.HELD
    assert fixture.game is None
    started = fixture.ingest(kick_off())
    assert started.applied_sequence == 2
    assert goals(fixture) == (1, 0)


def test_gap_expiry_refuses_everything_but_the_missing_sequence() -> None:
    fixture = Fixture()
    fixture.ingest(kick_off(), now=0)
    fixture.ingest(goal(4), now=10)
    fixture.ingest(goal(5), now=20)
    # Within the window (measured from the oldest held event): still held.
    assert fixture.ingest(goal(6), now=10 + HOLD).outcome == Outcome.HELD
    error = fixture.refused(goal(7), now=10 + HOLD + 0.5)
    assert (error.code, error.reason) == ("FAILED_PRECONDITION", "SEQUENCE_GAP")
    assert error.metadata["missing_sequence"] == "2"
    assert error.metadata["missing_through"] == "3"
    assert error.metadata["applied_sequence"] == "1"
    # A retried duplicate is told the same: the feed must resend what is missing.
    assert fixture.refused(kick_off(), now=100).reason == "SEQUENCE_GAP"
    two = fixture.ingest(goal(2), now=100)
    assert (two.outcome, two.applied_sequence) == (Outcome.APPLIED, 2)
    assert fixture.refused(goal(7), now=101).metadata["missing_sequence"] == "3"
    three = fixture.ingest(goal(3), now=102)
    assert (three.outcome, three.applied_sequence) == (Outcome.APPLIED, 6)
    assert fixture.ingest(goal(7), now=103).outcome == Outcome.APPLIED
    assert goals(fixture) == (6, 0)


def test_a_refused_next_event_leaves_the_sequence_open() -> None:
    fixture = Fixture()
    fixture.ingest(kick_off())
    bad = goal(2)
    bad.side = sport_pb2.SIDE_UNSPECIFIED
    assert fixture.refused(bad).reason == "SIDE_REQUIRED"
    assert fixture.ingest(goal(2)).applied_sequence == 2


def test_a_held_event_that_no_longer_fits_is_dropped_and_reopens_the_gap() -> None:
    fixture = Fixture()
    fixture.ingest(kick_off())
    cancelled = goal(3, sport_pb2.SIDE_AWAY)
    cancelled.type = me.MATCH_EVENT_TYPE_GOAL_CANCELLED  # away has no goal to cancel
    fixture.ingest(cancelled)
    fixture.ingest(goal(4))
    filled = fixture.ingest(goal(2))
    assert (filled.outcome, filled.applied_sequence) == (Outcome.APPLIED, 2)
    assert [(d.sequence, d.reason) for d in filled.discarded] == [(3, "NO_GOAL_TO_CANCEL")]
    assert set(fixture.held) == {4}
    assert fixture.ingest(goal(3)).applied_sequence == 4


def test_after_the_end_only_duplicates_are_accepted() -> None:
    fixture = Fixture()
    fixture.ingest(kick_off())
    end = me.MatchEvent(
        fixture_id="fb-seq",
        sport=sport_pb2.SPORT_FOOTBALL,
        sequence=2,
        type=me.MATCH_EVENT_TYPE_MATCH_ENDED,
    )
    fixture.ingest(end)
    assert fixture.ingest(end).outcome == Outcome.DUPLICATE
    for sequence in (3, 9):
        error = fixture.refused(goal(sequence))
        assert (error.code, error.reason) == ("FAILED_PRECONDITION", "MATCH_ENDED")


def test_wrong_sport_is_refused_even_when_it_would_be_held() -> None:
    fixture = Fixture()
    fixture.ingest(kick_off())
    point = me.MatchEvent(
        fixture_id="fb-seq",
        sport=sport_pb2.SPORT_TENNIS,
        sequence=5,
        type=me.MATCH_EVENT_TYPE_POINT_WON,
        side=sport_pb2.SIDE_HOME,
    )
    assert fixture.refused(point).reason == "SPORT_MISMATCH"


def test_too_far_ahead_is_refused() -> None:
    fixture = Fixture()
    fixture.ingest(kick_off())
    assert fixture.ingest(goal(1 + MAX_AHEAD)).outcome == Outcome.HELD
    assert fixture.refused(goal(2 + MAX_AHEAD)).reason == "SEQUENCE_TOO_FAR_AHEAD"


def _tennis_start(best_of_sets: int) -> me.MatchEvent:
    return me.MatchEvent(
        fixture_id="tn-format",
        sport=sport_pb2.SPORT_TENNIS,
        sequence=1,
        type=me.MATCH_EVENT_TYPE_MATCH_STARTED,
        side=sport_pb2.SIDE_HOME,
        fixture=sport_pb2.Fixture(
            fixture_id="tn-format", sport=sport_pb2.SPORT_TENNIS, best_of_sets=best_of_sets
        ),
    )


def test_the_match_format_comes_with_the_fixture_on_the_first_event() -> None:
    decision = decide(None, {}, _tennis_start(5), 0.0, hold_seconds=30)
    assert decision.game is not None and decision.game.best_of_sets == 5
    with pytest.raises(DomainError) as refused:
        decide(None, {}, _tennis_start(4), 0.0, hold_seconds=30)
    assert refused.value.reason == "INVALID_BEST_OF_SETS"


def _tip_off(rules: sport_pb2.BasketballRules.ValueType) -> me.MatchEvent:
    return me.MatchEvent(
        fixture_id="bk-rules",
        sport=sport_pb2.SPORT_BASKETBALL,
        sequence=1,
        type=me.MATCH_EVENT_TYPE_MATCH_STARTED,
        fixture=sport_pb2.Fixture(
            fixture_id="bk-rules", sport=sport_pb2.SPORT_BASKETBALL, basketball_rules=rules
        ),
    )


@pytest.mark.parametrize(
    ("rules", "regulation"),
    [
        (sport_pb2.BASKETBALL_RULES_UNSPECIFIED, 48 * 60),
        (sport_pb2.BASKETBALL_RULES_NBA, 48 * 60),
        (sport_pb2.BASKETBALL_RULES_FIBA, 40 * 60),
    ],
)
def test_the_basketball_clock_comes_with_the_fixture_rules_on_the_first_event(
    rules: sport_pb2.BasketballRules.ValueType, regulation: int
) -> None:
    game = decide(None, {}, _tip_off(rules), 0.0, hold_seconds=HOLD).game
    assert game is not None and game.state.basketball.regulation_seconds == regulation
    # The fourth quarter's clock runs to the end of this regulation and stops there.
    game = apply_event(
        game,
        me.MatchEvent(
            fixture_id="bk-rules",
            sport=sport_pb2.SPORT_BASKETBALL,
            sequence=2,
            type=me.MATCH_EVENT_TYPE_PERIOD_STARTED,
            period=4,
            elapsed_seconds=regulation * 3 // 4,
        ),
    )
    running = MatchClock(True, regulation * 3 // 4, 1_000.0)
    ended = project_clock(game, running, 1_000.0 + 3_600)
    assert ended.elapsed_seconds == regulation
