"""Settlement arithmetic, property-based: quarter lines, accumulators with voids, exact money."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.bets.domain.model import BetStatus, Outcome
from services.bets.domain.settlement import (
    FinalScore,
    UnsettleableSelection,
    bet_status,
    combined_odds_e4,
    over_outcome,
    payout,
    potential_payout,
    selection_outcome,
)

odds = st.integers(min_value=10_001, max_value=1_000_000)
stakes = st.integers(min_value=1, max_value=10_000_000)
outcomes = st.sampled_from(list(Outcome))
goals = st.integers(min_value=0, max_value=12)
# Whole, half and quarter lines, as hundredths.
lines = st.integers(min_value=-40, max_value=40).map(lambda q: q * 25)


@given(stakes, odds)
def test_a_single_pays_stake_times_odds_rounded_down(stake: int, price: int) -> None:
    assert payout(stake, [(Outcome.WIN, price)]) == stake * price // 10_000
    assert payout(stake, [(Outcome.LOSE, price)]) == 0
    assert payout(stake, [(Outcome.VOID, price)]) == stake


@given(stakes, odds)
def test_half_outcomes_are_half_the_stake_each_way(stake: int, price: int) -> None:
    half_win = payout(stake, [(Outcome.HALF_WIN, price)])
    assert (
        half_win == (Fraction(stake, 2) * Fraction(price, 10_000) + Fraction(stake, 2)).__floor__()
    )
    assert payout(stake, [(Outcome.HALF_LOSE, price)]) == stake // 2
    # Never more than a full win, never less than a full loss.
    assert stake // 2 <= half_win <= payout(stake, [(Outcome.WIN, price)])


@given(stakes, st.lists(st.tuples(outcomes, odds), min_size=1, max_size=8))
def test_void_legs_drop_out_of_an_accumulator(stake: int, legs: list[tuple[Outcome, int]]) -> None:
    without_voids = [leg for leg in legs if leg[0] is not Outcome.VOID]
    assert payout(stake, legs) == payout(stake, without_voids)


@given(stakes, st.lists(st.tuples(outcomes, odds), min_size=1, max_size=8))
def test_an_accumulator_is_the_product_of_its_legs(
    stake: int, legs: list[tuple[Outcome, int]]
) -> None:
    result = payout(stake, legs)
    assert isinstance(result, int) and result >= 0
    if any(o is Outcome.LOSE for o, _ in legs):
        assert result == 0
        assert bet_status([o for o, _ in legs]) is BetStatus.LOST
    if all(o is Outcome.WIN for o, _ in legs):
        assert result == potential_payout(stake, [p for _, p in legs])
    if all(o is Outcome.VOID for o, _ in legs):
        assert result == stake
        assert bet_status([o for o, _ in legs]) is BetStatus.VOID


@given(st.lists(odds, min_size=1, max_size=6))
def test_combined_odds_round_down(prices: list[int]) -> None:
    exact = Fraction(1)
    for p in prices:
        exact *= Fraction(p, 10_000)
    combined = combined_odds_e4(prices)
    assert combined <= exact * 10_000 < combined + 1


@given(goals, lines)
def test_a_quarter_line_is_the_average_of_its_two_halves(total: int, line: int) -> None:
    value = {
        Outcome.WIN: Fraction(1),
        Outcome.HALF_WIN: Fraction(1, 2),
        Outcome.VOID: Fraction(0),
        Outcome.HALF_LOSE: Fraction(-1, 2),
        Outcome.LOSE: Fraction(-1),
    }
    outcome = over_outcome(total, line)
    if line % 50 == 25:
        halves = [over_outcome(total, line - 25), over_outcome(total, line + 25)]
        assert value[outcome] == (value[halves[0]] + value[halves[1]]) / 2
    else:
        assert outcome in (Outcome.WIN, Outcome.LOSE, Outcome.VOID)


@given(goals, goals, lines)
def test_over_and_under_are_mirrors(home: int, away: int, line: int) -> None:
    score = FinalScore(home, away)
    over = selection_outcome("TOTAL_GOALS", line, "", "over", score)
    under = selection_outcome("TOTAL_GOALS", line, "", "under", score)
    mirror = {
        Outcome.WIN: Outcome.LOSE,
        Outcome.LOSE: Outcome.WIN,
        Outcome.VOID: Outcome.VOID,
        Outcome.HALF_WIN: Outcome.HALF_LOSE,
        Outcome.HALF_LOSE: Outcome.HALF_WIN,
    }
    assert under is mirror[over]


@given(goals, goals, lines)
def test_handicap_sides_are_mirrors(home: int, away: int, line: int) -> None:
    score = FinalScore(home, away)
    h = selection_outcome("ASIAN_HANDICAP", line, "", "home", score)
    a = selection_outcome("ASIAN_HANDICAP", line, "", "away", score)
    assert {h, a} in (
        {Outcome.WIN, Outcome.LOSE},
        {Outcome.VOID},
        {Outcome.HALF_WIN, Outcome.HALF_LOSE},
    )


@pytest.mark.parametrize(
    ("market", "line", "side", "selection", "score", "expected"),
    [
        ("TOTAL_GOALS", 225, "", "over", (1, 1), Outcome.HALF_LOSE),
        ("TOTAL_GOALS", 225, "", "over", (2, 1), Outcome.WIN),
        ("TOTAL_GOALS", 275, "", "over", (2, 1), Outcome.HALF_WIN),
        ("TOTAL_GOALS", 200, "", "under", (1, 1), Outcome.VOID),
        ("ASIAN_HANDICAP", -25, "", "home", (1, 1), Outcome.HALF_LOSE),
        ("ASIAN_HANDICAP", -75, "", "home", (2, 1), Outcome.HALF_WIN),
        ("ASIAN_HANDICAP", 25, "", "away", (1, 1), Outcome.HALF_LOSE),
        ("DRAW_NO_BET", 0, "", "home", (1, 1), Outcome.VOID),
        ("DOUBLE_CHANCE", 0, "", "home_draw", (1, 1), Outcome.WIN),
        ("DOUBLE_CHANCE", 0, "", "X2", (1, 0), Outcome.LOSE),
        ("BOTH_TEAMS_TO_SCORE", 0, "", "yes", (1, 1), Outcome.WIN),
        ("TEAM_TOTAL_GOALS", 150, "AWAY", "over", (0, 2), Outcome.WIN),
        ("CORRECT_SCORE", 0, "", "2-1", (2, 1), Outcome.WIN),
        ("MONEYLINE", 0, "", "home", (101, 99), Outcome.WIN),
        ("MATCH_RESULT", 0, "", "draw", (0, 0), Outcome.WIN),
    ],
)
def test_known_outcomes(
    market: str,
    line: int,
    side: str,
    selection: str,
    score: tuple[int, int],
    expected: Outcome,
) -> None:
    assert selection_outcome(market, line, side, selection, FinalScore(*score)) is expected


def test_abandoned_fixtures_void_and_unknown_selections_are_not_guessed() -> None:
    abandoned = FinalScore(3, 0, status="ABANDONED")
    assert selection_outcome("MATCH_RESULT", 0, "", "home", abandoned) is Outcome.VOID
    with pytest.raises(UnsettleableSelection):
        selection_outcome("MATCH_RESULT", 0, "", "nobody", FinalScore(1, 0))
    with pytest.raises(UnsettleableSelection):
        selection_outcome("UNSPECIFIED", 0, "", "home", FinalScore(1, 0))


def test_tennis_games_markets_count_games() -> None:
    score = FinalScore(2, 1, set_games=(6, 4, 3, 6, 7, 5))
    assert selection_outcome("TOTAL_GAMES", 3050, "", "over", score) is Outcome.WIN
    assert selection_outcome("GAMES_HANDICAP", -50, "", "home", score) is Outcome.WIN
    assert selection_outcome("GAMES_HANDICAP", -150, "", "home", score) is Outcome.LOSE
    assert selection_outcome("SET_BETTING", 0, "", "2-1", score) is Outcome.WIN


tied = st.integers(min_value=1, max_value=6)


@given(stakes, odds, tied)
def test_a_dead_heat_pays_the_stake_divided_by_the_tied_places(
    stake: int, price: int, places: int
) -> None:
    # The factor as a feed sends it: 1/n of the stake, in ten-thousandths, rounded down.
    factor = 10_000 // places
    paid = payout(stake, [(Outcome.WIN, price)], [factor])
    assert paid == stake * price * factor // 10_000 // 10_000
    # Never more than the plain win, and no factor at all is the plain win.
    assert paid <= payout(stake, [(Outcome.WIN, price)])
    assert payout(stake, [(Outcome.WIN, price)], [10_000]) == payout(stake, [(Outcome.WIN, price)])


@given(stakes, odds, odds, tied)
def test_a_dead_heat_leg_carries_its_share_through_an_accumulator(
    stake: int, first: int, second: int, places: int
) -> None:
    factor = 10_000 // places
    legs = [(Outcome.WIN, first), (Outcome.WIN, second)]
    exact = Fraction(stake) * Fraction(first * factor, 10_000**2) * Fraction(second, 10_000)
    assert payout(stake, legs, [factor, 10_000]) == exact.__floor__()
    # A lost or void leg is unaffected by a factor that only applies to winners.
    assert payout(stake, [(Outcome.LOSE, first)], [factor]) == 0
    assert payout(stake, [(Outcome.VOID, first)], [factor]) == stake


@given(
    stake=st.integers(min_value=0, max_value=10**9),
    prices=st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=20),
)
def test_the_integer_figures_at_placing_equal_the_fraction_rule(
    stake: int, prices: list[int]
) -> None:
    # combined_odds_e4 and potential_payout run on every bet in integers; the rule is `payout`
    # with Fractions (every leg won) and the product of the fractions, rounded down.
    product = Fraction(1)
    for o in prices:
        product *= Fraction(o, 10_000)
    assert combined_odds_e4(prices) == math.floor(product * 10_000)
    assert potential_payout(stake, prices) == payout(stake, [(Outcome.WIN, o) for o in prices])
