"""The house's exposure, in two measures that are not the same quantity:

- **worst-case loss** (`bets.selection_exposure`): per market, the liability of its worst
  selection (the outcomes of a market exclude each other, so only one can win); per fixture, the
  sum of its markets' worst cases that are positive. This is what `bets.place_bet`
  (services/bets/sql/place_bet.sql) limits (`ABOVE_MARKET_MAX`, `ABOVE_EVENT_MAX`) under the
  fixtures' row locks, and what `GetExposureReport` shows, through `fixture_worst_case_loss`
  below (`FixtureExposure`) on the per-market rows the reports read (`BetReports.exposure`).
- **open liability** (`PostgresReports.open_liability`): the stakes and the summed liabilities of
  every open bet, as if every one won: an upper bound of the book's risk, across fixtures,
  for the `betmesh.bets.open_liability` gauge. It nets nothing and limits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarketExposureRow:
    market_id: str
    worst_case_loss_minor: int
    stakes_minor: int


@dataclass(frozen=True)
class FixtureExposure:
    fixture_id: str
    # Each market's worst-case loss and stakes, by market id.
    markets: tuple[MarketExposureRow, ...]

    @property
    def worst_case_loss_minor(self) -> int:
        """The fixture's worst case: its markets' worst cases, the positive ones summed (as
        place_bet's ABOVE_EVENT_MAX sums `greatest(worst, 0)`)."""
        return sum(max(m.worst_case_loss_minor, 0) for m in self.markets)
