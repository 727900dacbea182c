"""The house's exposure, in two measures that are not the same quantity:

- **worst-case loss**: per market, the liability of its worst selection (the outcomes of a
  market exclude each other, so only one can win); per fixture, the sum of its markets' worst
  cases that are positive. Its one home is SQL, the view `bets.market_worst_case`
  (services/bets/sql/worst_case.sql) over the selections' running liabilities
  (`bets.selection_exposure`). `bets.place_bet` limits it (`ABOVE_MARKET_MAX`,
  `ABOVE_EVENT_MAX`) under the fixtures' row locks, and `GetExposureReport` shows it
  (`BetReports.exposure`, read by `PostgresReports.exposure`): the types below carry the
  view's rows and compute nothing, so the report cannot drift from what placing enforces
  (tests/integration/test_bets_place_bet_rules.py::
  test_the_exposure_report_is_the_room_place_bet_leaves).
- **open liability** (`PostgresReports.open_liability`): the stakes and the summed liabilities of
  every open bet, as if every one won: an upper bound of the book's risk, across fixtures,
  for the `betmesh.bets.open_liability` gauge. It nets nothing and limits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarketExposureRow:
    """A row of bets.market_worst_case: its worst selection's liability (negative when the
    house wins whatever happens in the market) and the stakes on the market."""

    market_id: str
    worst_case_loss_minor: int
    stakes_minor: int


@dataclass(frozen=True)
class FixtureExposure:
    fixture_id: str
    # Each market's worst-case loss and stakes, by market id.
    markets: tuple[MarketExposureRow, ...]
    # The view's fixture_worst_case_loss_minor (0 when nothing is staked on the fixture).
    worst_case_loss_minor: int
