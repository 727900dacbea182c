"""Live repricing core: what suspends, the cadence, the clock between events; the simulator's
scripts."""

from __future__ import annotations

import itertools
import logging

import pytest
import redis.exceptions
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from services.live.domain.game import LiveGame, apply_event, new_game
from services.live.domain.repricing import (
    FEED_LOST,
    OPERATOR,
    Cadence,
    Completion,
    FixtureView,
    MatchClock,
    PricingTarget,
    break_point,
    fixture_hold,
    plan_completion,
    project_clock,
    reprice_completion,
    status_changes,
    status_event,
)
from services.live.repricing_settings import RepricingSettings
from services.live.service_layer.repricing import Repricer
from services.live.settings import LiveSettings
from services.live.simulator import ScriptError, load, load_file

FOOTBALL, TENNIS, BASKETBALL = (
    sport_pb2.SPORT_FOOTBALL,
    sport_pb2.SPORT_TENNIS,
    sport_pb2.SPORT_BASKETBALL,
)


def play(sport: int, *events: tuple[int, int]) -> tuple[LiveGame, list[list[int]]]:
    """Applies (type, side) events from kick-off; returns the game and each event's statuses."""
    game = new_game("f1", sport)
    statuses = []
    for sequence, (kind, side) in enumerate(
        [(me.MATCH_EVENT_TYPE_MATCH_STARTED, 0), *events], start=1
    ):
        event = me.MatchEvent(
            fixture_id="f1",
            sport=sport,  # type: ignore[arg-type]
            sequence=sequence,
            type=kind,  # type: ignore[arg-type]
            side=side,  # type: ignore[arg-type]
        )
        game = apply_event(game, event)
        statuses.append([int(c.status) for c in status_changes(event, game)])
    return game, statuses


def test_kick_off_hands_over_and_the_end_deactivates() -> None:
    _, statuses = play(FOOTBALL, (me.MATCH_EVENT_TYPE_MATCH_ENDED, 0))
    assert statuses == [
        [market_pb2.MARKET_STATUS_HANDED_OVER],
        [market_pb2.MARKET_STATUS_DEACTIVATED],
    ]


@pytest.mark.parametrize(
    ("kind", "suspends"),
    [
        (me.MATCH_EVENT_TYPE_GOAL, True),
        (me.MATCH_EVENT_TYPE_RED_CARD, True),
        (me.MATCH_EVENT_TYPE_PENALTY_AWARDED, True),
        (me.MATCH_EVENT_TYPE_YELLOW_CARD, False),
        (me.MATCH_EVENT_TYPE_DANGEROUS_ATTACK, False),
    ],
)
def test_football_dangerous_events_suspend(kind: int, suspends: bool) -> None:
    _, statuses = play(FOOTBALL, (kind, sport_pb2.SIDE_HOME))
    assert statuses[-1] == ([market_pb2.MARKET_STATUS_SUSPENDED] if suspends else [])


def test_a_tennis_break_point_suspends_and_a_game_point_does_not() -> None:
    point = me.MATCH_EVENT_TYPE_POINT_WON
    home, away = sport_pb2.SIDE_HOME, sport_pb2.SIDE_AWAY
    # Home serves first: 0-40 is a triple break point for away.
    _, statuses = play(TENNIS, (point, away), (point, away), (point, away))
    assert statuses[1:] == [[], [], [market_pb2.MARKET_STATUS_SUSPENDED]]
    game, statuses = play(TENNIS, (point, home), (point, home), (point, home))
    assert statuses[-1] == [] and not break_point(game.state.tennis)


def test_basketball_has_no_dangerous_event() -> None:
    _, statuses = play(BASKETBALL, (me.MATCH_EVENT_TYPE_POINTS_SCORED, sport_pb2.SIDE_HOME))
    assert statuses[-1] == []


def test_cadence_is_busy_after_recent_events_and_quiet_otherwise() -> None:
    cadence = Cadence(busy_seconds=60, quiet_seconds=300, busy_window_seconds=180)
    assert cadence.interval(1_000.0, 1_100.0) == 60
    assert cadence.interval(1_000.0, 1_181.0) == 300
    assert cadence.interval(None, 1_000.0) == 300


