"""The regulator's quarterly statement (ANJ, décret 2020-1349 art. 28): what was staked and paid
out on bets settled in a calendar quarter, by month and by pre-match or live, and the calendar
year's return to players so far, which art. 27 caps at an 85% average per licence per year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from service_runtime.errors import InvalidArgument


@dataclass(frozen=True)
class ReturnToPlayer:
    stakes_minor: int
    payouts_minor: int
    settled_bet_count: int


# Décret 2020-1349 art. 27: the yearly average return to players, ten-thousandths.
LEGAL_LIMIT_E4 = 8_500


@dataclass(frozen=True)
class StatementRow:
    month_start: datetime
    live: bool
    stakes_minor: int
    payouts_minor: int
    settled_bet_count: int
    active_player_count: int

    @property
    def gross_gaming_revenue_minor(self) -> int:
        return self.stakes_minor - self.payouts_minor


@dataclass(frozen=True)
class QuarterlyStatement:
    period_start: datetime
    period_end: datetime
    rows: tuple[StatementRow, ...]
    year_to_date_stakes_minor: int
    year_to_date_payouts_minor: int

    @property
    def stakes_minor(self) -> int:
        return sum(r.stakes_minor for r in self.rows)

    @property
    def payouts_minor(self) -> int:
        return sum(r.payouts_minor for r in self.rows)

    @property
    def return_to_player_e4(self) -> int:
        return ratio_e4(self.payouts_minor, self.stakes_minor)

    @property
    def year_to_date_return_to_player_e4(self) -> int:
        return ratio_e4(self.year_to_date_payouts_minor, self.year_to_date_stakes_minor)


def ratio_e4(payouts_minor: int, stakes_minor: int) -> int:
    # Exact integers, rounded down, as GetReturnToPlayerReport does.
    return payouts_minor * 10_000 // stakes_minor if stakes_minor > 0 else 0


def quarter_period(year: int, quarter: int) -> tuple[datetime, datetime]:
    """[first instant of the quarter, first instant of the next one), UTC."""
    if not 1 <= quarter <= 4 or not 2020 <= year <= 2100:
        raise InvalidArgument("QUARTER_INVALID", "quarter must be 1-4 of a year 2020-2100")
    start = datetime(year, 3 * (quarter - 1) + 1, 1, tzinfo=UTC)
    end = (
        datetime(year + 1, 1, 1, tzinfo=UTC)
        if quarter == 4
        else start.replace(month=start.month + 3)
    )
    return start, end
