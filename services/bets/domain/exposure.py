"""The house's exposure, in two measures that are not the same quantity:

- **worst-case loss** (`bets.selection_exposure`): per market, the liability of its worst
  selection (the outcomes of a market exclude each other, so only one can win); per fixture, the
  sum of its markets' worst cases that are positive. This is what `bets.place_bet`
  (services/bets/sql/place_bet.sql) limits (`ABOVE_MARKET_MAX`, `ABOVE_EVENT_MAX`) under the
  fixtures' row locks, and what `GetExposureReport` shows: `fixture_exposure` below, from the
  selections' rows the reports read (`BetReports.selection_exposure`). The two are the same
  quantity written twice, in SQL for the locked check and here for the report, and tested
  against each other (tests/integration/test_bets_placing.py::
  test_house_liability_per_market_and_per_fixture: the report at the limits place_bet keeps).
- **open liability** (`PostgresReports.open_liability`): the stakes and the summed liabilities of
  every open bet, as if every one won: an upper bound of the book's risk, across fixtures,
  for the `betmesh.bets.open_liability` gauge. It nets nothing and limits nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SelectionExposure:
    """What the book pays out beyond the stakes if the selection wins, and the stakes on it."""

    market_id: str
    selection_id: str
    liability_minor: int
    stakes_minor: int


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


def fixture_exposure(fixture_id: str, selections: Iterable[SelectionExposure]) -> FixtureExposure:
    """Each market's worst-case loss (its worst selection's liability: only one can win) and
    its stakes, markets in the order their selections come (the store's: by market id)."""
    worst: dict[str, int] = {}
    stakes: dict[str, int] = {}
    for s in selections:
        worst[s.market_id] = max(worst.get(s.market_id, s.liability_minor), s.liability_minor)
        stakes[s.market_id] = stakes.get(s.market_id, 0) + s.stakes_minor
    return FixtureExposure(
        fixture_id,
        tuple(MarketExposureRow(m, worst[m], stakes[m]) for m in worst),
    )