def test_the_clock_runs_between_events_up_to_the_end_of_the_period() -> None:
    game = LiveGame(
        "f1",
        FOOTBALL,
        new_game("f1", FOOTBALL).status,
        3,
        game_state_pb2.GameState(
            elapsed_seconds=2_000, period=1, football=game_state_pb2.FootballState()
        ),
    )
    running = MatchClock(True, 2_000, 10_000.0)
    assert project_clock(game, running, 10_120.9).elapsed_seconds == 2_120
    assert project_clock(game, running, 20_000.0).elapsed_seconds == 2_700  # half time
    assert project_clock(game, MatchClock(False, 2_000, 10_000.0), 10_500.0) is game.state


def test_repricing_settings_come_from_the_environment() -> None:
    settings = LiveSettings.from_env(
        {
            "BETMESH_REDIS_URL": "redis://localhost",
            "BETMESH_LIVE_BUSY_REPRICE_SECONDS": "1.5",
            "BETMESH_LIVE_QUIET_REPRICE_SECONDS": "7",
        }
    )
    assert (settings.repricing.busy_reprice_seconds, settings.repricing.quiet_reprice_seconds) == (
        1.5,
        7.0,
    )
    assert RepricingSettings().busy_reprice_seconds == 60.0
    with pytest.raises(Exception, match="LIVE_BUSY_REPRICE_SECONDS"):
        LiveSettings.from_env(
            {"BETMESH_REDIS_URL": "redis://x", "BETMESH_LIVE_BUSY_REPRICE_SECONDS": "0"}
        )


@pytest.mark.parametrize("name", ["football.json", "tennis.json", "basketball.json"])
def test_bundled_scripts_are_whole_valid_matches(name: str) -> None:
    timeline = load_file(name, fixture_id="copy-1")
    assert [t.event.sequence for t in timeline] == list(range(1, len(timeline) + 1))
    assert timeline[0].event.fixture.fixture_id == "copy-1"
    game = new_game("copy-1", timeline[0].event.sport)
    for timed in timeline:
        game = apply_event(game, timed.event)
    assert game.finished
    assert all(a.at <= b.at for a, b in itertools.pairwise(timeline))


def test_a_script_out_of_order_is_refused() -> None:
    script = {
        "fixture": {"fixture_id": "x", "sport": "football"},
        "events": [{"at": 10, "type": "MATCH_STARTED"}, {"at": 5, "type": "GOAL", "side": "home"}],
    }
    with pytest.raises(ScriptError):
        load(script)


# ---- what a completed reprice writes (plan_completion; the Redis adapter executes it) ------


def _completion(**changes: object) -> Completion:
    reopen = status_event("fx", market_pb2.MARKET_STATUS_ACTIVE, "REPRICED", 7)
    fields: dict[str, object] = {
        "fixture_id": "fx",
        "sequence": 7,
        "next_due": 60.0,
        "reopen": reopen,
        "feed_epoch": 2,
    }
    fields.update(changes)
    return Completion(**fields)  # type: ignore[arg-type]


def test_a_reprice_reopens_a_suspended_fixture_nothing_holds() -> None:
    plan = plan_completion(_completion(), suspended=True, hold=None, feed_epoch=2)
    assert [(c.status, c.reason) for c in plan.publications] == [
        (market_pb2.MARKET_STATUS_ACTIVE, "REPRICED")
    ]
    assert (plan.fields, plan.next_due) == ({"suspended": 0}, 60.0)
    # Already open: nothing to say again.
    assert (
        plan_completion(_completion(), suspended=False, hold=None, feed_epoch=2).publications == ()
    )


@pytest.mark.parametrize("hold", [FEED_LOST, OPERATOR])
def test_a_held_fixture_is_stopped_again_after_its_price_never_reopened(hold: str) -> None:
    plan = plan_completion(_completion(), suspended=True, hold=hold, feed_epoch=2)
    [stop] = plan.publications
    assert (stop.status, stop.reason, stop.event_sequence) == (
        market_pb2.MARKET_STATUS_SUSPENDED,
        hold,
        7,
    )
    assert "suspended" not in plan.fields


def test_a_price_from_before_the_feed_came_back_does_not_reopen_and_is_due_at_once() -> None:
    plan = plan_completion(_completion(), suspended=True, hold=None, feed_epoch=3)
    assert (plan.publications, dict(plan.fields), plan.next_due) == ((), {}, 0)


def test_a_failed_reprice_suspends_only_an_open_fixture_and_stores_its_target() -> None:
    suspend = status_event("fx", market_pb2.MARKET_STATUS_SUSPENDED, "NO_PRICE", 7)
    target = PricingTarget(sport_pb2.Fixture(fixture_id="fx"), "sha256:ab")
    plan = plan_completion(
        _completion(reopen=None, suspend=suspend, target=target),
        suspended=False,
        hold=None,
        feed_epoch=2,
    )
    assert [c.reason for c in plan.publications] == ["NO_PRICE"]
    assert plan.fields["suspended"] == 1
    assert plan.fields["snapshot_hash"] == b"sha256:ab"
    already = plan_completion(
        _completion(reopen=None, suspend=suspend), suspended=True, hold=None, feed_epoch=2
    )
    assert already.publications == ()


