"""Basketball scripts drawn from the fitted model: NBA-like scores and clock, overtime only
after a tie, events the live service accepts, and the demo's script is the generator's."""

from __future__ import annotations

import json
import random
import statistics

import pytest

from services.live.domain.game import apply_event, new_game
from services.live.simulator import SCRIPTS, load, load_file
from services.quotes.fitting.basketball import shipped_fit
from services.quotes.fitting.basketball_sim import (
    REGULATION_SECONDS,
    dumps,
    script,
    simulate,
)


def test_simulated_games_score_like_the_nba_and_follow_the_model() -> None:
    model, _, _ = shipped_fit()
    totals: list[int] = []
    margins: list[int] = []
    baskets: list[int] = []
    overtimes = 0
    for seed in range(400):
        events, periods = simulate(model, "BOS", "LAL", random.Random(seed))
        home = sum(p for _, side, p in events if side == "home")
        away = sum(p for _, side, p in events if side == "away")
        assert home != away
        assert min(home, away) >= 60
        assert 160 <= home + away <= 340
        seconds = [s for s, _, _ in events]
        assert seconds == sorted(seconds)
        regulation = [(side, p) for s, side, p in events if s <= REGULATION_SECONDS]
        if periods == 4:
            assert max(seconds) < REGULATION_SECONDS
        else:
            overtimes += 1
            # Overtime only after a tie at the end of regulation.
            assert sum(p for side, p in regulation if side == "home") == sum(
                p for side, p in regulation if side == "away"
            )
            assert max(seconds) < REGULATION_SECONDS + (periods - 4) * 300
        totals.append(home + away)
        margins.append(home - away)
        baskets.extend(p for _, _, p in events)
    expected_home, expected_away = model.expected_points("BOS", "LAL")
    # The model's expectation and spread (400 games: standard error ~1 point on the total).
    assert statistics.mean(totals) == pytest.approx(expected_home + expected_away, abs=4.0)
    assert statistics.mean(margins) == pytest.approx(expected_home - expected_away, abs=3.0)
    assert statistics.pstdev(totals) == pytest.approx(model.total_sigma, rel=0.2)
    assert 200 <= statistics.median(totals) <= 240
    assert overtimes < 40
    threes = baskets.count(3) / len(baskets)
    assert 0.15 < threes < 0.26


def test_a_script_replays_through_live_to_its_final_score() -> None:
    model, _, _ = shipped_fit()
    for seed in range(30):
        raw = script(model, "DEN", "MIA", seed, fixture_id=f"sim-{seed}")
        timeline = load(raw)
        game = new_game(f"sim-{seed}", timeline[0].event.sport)
        for timed in timeline:
            game = apply_event(game, timed.event)
        assert game.finished
        state = game.state.basketball
        assert state.regulation_seconds == REGULATION_SECONDS
        scored = [e for e in raw["events"] if e["type"] == "POINTS_SCORED"]
        assert state.home_points == sum(e["points"] for e in scored if e["side"] == "home")
        assert state.away_points == sum(e["points"] for e in scored if e["side"] == "away")
        assert 150 <= state.home_points + state.away_points <= 340
        ended = raw["events"][-1]
        assert ended["type"] == "MATCH_ENDED"
        assert ended["elapsed"] == REGULATION_SECONDS + max(0, ended["period"] - 4) * 300
        assert all(e["elapsed"] <= ended["elapsed"] for e in raw["events"][1:])


def test_the_demo_script_is_generated_from_the_fitted_model() -> None:
    """Regenerate with `python -m services.quotes.fitting.basketball_sim --out
    services/live/scripts/basketball.json` after a change to the data or the fit."""
    model, _, _ = shipped_fit()
    shipped = (SCRIPTS / "basketball.json").read_text()
    assert shipped == dumps(script(model, "BOS", "LAL", 7))
    timeline = load_file("basketball.json")
    points = sum(t.event.points for t in timeline)
    assert 200 <= points <= 260
    assert json.loads(shipped)["fixture"]["home"]["participantId"] == "bb:celtics"
