"""Tennis Markov model against closed forms and known properties."""

from __future__ import annotations

import functools

import pytest

from services.quotes.domain import tennis

BO3 = tennis.TennisRules(3, 6, True, 7)
BO5 = tennis.TennisRules(5, 6, True, 10)


def game_by_recursion(p: float) -> float:
    """An independent DP: points to 4, win by 2, deuce capped far out."""

    @functools.cache
    def win(a: int, b: int) -> float:
        if a >= 4 and a - b >= 2:
            return 1.0
        if b >= 4 and b - a >= 2:
            return 0.0
        if a + b > 200:
            return 0.5
        return p * win(a + 1, b) + (1 - p) * win(a, b + 1)

    return win(0, 0)


@pytest.mark.parametrize("p", [0.3, 0.5, 0.6, 0.64, 0.75, 0.9])
def test_game_win_matches_the_closed_form_and_an_independent_recursion(p: float) -> None:
    q = 1 - p
    closed = p**4 * (1 + 4 * q + 10 * q**2) + 20 * p**3 * q**3 * p**2 / (1 - 2 * p * q)
    assert tennis.game_win(p) == pytest.approx(closed, abs=1e-12)
    assert tennis.game_win(p) == pytest.approx(game_by_recursion(p), abs=1e-12)


def test_known_values() -> None:
    assert tennis.game_win(0.5) == pytest.approx(0.5)
    assert tennis.game_win(0.6) == pytest.approx(0.735729, abs=1e-6)
    assert tennis.tiebreak_win(0.6, 0.6, 7) == pytest.approx(0.5, abs=1e-12)
    assert tennis.tiebreak_win(0.6, 0.6, 10) == pytest.approx(0.5, abs=1e-12)


def test_a_longer_tiebreak_favours_the_better_player_more() -> None:
    assert 0.5 < tennis.tiebreak_win(0.66, 0.62, 7) < tennis.tiebreak_win(0.66, 0.62, 10)


@pytest.mark.parametrize("rules", [BO3, BO5, tennis.TennisRules(5, 0, False, 7)])
def test_symmetric_players_are_even_in_everything(rules: tennis.TennisRules) -> None:
    dist = tennis.match_distribution(0.64, 0.64, rules)
    assert dist.win == pytest.approx(0.5, abs=1e-12)
    for (a, b), p in dist.set_scores.items():
        assert p == pytest.approx(dist.set_scores[(b, a)], abs=1e-12)
    margins = dist.games_margin
    assert margins == pytest.approx(list(reversed(margins)), abs=1e-12)
    assert sum(dist.total_games) == pytest.approx(1.0, abs=1e-12)


def test_best_of_five_amplifies_the_favourite() -> None:
    three = tennis.match_distribution(0.67, 0.63, BO3).win
    five = tennis.match_distribution(0.67, 0.63, BO5).win
    assert 0.5 < three < five < 1


def test_the_shortest_match_has_the_closed_form_probability() -> None:
    pa, pb = 0.66, 0.6
    ha, hb = tennis.game_win(pa), tennis.game_win(pb)
    # A 6-0 set is three holds and three breaks, whoever serves first.
    bagel_a = ha**3 * (1 - hb) ** 3
    bagel_b = hb**3 * (1 - ha) ** 3
    dist = tennis.match_distribution(pa, pb, BO3)
    assert dist.total_games[12] == pytest.approx(bagel_a**2 + bagel_b**2, rel=1e-9)
    assert dist.total_games[:12] == [0.0] * 12


def test_set_betting_adds_up_to_the_match_winner() -> None:
    dist = tennis.match_distribution(0.68, 0.62, BO5)
    assert sum(dist.set_scores.values()) == pytest.approx(1.0, abs=1e-12)
    assert set(dist.set_scores) == {(3, 0), (3, 1), (3, 2), (0, 3), (1, 3), (2, 3)}
    won = sum(p for (a, b), p in dist.set_scores.items() if a > b)
    assert won == pytest.approx(dist.win, abs=1e-12)


def test_an_advantage_set_is_resolved_in_closed_form_beyond_the_cap() -> None:
    outcomes = tennis.set_distribution(0.95, 0.95, 0.0, 0.0, 0, True)
    assert sum(m for _, _, m in outcomes) == pytest.approx(1.0, abs=1e-12)
    # Equal servers: even, and the tail lump sits two games past the cap.
    a_wins = sum(m for a, b, m in outcomes if a > b)
    assert a_wins == pytest.approx(0.5, abs=1e-12)
    assert max(a + b for a, b, _ in outcomes) == 2 * tennis.ADVANTAGE_CAP + 2


def test_the_matchup_formula() -> None:
    # A's serve loses as many points as B's return is better than the average return.
    assert tennis.matchup_serve_probability(0.70, 0.42, 0.38) == pytest.approx(0.66)
    assert tennis.matchup_serve_probability(0.99, 0.10, 0.40) == tennis.MAX_POINT
