"""Football markets from a score grid, against hand-computed settlement of small grids."""

from __future__ import annotations

import numpy as np
import pytest
from betmesh.common.v1 import market_pb2, sport_pb2

from services.quotes.domain import football
from services.quotes.domain.football_markets import (
    FOOTBALL_MARKET_TYPES,
    HANDICAP_LINES_E2,
    TOTAL_LINES_E2,
    football_markets,
    format_line,
    market_table,
)
from services.quotes.domain.markets import MarketProbabilities, Outcomes

# Goals 0..2 each side. Rows: home goals; columns: away goals.
#   totals: 0: .10, 1: .28, 2: .29, 3: .23, 4: .10
#   home - away: -2: .02, -1: .13, 0: .35, +1: .38, +2: .12
HAND_GRID = np.array(
    [
        [0.10, 0.08, 0.02],
        [0.20, 0.15, 0.05],
        [0.12, 0.18, 0.10],
    ]
)


def markets_of(grid: np.ndarray) -> list[MarketProbabilities]:
    return football_markets(football.ScoreGrid(grid), "Home FC", "Away FC")


def find(
    markets: list[MarketProbabilities],
    market_type: market_pb2.MarketType.ValueType,
    line_e2: int | None = None,
    side: sport_pb2.Side.ValueType = sport_pb2.SIDE_UNSPECIFIED,
) -> dict[str, float]:
    for market in markets:
        if market.market_type == market_type and market.line_e2 == line_e2 and market.side == side:
            return {s.selection_id: s.probability for s in market.selections}
    raise AssertionError(f"no market {market_type} {line_e2} {side}")


@pytest.fixture(scope="module")
def hand() -> list[MarketProbabilities]:
    return markets_of(HAND_GRID)


def test_match_result_double_chance_and_draw_no_bet(hand: list[MarketProbabilities]) -> None:
    assert find(hand, market_pb2.MARKET_TYPE_MATCH_RESULT) == pytest.approx(
        {"home": 0.50, "draw": 0.35, "away": 0.15}, abs=1e-15
    )
    assert find(hand, market_pb2.MARKET_TYPE_DOUBLE_CHANCE) == pytest.approx(
        {"1X": 0.85, "12": 0.65, "X2": 0.50}, abs=1e-15
    )
    # A draw pushes: the fair price is the conditional probability.
    dnb = find(hand, market_pb2.MARKET_TYPE_DRAW_NO_BET)
    assert dnb["home"] == pytest.approx(
        Outcomes(win=0.5, push=0.35, lose=0.15).effective_probability(), abs=1e-15
    )
    assert dnb["home"] == pytest.approx(0.50 / 0.65, abs=1e-15)
    assert dnb["away"] == pytest.approx(0.15 / 0.65, abs=1e-15)


