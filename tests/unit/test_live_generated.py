"""Generated football scripts (services/live/generated.py): goals at the model's rates, the
shape of a real match, and readable by the simulator."""

from __future__ import annotations

import random
import statistics

import pytest
from betmesh.live.v1 import match_event_pb2 as me

from services.live.generated import football_script
from services.live.simulator import load

FIXTURE = {
    "fixture_id": "gen-1",
    "sport": "football",
    "home": {"participant_id": "fb:arsenal", "name": "Arsenal"},
    "away": {"participant_id": "fb:wolves", "name": "Wolves"},
}


def goals(script: dict[str, object], side: str) -> int:
    events = script["events"]
    assert isinstance(events, list)
    return sum(1 for e in events if e["type"] == "GOAL" and e.get("side") == side)


def test_goals_follow_the_expected_goals_given() -> None:
    scripts = [football_script(FIXTURE, 2.2, 0.8, random.Random(seed)) for seed in range(3000)]
    home = [goals(s, "home") for s in scripts]
    away = [goals(s, "away") for s in scripts]
    # 3000 matches: the means within ~4 standard errors of the rates.
    assert statistics.mean(home) == pytest.approx(2.2, abs=0.11)
    assert statistics.mean(away) == pytest.approx(0.8, abs=0.07)
    assert statistics.variance(home) == pytest.approx(2.2, rel=0.15)  # Poisson: variance = mean


def test_a_generated_match_is_a_whole_match_the_simulator_replays() -> None:
    script = football_script(FIXTURE, 1.5, 1.2, random.Random(11))
    timeline = load(script)
    kinds = [t.event.type for t in timeline]
    assert (
        kinds[0] == me.MATCH_EVENT_TYPE_MATCH_STARTED
        and kinds[-1] == me.MATCH_EVENT_TYPE_MATCH_ENDED
    )
    assert kinds.count(me.MATCH_EVENT_TYPE_PERIOD_ENDED) == 1
    assert kinds.count(me.MATCH_EVENT_TYPE_PERIOD_STARTED) == 1
    assert [t.at for t in timeline] == sorted(t.at for t in timeline)
    for timed in timeline:
        event = timed.event
        assert event.period in (1, 2)
        if event.type == me.MATCH_EVENT_TYPE_GOAL:
            # Every goal is announced by a dangerous attack of the same side just before.
            before = [t.event for t in timeline if t.at < timed.at]
            assert any(
                e.type == me.MATCH_EVENT_TYPE_DANGEROUS_ATTACK and e.side == event.side
                for e in before
            )
    ended = timeline[-1].event
    assert 90 * 60 < ended.elapsed_seconds <= 97 * 60
    assert timeline[0].event.fixture.home.participant_id == "fb:arsenal"
    assert football_script(FIXTURE, 1.5, 1.2, random.Random(11)) == script


def test_impossible_rates_are_refused() -> None:
    for home, away in ((0.0, 1.0), (1.0, float("nan")), (-1.0, 1.0)):
        with pytest.raises(ValueError):
            football_script(FIXTURE, home, away, random.Random(1))
