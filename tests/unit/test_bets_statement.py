"""Quarter boundaries and the statement's figures (pure logic)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from service_runtime.errors import InvalidArgument
from services.bets.domain.statement import (
    QuarterlyStatement,
    StatementRow,
    quarter_period,
    ratio_e4,
)


def test_quarters_cover_the_year_without_gaps() -> None:
    periods = [quarter_period(2026, q) for q in (1, 2, 3, 4)]
    assert periods[0][0] == datetime(2026, 1, 1, tzinfo=UTC)
    assert periods[3][1] == datetime(2027, 1, 1, tzinfo=UTC)
    for (_, end), (start, _) in itertools.pairwise(periods):
        assert end == start
    for bad in ((2026, 0), (2026, 5), (2019, 1)):
        with pytest.raises(InvalidArgument):
            quarter_period(*bad)


def test_figures_are_exact_and_rounded_down() -> None:
    month = datetime(2026, 4, 1, tzinfo=UTC)
    rows = (StatementRow(month, False, 3_000, 2_500, 2, 1), StatementRow(month, True, 7, 1, 1, 1))
    statement = QuarterlyStatement(month, month.replace(month=7), rows, 10_000, 8_499)
    assert (statement.stakes_minor, statement.payouts_minor) == (3_007, 2_501)
    assert statement.return_to_player_e4 == 2_501 * 10_000 // 3_007
    assert statement.year_to_date_return_to_player_e4 == 8_499
    assert rows[0].gross_gaming_revenue_minor == 500
    assert ratio_e4(1, 0) == 0