@pytest.mark.parametrize(
    ("line_e2", "over", "under"),
    [
        # half line: no push
        (250, Outcomes(win=0.33, lose=0.67), Outcomes(win=0.67, lose=0.33)),
        # whole line: 2 goals pushes
        (200, Outcomes(win=0.33, push=0.29, lose=0.38), Outcomes(win=0.38, push=0.29, lose=0.33)),
        # 2.25 = half on 2.0 (pushes at 2) + half on 2.5 (loses at 2 for over)
        (
            225,
            Outcomes(win=0.33, half_lose=0.29, lose=0.38),
            Outcomes(win=0.38, half_win=0.29, lose=0.33),
        ),
        # 2.75 = half on 2.5 (wins at 3) + half on 3.0 (pushes at 3)
        (
            275,
            Outcomes(win=0.10, half_win=0.23, lose=0.67),
            Outcomes(win=0.67, half_lose=0.23, lose=0.10),
        ),
        (50, Outcomes(win=0.90, lose=0.10), Outcomes(win=0.10, lose=0.90)),
        (
            75,
            Outcomes(win=0.62, half_win=0.28, lose=0.10),
            Outcomes(win=0.10, half_lose=0.28, lose=0.62),
        ),
    ],
)
def test_total_goals_pushes_and_quarter_lines(
    hand: list[MarketProbabilities], line_e2: int, over: Outcomes, under: Outcomes
) -> None:
    market = find(hand, market_pb2.MARKET_TYPE_TOTAL_GOALS, line_e2)
    assert market["over"] == pytest.approx(over.effective_probability(), abs=1e-14)
    assert market["under"] == pytest.approx(under.effective_probability(), abs=1e-14)
    assert market["over"] + market["under"] == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize(
    ("line_e2", "home", "away"),
    [
        (-50, Outcomes(win=0.50, lose=0.50), Outcomes(win=0.50, lose=0.50)),
        # level ball: the draw pushes, as draw no bet
        (0, Outcomes(win=0.50, push=0.35, lose=0.15), Outcomes(win=0.15, push=0.35, lose=0.50)),
        # -0.25 = half on 0 (draw pushes) + half on -0.5 (draw loses)
        (
            -25,
            Outcomes(win=0.50, half_lose=0.35, lose=0.15),
            Outcomes(win=0.15, half_win=0.35, lose=0.50),
        ),
        # +0.25: the draw half-wins for home
        (
            25,
            Outcomes(win=0.50, half_win=0.35, lose=0.15),
            Outcomes(win=0.15, half_lose=0.35, lose=0.50),
        ),
        # -1.75 = half on -1.5 (wins by 2) + half on -2 (pushes by 2)
        (
            -175,
            Outcomes(win=0.0, half_win=0.12, lose=0.88),
            Outcomes(win=0.88, half_lose=0.12, lose=0.0),
        ),
        (-100, Outcomes(win=0.12, push=0.38, lose=0.50), Outcomes(win=0.50, push=0.38, lose=0.12)),
        (100, Outcomes(win=0.85, push=0.13, lose=0.02), Outcomes(win=0.02, push=0.13, lose=0.85)),
        # home +3 wins every score of this grid: the away side can only lose
        (300, Outcomes(win=1.0), Outcomes(win=0.0, lose=1.0)),
    ],
)
def test_asian_handicap_win_half_win_push_half_lose_lose(
    hand: list[MarketProbabilities], line_e2: int, home: Outcomes, away: Outcomes
) -> None:
    market = find(hand, market_pb2.MARKET_TYPE_ASIAN_HANDICAP, line_e2)
    assert market["home"] == pytest.approx(home.effective_probability(), abs=1e-14)
    assert market["away"] == pytest.approx(away.effective_probability(), abs=1e-14)


def test_both_teams_to_score_and_team_totals(hand: list[MarketProbabilities]) -> None:
    assert find(hand, market_pb2.MARKET_TYPE_BOTH_TEAMS_TO_SCORE) == pytest.approx(
        {"yes": 0.48, "no": 0.52}, abs=1e-15
    )
    team = market_pb2.MARKET_TYPE_TEAM_TOTAL_GOALS
    assert find(hand, team, 50, sport_pb2.SIDE_HOME) == pytest.approx(
        {"over": 0.80, "under": 0.20}, abs=1e-15
    )
    assert find(hand, team, 150, sport_pb2.SIDE_HOME) == pytest.approx(
        {"over": 0.40, "under": 0.60}, abs=1e-15
    )
    assert find(hand, team, 50, sport_pb2.SIDE_AWAY) == pytest.approx(
        {"over": 0.58, "under": 0.42}, abs=1e-15
    )
    # No score in a goals 0..2 grid goes over 2.5: the over can only lose, so it is withdrawn (0).
    assert find(hand, team, 250, sport_pb2.SIDE_AWAY) == {"over": 0.0, "under": 1.0}


def test_correct_score_on_a_small_grid_has_no_other_mass(hand: list[MarketProbabilities]) -> None:
    scores = find(hand, market_pb2.MARKET_TYPE_CORRECT_SCORE)
    assert scores["2-1"] == pytest.approx(0.18, abs=1e-15)
    assert scores["0-2"] == pytest.approx(0.02, abs=1e-15)
    assert scores["other"] == 0.0
    assert len(scores) == 10


@pytest.fixture(scope="module")
def realistic() -> list[MarketProbabilities]:
    grid = football.dixon_coles_grid(1.7, 1.05, -0.08, 10)
    return football_markets(grid, "Arsenal", "Chelsea")


