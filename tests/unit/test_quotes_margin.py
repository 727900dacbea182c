"""Margin methods, the margin scale, ladder rounding, floor and withdrawal: the integer edges."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.quotes.domain import ladder, margin
from services.quotes.domain.markets import Outcomes

METHODS = list(margin.Method)
E4 = margin.PAYOUT_SCALE
Q = margin.IMPLIED_SCALE


def e9(*probabilities: float) -> list[int]:
    return [margin.to_probability_e9(p) for p in probabilities]


def payout_before_rounding(implied: tuple[list[int], int]) -> Fraction:
    """1 / booksum of the margined implied probabilities, in ten-thousandths."""
    numerators, denominator = implied
    return Fraction(E4 * denominator, sum(numerators))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("target", [8_500, 9_000, 9_650])
@pytest.mark.parametrize(
    "probabilities",
    [
        (0.5, 0.3, 0.2),
        (0.45, 0.55),
        (0.7, 0.2, 0.06, 0.04),
        (0.25, 0.25, 0.25, 0.25),
        # In play: a near-certain favourite (a bare Newton step overflowed the power method).
        (0.97, 0.025, 0.005),
        (0.999999, 0.0000009, 0.0000001),
    ],
)
def test_each_method_hits_the_target_before_rounding_and_never_exceeds_it_after(
    method: margin.Method, target: int, probabilities: tuple[float, ...]
) -> None:
    p = e9(*probabilities)
    implied = margin.implied_probabilities(method, p, target)
    before = payout_before_rounding(implied)
    assert before <= target
    assert float(target - before) < 1e-6  # equal up to the 1e-18 integer rounding
    priced = margin.price(p, method, target, 10_100)
    assert priced.payout_e4 <= target
    exact_after = Fraction(E4) / sum(
        (Fraction(E4, s.odds_e4) if s.odds_e4 else Fraction(s.implied_e18, Q))
        for s in priced.selections
    )
    assert exact_after <= target
    assert priced.payout_e4 == int(exact_after) or priced.payout_e4 == int(exact_after) - 1


def test_methods_differ_where_they_should() -> None:
    p = e9(0.7, 0.2, 0.1)
    relative = {}
    for method in METHODS:
        numerators, denominator = margin.implied_probabilities(method, p, 8_500)
        relative[method] = [
            q / denominator / (x / 10**9) for q, x in zip(numerators, p, strict=True)
        ]
    # Multiplicative: the same relative margin everywhere.
    mult = relative[margin.Method.MULTIPLICATIVE]
    assert max(mult) - min(mult) < 1e-12
    # Every other method loads the longshot relatively more than the favourite.
    for method in (
        margin.Method.ADDITIVE,
        margin.Method.ODDS_PROPORTIONAL,
        margin.Method.POWER,
        margin.Method.SHIN,
        margin.Method.ODDS_RATIO,
    ):
        assert relative[method][2] > relative[method][0], method
    # Odds-proportional puts more on the longshot than additive's equal shares.
    assert relative[margin.Method.ODDS_PROPORTIONAL][2] > relative[margin.Method.ADDITIVE][2]


def test_multiplicative_prices_round_down_to_the_ladder() -> None:
    priced = margin.price(e9(0.5, 0.3, 0.2), margin.Method.MULTIPLICATIVE, 8_500, 10_100)
    # 0.85 / 0.5 = 1.70, 0.85 / 0.3 = 2.833 -> 2.82, 0.85 / 0.2 = 4.25 -> 4.2
    assert [s.odds_e4 for s in priced.selections] == [17_000, 28_200, 42_000]
    assert all(s.odds_e4 in ladder.LADDER for s in priced.selections)
    assert priced.payout_e4 <= 8_500


def test_a_price_below_1_01_is_withdrawn_not_mispriced() -> None:
    priced = margin.price(e9(0.95, 0.05), margin.Method.MULTIPLICATIVE, 8_500, 10_100)
    favourite, longshot = priced.selections
    assert favourite.withdrawn and favourite.odds_e4 == 0  # 0.85 / 0.95 < 1.01
    assert longshot.odds_e4 == 170_000
    # The withdrawn selection still counts at its margined probability: the payout stays capped.
    assert priced.payout_e4 <= 8_500


def test_a_higher_minimum_withdraws_more() -> None:
    priced = margin.price(e9(0.8, 0.2), margin.Method.MULTIPLICATIVE, 8_500, 11_000)
    assert priced.selections[0].withdrawn  # 0.85 / 0.8 = 1.0625 < 1.10
    assert priced.selections[1].odds_e4 == 42_000


def test_longshots_stop_at_the_top_of_the_ladder() -> None:
    priced = margin.price([999_999_000, 1_000, 0], margin.Method.MULTIPLICATIVE, 8_500, 10_100)
    favourite, longshot, impossible = priced.selections
    assert favourite.withdrawn
    assert longshot.odds_e4 == ladder.MAX_ODDS_E4  # 850,000 would be off the ladder
    assert impossible.odds_e4 == ladder.MAX_ODDS_E4
    assert priced.payout_e4 <= 8_500


def test_overlapping_selections_price_against_their_probability_sum() -> None:
    # Double chance: 1X, 12, X2 from 1X2 = 0.5 / 0.25 / 0.25; they sum to 2.
    p = e9(0.75, 0.75, 0.5)
    priced = margin.price(p, margin.Method.MULTIPLICATIVE, 8_500, 10_100, probability_sum=2)
    assert [s.odds_e4 for s in priced.selections] == [11_300, 11_300, 17_000]
    assert 8_400 < priced.payout_e4 <= 8_500


def test_payout_above_100_percent_is_refused() -> None:
    with pytest.raises(ValueError, match="payout_e4"):
        margin.implied_probabilities(margin.Method.MULTIPLICATIVE, e9(0.5, 0.5), 10_001)


def test_the_probability_rounding_rule() -> None:
    assert margin.to_probability_e9(0.5) == 500_000_000
    assert margin.to_probability_e9(0.4999999994) == 499_999_999
    assert margin.to_probability_e9(0.4999999995) == 500_000_000
    assert margin.to_probability_e9(-1e-12) == 0
    assert margin.to_probability_e9(float("nan")) == 0
    assert margin.to_probability_e9(1.0000001) == 1_000_000_000


def test_effective_probability_of_a_push_or_split_line_gives_fair_odds() -> None:
    # Asian handicap home -0.25 = half on 0, half on -0.5: a draw loses half the stake.
    home = Outcomes(win=0.45, half_lose=0.27, lose=0.28)
    odds = 1 / home.effective_probability()
    assert 0.45 * (odds - 1) - 0.27 / 2 - 0.28 == pytest.approx(0.0, abs=1e-12)
    # Whole line: a push refunds, so the effective probability ignores it.
    push = Outcomes(win=0.4, push=0.2, lose=0.4)
    assert push.effective_probability() == pytest.approx(0.5)
    # Quarter line the other way (+0.25): a draw wins half.
    away = Outcomes(win=0.28, half_win=0.27, lose=0.45)
    assert home.effective_probability() + away.effective_probability() == pytest.approx(1.0)


def test_a_quarter_line_market_returns_at_most_the_payout_to_either_side() -> None:
    home = Outcomes(win=0.45, half_lose=0.27, lose=0.28)
    away = Outcomes(win=0.28, half_win=0.27, lose=0.45)
    p = e9(home.effective_probability(), away.effective_probability())
    priced = margin.price(p, margin.Method.MULTIPLICATIVE, 8_500, 10_100)
    for outcome, selection in zip((home, away), priced.selections, strict=True):
        o = selection.odds_e4 / E4
        # Expected return per unit stake: wins pay o, half wins (o + 1) / 2, half losses 1/2.
        expected = outcome.win * o + outcome.half_win * (o + 1) / 2 + outcome.push
        expected += outcome.half_lose / 2
        gain = outcome.win + outcome.half_win / 2
        loss = outcome.half_lose / 2 + outcome.lose
        # On the effective-probability scale the player gets at most 85% of a fair bet.
        assert gain * (o - 1) - loss < 0
        assert expected < 1


@settings(max_examples=150, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=12),
    method=st.sampled_from(METHODS),
    target=st.integers(min_value=5_000, max_value=10_000),
    cap=st.integers(min_value=5_000, max_value=10_000),
)
def test_no_market_ever_pays_more_than_its_target(
    weights: list[int], method: margin.Method, target: int, cap: int
) -> None:
    if sum(weights) == 0:
        weights = [1, *weights[1:]]
    total = sum(weights)
    p = [w * 1_000_000_000 // total for w in weights]
    payout = min(target, cap)
    priced = margin.price(p, method, payout, 10_100)
    assert priced.payout_e4 <= payout <= cap
    for s in priced.selections:
        if s.odds_e4:
            assert s.odds_e4 in ladder.LADDER
            # Never more generous than the margined probability allows (implied_e18 is
            # rounded up, hence the one-unit slack).
            assert s.odds_e4 * (s.implied_e18 - 1) <= E4 * Q or s.implied_e18 == 0
        else:
            assert s.implied_e18 * 10_100 > E4 * Q  # withdrawn only below 1.01


# ---- the favourite-longshot method and short prices ---------------------------------------

OR = margin.Method.ODDS_RATIO


@pytest.mark.parametrize("target", [8_000, 8_500, 9_300])
@pytest.mark.parametrize(
    "probabilities",
    [(0.95, 0.05), (0.84, 0.16), (0.6, 0.25, 0.15), (0.9, 0.07, 0.02, 0.01), (0.5, 0.5)],
)
def test_odds_ratio_gives_the_configured_overround_and_shortens_favourites_least(
    target: int, probabilities: tuple[float, ...]
) -> None:
    p = e9(*probabilities)
    numerators, denominator = margin.implied_probabilities(OR, p, target)
    # The overround is the policy's: booksum 1 / target, up to the 1e-18 rounding.
    assert float(abs(payout_before_rounding((numerators, denominator)) - target)) < 1e-6
    implied = [Fraction(q, denominator) for q in numerators]
    # Odds ratio holds: q / (1 - q) = c p / (1 - p), the same c for every selection.
    ratios = [
        (q / (1 - q)) / (Fraction(x, 10**9) / (1 - Fraction(x, 10**9)))
        for q, x in zip(implied, p, strict=True)
    ]
    assert float(max(ratios) - min(ratios)) < 1e-9
    # Price cut relative to fair odds (implied / p) grows from favourite to longshot.
    cuts = [q / Fraction(x, 10**9) for q, x in zip(implied, p, strict=True)]
    order = sorted(range(len(p)), key=lambda i: -p[i])
    for shorter, longer in itertools.pairwise(order):
        if p[shorter] > p[longer]:
            assert cuts[shorter] < cuts[longer]
    assert all(q < 1 for q in implied)


def test_a_095_favourite_stays_on_offer() -> None:
    for method in METHODS:
        priced = margin.price(e9(0.95, 0.05), method, 8_500, 10_100, floor_short=True)
        favourite, longshot = priced.selections
        assert not favourite.withdrawn, method
        assert favourite.odds_e4 >= 10_100
        assert favourite.odds_e4 * 950_000_000 <= 10**13  # never above fair (1.0526)
        assert 10_100 <= longshot.odds_e4 <= 200_000
    # The odds ratio keeps it at 1.01 without needing the floor; the others needed it.
    natural = margin.price(e9(0.95, 0.05), OR, 8_500, 10_100)
    assert natural.selections[0].odds_e4 == 10_100
    assert natural.payout_e4 <= 8_500
    plain = margin.price(e9(0.95, 0.05), margin.Method.MULTIPLICATIVE, 8_500, 10_100)
    assert plain.selections[0].withdrawn


def test_the_floor_never_pays_above_fair_and_withdraws_what_it_cannot_cover() -> None:
    # Fair 1.005: even 1.01 would give the player an edge, so it is withdrawn, floor or not.
    priced = margin.price(e9(0.995, 0.005), OR, 8_500, 10_100, floor_short=True)
    assert priced.selections[0].withdrawn and not priced.selections[1].withdrawn
    # Fair exactly 1.01: offered at the floor (zero edge either way).
    p = [990_099_009, 9_900_991]
    floored = margin.price(p, margin.Method.MULTIPLICATIVE, 8_500, 10_100, floor_short=True)
    assert floored.selections[0].odds_e4 == 10_100
    # A higher policy floor: offered at it, not at the ladder price under it.
    higher = margin.price(
        e9(0.85, 0.15), margin.Method.MULTIPLICATIVE, 8_500, 11_000, floor_short=True
    )
    assert higher.selections[0].odds_e4 == 11_000
    # The stated payout counts the floored price as offered.
    exact = Fraction(E4) / sum(Fraction(E4, s.odds_e4) for s in higher.selections)
    assert higher.payout_e4 == int(exact)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=12),
    method=st.sampled_from(METHODS),
    target=st.integers(min_value=5_000, max_value=10_000),
    floor=st.sampled_from([10_100, 10_500, 12_000]),
)
def test_nothing_is_offered_under_the_floor_or_above_fair(
    weights: list[int], method: margin.Method, target: int, floor: int
) -> None:
    if sum(weights) == 0:
        weights = [1, *weights[1:]]
    total = sum(weights)
    p = [w * 1_000_000_000 // total for w in weights]
    priced = margin.price(p, method, target, floor, floor_short=True)
    for x, s in zip(p, priced.selections, strict=True):
        if s.odds_e4:
            assert s.odds_e4 >= floor
            assert s.odds_e4 * x <= 10**13 * sum(p) // 10**9
        else:
            # Withdrawn only when the floor itself would be above the fair odds.
            assert floor * x * 10**9 > 10**13 * sum(p) or floor * x > 10**13


@pytest.mark.parametrize(("target", "scale"), [(8_500, 10_000), (8_500, 15_000), (9_300, 20_000)])
def test_the_margin_scale_multiplies_the_overround(target: int, scale: int) -> None:
    scaled = margin.scaled_payout_e4(target, scale)
    overround = Fraction(E4, target) - 1
    wanted = 1 / (1 + overround * Fraction(scale, E4)) * E4
    assert scaled == int(wanted)  # rounded down: never more generous than the steer
    assert scaled <= target
