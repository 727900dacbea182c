"""When a fixture's feed counts as lost, and what a feed loss or an operator's stop writes
(services/live/domain/liveness.py), pure. The same on real Redis: test_live_liveness.py and
test_live_feed_loss.py."""

from __future__ import annotations

from betmesh.common.v1 import market_pb2

from services.live.domain.liveness import (
    FeedCheck,
    check_feed,
    feed_lost_plan,
    operator_hold_plan,
)
from services.live.domain.repricing import FEED_LOST, OPERATOR

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
