"""Tennis scripts drawn from the fitted model (services/live/generated.py): matches agree with
the priced Markov model's own probabilities, every score is a legal tennis score with the serve
where the live service has it, and the demo's script is the generator's."""

from __future__ import annotations

import json
import math
import random

import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from services.live.domain import tennis as live_tennis
from services.live.domain.game import apply_event, new_game
from services.live.generated import draw_tennis_match, tennis_script
from services.live.simulator import SCRIPTS, load, load_file
from services.quotes.domain import tennis
from services.quotes.domain.pricing import serve_probabilities
from services.quotes.fitting.basketball_sim import dumps
from services.quotes.fitting.tennis import fit_shipped_surfaces
from services.quotes.fitting.tennis_sim import player, script

FIXTURE = {
    "fixture_id": "gen-tennis",
    "sport": "tennis",
    "home": {"participant_id": "tn:a", "name": "A"},
    "away": {"participant_id": "tn:b", "name": "B"},
}
DRAWS = 3000


def legal_set(home: int, away: int) -> bool:
    high, low = max(home, away), min(home, away)
    return (high == 6 and low <= 4) or (high == 7 and low in (5, 6))


@pytest.mark.parametrize(
    ("pa", "pb", "best_of"),
    [(0.62, 0.62, 3), (0.66, 0.60, 3), (0.70, 0.58, 5), (0.55, 0.68, 3)],
)
def test_draws_follow_the_priced_model(pa: float, pb: float, best_of: int) -> None:
    """Match winner, set betting and total games of many seeded draws agree with the exact
    distribution the pricing computes, within sampling error."""
    model = tennis.match_distribution(pa, pb, tennis.TennisRules(best_of, 6, True, 7))
    matches = [draw_tennis_match(pa, pb, best_of, random.Random(seed)) for seed in range(DRAWS)]
    won = sum(m.home_won for m in matches) / DRAWS
    # 4 standard errors of a binomial share: a wrong model (or serve order) is far outside.
    assert abs(won - model.win) < 4 * math.sqrt(model.win * (1 - model.win) / DRAWS)
    for score, p in model.set_scores.items():
        seen = sum(
            1
            for m in matches
            if (sum(h > a for h, a in m.set_games), sum(a > h for h, a in m.set_games)) == score
        )
        assert abs(seen / DRAWS - p) < 4 * math.sqrt(p * (1 - p) / DRAWS) + 1e-9, score
    expected_games = sum(i * m for i, m in enumerate(model.total_games))
    spread = math.sqrt(sum((i - expected_games) ** 2 * m for i, m in enumerate(model.total_games)))
    games = [sum(h + a for h, a in m.set_games) for m in matches]
    assert abs(sum(games) / DRAWS - expected_games) < 4 * spread / math.sqrt(DRAWS)


def replay(raw: dict[str, object], best_of: int) -> list[tuple[bool, str]]:
    """Replays a script through the live service's scoring; returns, point by point, whether
    the live service had home serving and who won the point."""
    timeline = load(raw)
    game = new_game(timeline[0].event.fixture_id, sport_pb2.SPORT_TENNIS, best_of)
    points: list[tuple[bool, str]] = []
    for timed in timeline:
        if timed.event.type == me.MATCH_EVENT_TYPE_POINT_WON:
            home = timed.event.side == sport_pb2.SIDE_HOME
            points.append((game.state.tennis.home_serving, "H" if home else "A"))
        game = apply_event(game, timed.event)
    assert game.finished
    return points


@pytest.mark.parametrize("best_of", [3, 5])
def test_every_drawn_match_is_a_legal_tennis_match_the_live_service_replays(best_of: int) -> None:
    for seed in range(60):
        raw = tennis_script(FIXTURE, 0.64, 0.61, random.Random(seed), best_of)
        drawn = draw_tennis_match(0.64, 0.61, best_of, random.Random(seed))
        need = best_of // 2 + 1
        sets_won = [sum(h > a for h, a in drawn.set_games), sum(a > h for h, a in drawn.set_games)]
        assert max(sets_won) == need and min(sets_won) < need
        assert all(legal_set(h, a) for h, a in drawn.set_games), drawn.set_games
        for games, (home, away) in zip(drawn.sets, drawn.set_games, strict=True):
            assert len(games) == home + away
            for k, points in enumerate(games):
                tiebreak = k == 12
                mine, theirs = sorted((points.count("H"), points.count("A")), reverse=True)
                assert mine - theirs >= 2
                assert mine == (7 if tiebreak else 4) or mine - theirs == 2
        replay(raw, best_of)  # the live service takes every point and ends the match
        timeline = load(raw)
        state = new_game("x", sport_pb2.SPORT_TENNIS, best_of)
        for timed in timeline:
            state = apply_event(state, timed.event)
        final = [(s.home_games, s.away_games) for s in state.state.tennis.sets]
        assert final == list(drawn.set_games)
        winner = live_tennis.match_winner(state.state.tennis, best_of)
        assert winner == (sport_pb2.SIDE_HOME if drawn.home_won else sport_pb2.SIDE_AWAY)
        assert [t.at for t in timeline] == sorted(t.at for t in timeline)
        assert timeline[-1].event.type == me.MATCH_EVENT_TYPE_MATCH_ENDED


def test_the_server_is_the_one_the_live_service_has_serving() -> None:
    """With strong servers the server wins almost every point: so the generator's serve order
    (games, tie-breaks, the next set's first server) is the live service's."""
    served = won = 0
    for seed in range(10):
        raw = tennis_script(FIXTURE, 0.97, 0.96, random.Random(seed), 3)
        for home_serving, winner in replay(raw, 3):
            served += 1
            won += (winner == "H") == home_serving
    assert won / served > 0.93  # about 0.965; a wrong server would give about 0.5


def test_impossible_inputs_are_refused() -> None:
    for pa, pb, best_of in ((0.0, 0.6, 3), (0.6, 1.0, 3), (0.6, 0.6, 4)):
        with pytest.raises(ValueError):
            draw_tennis_match(pa, pb, best_of, random.Random(1))


def test_the_demo_script_is_drawn_from_the_fitted_model() -> None:
    """Regenerate with `python -m services.quotes.fitting.tennis_sim --out
    services/live/scripts/tennis.json` after a change to the data or the fit."""
    snapshot = fit_shipped_surfaces()["hard"]
    shipped = (SCRIPTS / "tennis.json").read_text()
    assert shipped == dumps(script(snapshot, "tn:jannik-sinner", "tn:carlos-alcaraz", 3))
    raw = json.loads(shipped)
    assert raw["fixture"]["home"]["name"] == "Jannik Sinner"
    assert len(load_file("tennis.json")) > 100
    home = player(snapshot, "tn:jannik-sinner")
    away = player(snapshot, "tn:carlos-alcaraz")
    pa, pb = serve_probabilities(snapshot.tennis, home, away)
    assert 0.55 < pa < 0.75 and 0.55 < pb < 0.75
