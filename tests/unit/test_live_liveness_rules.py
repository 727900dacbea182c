"""When a fixture's feed counts as lost, and what a feed loss or an operator's stop writes
(services/live/domain/liveness.py), pure. The same on real Redis: test_live_liveness.py and
test_live_feed_loss.py."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import market_pb2

from service_runtime.errors import FailedPrecondition
from services.live.domain.ingest import plan_ingest
from services.live.domain.liveness import (
    Behind,
    FeedCheck,
    FixtureProgress,
    ProgressPlan,
    check_feed,
    check_progress,
    feed_lost_plan,
    ingest_ends_feed_loss,
    latest_progress,
    operator_hold_plan,
    progress_plan,
)
from services.live.domain.repricing import FEED_GAP, FEED_LOST, OPERATOR
from services.live.domain.sequencing import Outcome
from tests.unit.test_live_sequencing import goal, kick_off

CUTOFF = 100.0


def check(**changes: object) -> FeedCheck:
    facts: dict[str, object] = {
        "live": True,
        "already_lost": False,
        "fixture_seen": CUTOFF + 1,
        "producer_seen": CUTOFF + 1,
        "cutoff": CUTOFF,
    }
    facts.update(changes)
    return check_feed(**facts)  # type: ignore[arg-type]


def test_a_feed_is_lost_at_the_deadline_by_the_fixture_or_its_producer() -> None:
    assert check() == FeedCheck.WATCH
    assert check(fixture_seen=CUTOFF) == FeedCheck.SUSPEND  # on the deadline: lost
    assert check(producer_seen=CUTOFF) == FeedCheck.SUSPEND  # touched, but its feed is silent
    assert check(producer_seen=None) == FeedCheck.WATCH  # a producer never heard of: the fixture
    assert check(fixture_seen=0.0, producer_seen=None) == FeedCheck.SUSPEND


def test_finished_or_already_held_fixtures_are_no_longer_watched() -> None:
    assert check(live=False, fixture_seen=0.0) == FeedCheck.FORGET
    assert check(already_lost=True, fixture_seen=0.0) == FeedCheck.FORGET


def test_a_lost_feed_stops_the_markets_at_the_fixture_s_sequence() -> None:
    plan = feed_lost_plan("fx", 12)
    assert dict(plan.fields) == {"feed_lost": 1, "suspended": 1}
    [stop] = plan.publications
    assert (stop.fixture_id, stop.status, stop.reason, stop.event_sequence) == (
        "fx",
        market_pb2.MARKET_STATUS_SUSPENDED,
        FEED_LOST,
        12,
    )
    assert not plan.due_now


def test_an_operator_stop_is_idempotent_and_its_lifting_reopens_through_a_reprice() -> None:
    assert operator_hold_plan("fx", True, True, 3) is None
    assert operator_hold_plan("fx", False, False, 3) is None
    stop = operator_hold_plan("fx", True, False, 3)
    assert stop is not None
    assert dict(stop.fields) == {"operator": 1, "suspended": 1}
    assert [(c.reason, c.event_sequence) for c in stop.publications] == [(OPERATOR, 3)]
    lift = operator_hold_plan("fx", False, True, 3)
    assert lift is not None
    # No ACTIVE here: the next accepted reprice reopens (and not while the feed is lost).
    assert (dict(lift.fields), lift.publications, lift.due_now) == ({"operator": 0}, (), True)


# ---- a feed's word on where it is up to (recovery from a lost feed) --------------------------


def progress(**changes: object) -> ProgressPlan:
    facts: dict[str, object] = {
        "live": True,
        "applied": 7,
        "last_sequence": 7,
        "announced": 0,
        "feed_lost": False,
        "gap": False,
    }
    facts.update(changes)
    return progress_plan("fx", **facts)  # type: ignore[arg-type]


def test_a_lost_feed_ends_only_when_the_feed_is_up_to_what_was_applied() -> None:
    plan = progress(feed_lost=True)
    assert dict(plan.hold.fields) == {"feed_lost": 0}
    assert plan.hold.due_now and plan.ends_loss and plan.recovered
    assert plan.hold.publications == () and plan.behind is None
    # Open and up to date: nothing to write.
    assert not progress().writes


def test_a_feed_ahead_of_what_was_applied_stops_the_fixture_until_the_tail_is_applied() -> None:
    """The goal sent during the outage (sequence 8) never reached us: the feed's word that it
    is at 8 keeps the markets closed, lost feed or not, and names what to resend."""
    for lost in (True, False):
        plan = progress(last_sequence=8, feed_lost=lost)
        assert not plan.recovered and not plan.hold.due_now
        assert plan.behind == Behind("fx", 8, 8, 7)
        assert plan.announced == 8
        assert dict(plan.hold.fields) == {"gap": 1, "suspended": 1} | (
            {"feed_lost": 0} if lost else {}
        )
        [stop] = plan.hold.publications
        assert (stop.status, stop.reason, stop.event_sequence) == (
            market_pb2.MARKET_STATUS_SUSPENDED,
            FEED_GAP,
            7,
        )
        assert plan.ends_loss == lost


def test_a_gap_already_said_is_not_said_again_and_the_highest_word_counts() -> None:
    plan = progress(last_sequence=9, announced=8, gap=True)
    assert (plan.hold.fields, plan.hold.publications, plan.announced) == ({}, (), 9)
    assert plan.behind == Behind("fx", 8, 9, 7)
    # A lower word than one already given: still behind up to the higher, nothing lowered.
    plan = progress(last_sequence=7, announced=9, gap=True, feed_lost=True)
    assert plan.behind == Behind("fx", 8, 9, 7) and plan.announced is None
    assert not plan.recovered


def test_outside_play_or_overtaken_the_word_writes_nothing() -> None:
    assert progress(live=False, last_sequence=3, applied=0) == ProgressPlan(
        behind=Behind("fx", 1, 3, 0)
    )
    # Below what was applied (an event of the feed's own landed since it was checked).
    assert progress(last_sequence=6, feed_lost=True) == ProgressPlan()


def test_a_feed_below_what_was_applied_is_refused_with_the_figures() -> None:
    check_progress(FixtureProgress("fx", 7), 7)
    with pytest.raises(FailedPrecondition) as refused:
        check_progress(FixtureProgress("fx", 6), 7)
    assert refused.value.reason == "LAST_SEQUENCE_BEHIND_APPLIED"
    assert refused.value.metadata == {
        "fixture_id": "fx",
        "last_sequence": "6",
        "applied_sequence": "7",
    }


def test_one_word_per_fixture_its_highest() -> None:
    words = [FixtureProgress("b", 3), FixtureProgress("a", 1), FixtureProgress("b", 2)]
    assert latest_progress(words) == [FixtureProgress("a", 1), FixtureProgress("b", 3)]


def test_only_an_event_applied_in_sequence_ends_a_feed_loss() -> None:
    assert ingest_ends_feed_loss(Outcome.APPLIED)
    assert not ingest_ends_feed_loss(Outcome.DUPLICATE)
    assert not ingest_ends_feed_loss(Outcome.HELD)


def test_an_announced_tail_holds_the_gap_until_it_is_applied() -> None:
    """The gap a heartbeat opened (announced 3, applied 1) lasts through event 2 and is lifted
    by event 3, which makes the fixture due for the reprice that reopens it."""
    started = plan_ingest(None, {}, 0, kick_off(), 0.0, hold_seconds=5, best_of_sets=3)
    game = started.decision.game
    second = plan_ingest(game, {}, 3, goal(2), 1.0, hold_seconds=5, best_of_sets=3)
    assert "gap" not in second.pricing
    third = plan_ingest(second.decision.game, {}, 3, goal(3), 2.0, hold_seconds=5, best_of_sets=3)
    assert third.pricing["gap"] == 0
    # Without an announced tail, an ordinary event leaves the gap field alone.
    plain = plan_ingest(game, {}, 0, goal(2), 1.0, hold_seconds=5, best_of_sets=3)
    assert "gap" not in plain.pricing