def test_the_lost_feed_holds_before_the_operator() -> None:
    assert fixture_hold(True, True) == FEED_LOST
    assert fixture_hold(False, True) == OPERATOR
    assert fixture_hold(False, False) is None


def _view(target: PricingTarget | None = None, last_event_at: float | None = 95.0) -> FixtureView:
    game = new_game("fx", FOOTBALL)
    return FixtureView(
        game=game,
        due_at=0.0,
        suspended=True,
        last_event_at=last_event_at,
        clock=None,
        announced_fixture=None,
        target=target,
        feed_epoch=4,
    )


def test_an_accepted_price_reopens_only_the_markets_it_offers() -> None:
    target = PricingTarget(sport_pb2.Fixture(fixture_id="fx"), "sha256:ab")
    quote_set = market_pb2.QuoteSet(
        markets=[
            market_pb2.Market(market_id="1x2", status=market_pb2.MARKET_STATUS_ACTIVE),
            market_pb2.Market(market_id="ou", status=market_pb2.MARKET_STATUS_SUSPENDED),
        ]
    )
    cadence = Cadence(busy_seconds=60, quiet_seconds=300, busy_window_seconds=120)
    done = reprice_completion(_view(), 100.0, cadence, target, quote_set)
    assert done.reopen is not None and done.suspend is None
    assert (done.reopen.reason, list(done.reopen.market_ids)) == ("REPRICED", ["1x2"])
    assert (done.next_due, done.target, done.feed_epoch) == (160.0, target, 4)
    # A target already stored is not written again.
    again = reprice_completion(_view(target), 100.0, cadence, target, quote_set)
    assert again.target is None


def test_no_price_suspends_and_waits_for_the_quiet_cadence() -> None:
    cadence = Cadence(busy_seconds=60, quiet_seconds=300, busy_window_seconds=120)
    done = reprice_completion(_view(last_event_at=None), 100.0, cadence, None, None)
    assert done.reopen is None and done.suspend is not None
    assert (done.suspend.status, done.suspend.reason) == (
        market_pb2.MARKET_STATUS_SUSPENDED,
        "NO_CONSENSUS",
    )
    assert done.next_due == 400.0


class _StoreDown:
    """A repricing store whose Redis is gone after the due list was read; `broken` fixtures
    fail for a reason of their own (a bug of ours) instead."""

    def __init__(self, broken: frozenset[str] = frozenset()) -> None:
        self.broken = broken

    async def due(self, now: float, limit: int) -> list[str]:
        return ["f1", "f2", "f3"]

    async def acquire(self, fixture_id: str, owner: str, seconds: float) -> bool:
        if fixture_id in self.broken:
            raise KeyError(fixture_id)
        raise redis.exceptions.ConnectionError("Connection closed by server.")


def _repricer(store: object) -> Repricer:
    return Repricer(
        store=store,  # type: ignore[arg-type]
        gateway=None,  # type: ignore[arg-type]
        cadence=Cadence(60.0, 300.0, 180.0),
        owner="test",
        lease_seconds=5.0,
        clock=lambda: 0.0,
    )


async def test_redis_down_fails_a_repricing_tick_once_not_each_fixture_with_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The tick's supervisor (service_runtime/background.py) logs the outage as one, with its
    reason, and backs off; each due fixture logged as an unhandled error, every tick, read as
    a bug of ours and was never backed off."""
    caplog.set_level(logging.WARNING)
    with pytest.raises(redis.exceptions.ConnectionError):
        await _repricer(_StoreDown()).run_due()
    assert [r for r in caplog.records if r.exc_info] == []
    # A poke (after an applied event) has no supervisor: one line, no traceback.
    await _repricer(_StoreDown())._guarded("f1")
    (line,) = caplog.records
    assert line.levelno == logging.WARNING and line.exc_info is None


async def test_a_repricing_failure_of_our_own_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    store = _StoreDown(broken=frozenset({"f1", "f2", "f3"}))
    assert await _repricer(store).run_due() == 3  # the others go on; the fixture stays due
    assert len([r for r in caplog.records if r.exc_info]) == 3
