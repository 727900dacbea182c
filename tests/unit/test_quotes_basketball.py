"""Basketball normal model: symmetry, overtime handling, pushes on whole lines."""

from __future__ import annotations

import math

import pytest
from betmesh.common.v1 import market_pb2

from services.quotes.domain import basketball

ALL = basketball.MARKET_TYPES


def expectation(margin: float, total: float = 220.0) -> basketball.Expectation:
    return basketball.Expectation(margin, total, 12.0, 18.0)


def test_the_discretised_normal_sums_to_one() -> None:
    dist = basketball.discrete_normal(3.3, 12.0)
    assert sum(dist.values()) == pytest.approx(1.0, abs=1e-12)


def test_equal_teams_are_even_and_overtime_removes_the_draw() -> None:
    final = basketball.final_margin(expectation(0.0))
    assert 0 not in final
    assert sum(final.values()) == pytest.approx(1.0, abs=1e-12)
    (moneyline, *_) = basketball.basketball_markets(expectation(0.0), "H", "A", ALL)
    assert [s.probability for s in moneyline.selections] == pytest.approx([0.5, 0.5], abs=1e-12)


def test_moneyline_follows_the_normal_margin() -> None:
    e = expectation(5.0)
    (moneyline,) = basketball.basketball_markets(e, "H", "A", [market_pb2.MARKET_TYPE_MONEYLINE])
    home = moneyline.selections[0].probability
    continuous = 0.5 * math.erfc(-5.0 / 12.0 / math.sqrt(2))
    assert home == pytest.approx(continuous, abs=0.01)
    # The regulation tie mass goes mostly to the better team in overtime.
    regulation = basketball.discrete_normal(5.0, 12.0)
    assert home > sum(m for k, m in regulation.items() if k > 0)


def test_spread_lines_surround_the_expected_margin_and_whole_lines_push() -> None:
    markets = basketball.basketball_markets(
        expectation(6.2), "H", "A", [market_pb2.MARKET_TYPE_POINT_SPREAD]
    )
    lines = [m.line_e2 for m in markets]
    assert lines == [-850, -750, -700, -650, -600, -550, -450]
    for market in markets:
        home, away = (s.probability for s in market.selections)
        # Effective probabilities of the two sides of a two-way line sum to 1, push or not.
        assert home + away == pytest.approx(1.0, abs=1e-12)
    whole = next(m for m in markets if m.line_e2 == -600)
    final = basketball.final_margin(expectation(6.2))
    win = sum(p for k, p in final.items() if k > 6)
    lose = sum(p for k, p in final.items() if k < 6)
    assert whole.selections[0].probability == pytest.approx(win / (win + lose), abs=1e-12)


def test_totals_are_centred_on_the_expected_total() -> None:
    markets = basketball.basketball_markets(
        expectation(0.0, 220.0), "H", "A", [market_pb2.MARKET_TYPE_TOTAL_POINTS]
    )
    centre = next(m for m in markets if m.line_e2 == 22050)
    over = centre.selections[0].probability
    assert over == pytest.approx(0.5 - 0.5 / (18.0 * math.sqrt(2 * math.pi)), abs=1e-3)