def test_full_market_set_shape(realistic: list[MarketProbabilities]) -> None:
    by_type: dict[int, list[MarketProbabilities]] = {}
    for market in realistic:
        by_type.setdefault(market.market_type, []).append(market)
    assert set(by_type) == set(FOOTBALL_MARKET_TYPES)
    totals = by_type[market_pb2.MARKET_TYPE_TOTAL_GOALS]
    assert [m.line_e2 for m in totals] == list(range(50, 551, 25))
    handicaps = by_type[market_pb2.MARKET_TYPE_ASIAN_HANDICAP]
    assert [m.line_e2 for m in handicaps] == list(range(-300, 301, 25))
    team = by_type[market_pb2.MARKET_TYPE_TEAM_TOTAL_GOALS]
    assert [(m.side, m.line_e2) for m in team] == [
        (side, line)
        for side in (sport_pb2.SIDE_HOME, sport_pb2.SIDE_AWAY)
        for line in (50, 150, 250, 350)
    ]
    scores = by_type[market_pb2.MARKET_TYPE_CORRECT_SCORE][0]
    assert len(scores.selections) == 37 and scores.selections[-1].selection_id == "other"


def test_probabilities_sum_as_each_market_should(realistic: list[MarketProbabilities]) -> None:
    for market in realistic:
        total = sum(s.probability for s in market.selections)
        expected = 2.0 if market.market_type == market_pb2.MARKET_TYPE_DOUBLE_CHANCE else 1.0
        assert total == pytest.approx(expected, abs=1e-12), market.name
        assert all(0.0 < s.probability < 1.0 for s in market.selections), market.name


def test_names_and_line_labels(realistic: list[MarketProbabilities]) -> None:
    handicap = find(realistic, market_pb2.MARKET_TYPE_ASIAN_HANDICAP, -75)
    market = next(m for m in realistic if m.name == "Asian handicap -0.75")
    assert [s.name for s in market.selections] == ["Arsenal -0.75", "Chelsea +0.75"]
    # Giving more goals can only make the home side less likely to cover.
    assert handicap["home"] < find(realistic, market_pb2.MARKET_TYPE_ASIAN_HANDICAP, -50)["home"]
    assert [s.name for s in realistic[0].selections] == ["Arsenal", "Draw", "Chelsea"]
    assert format_line(550) == "5.5" and format_line(-25, signed=True) == "-0.25"
    assert format_line(0, signed=True) == "0" and format_line(100, signed=True) == "+1"


def test_wanted_types_filter() -> None:
    grid = football.dixon_coles_grid(1.2, 1.2, 0.0, 8)
    only = football_markets(grid, "A", "B", [market_pb2.MARKET_TYPE_BOTH_TEAMS_TO_SCORE])
    assert [m.market_type for m in only] == [market_pb2.MARKET_TYPE_BOTH_TEAMS_TO_SCORE]
    assert football_markets(grid, "A", "B", []) == []


def test_match_result_agrees_with_score_grid() -> None:
    grid = football.dixon_coles_grid(1.4, 0.9, -0.1, 10)
    result = find(football_markets(grid, "A", "B"), market_pb2.MARKET_TYPE_MATCH_RESULT)
    assert [result["home"], result["draw"], result["away"]] == pytest.approx(
        list(grid.match_result()), abs=1e-15
    )


def test_batch_grids_and_table_match_single_fixtures() -> None:
    home = np.array([0.6, 1.3, 2.4])
    away = np.array([2.1, 1.1, 0.4])
    grids = football.dixon_coles_grids(home, away, -0.07, 10)
    _, table = market_table(grids)
    assert table.shape == (
        3,
        3 + 3 + 2 + 2 * len(TOTAL_LINES_E2) + 2 + 2 * len(HANDICAP_LINES_E2) + 37 + 16,
    )
    for i in range(3):
        single = football.dixon_coles_grid(float(home[i]), float(away[i]), -0.07, 10)
        assert np.allclose(grids[i], single.probabilities, atol=1e-15, rtol=0)
        _, one = market_table(single.probabilities)
        assert np.allclose(table[i], one[0], atol=1e-14, rtol=0)
