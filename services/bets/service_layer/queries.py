"""Reads and reports through the store (rules: domain/queries.py, exposure.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.bets.domain import queries, requests
from services.bets.domain.exposure import FixtureExposure
from services.bets.domain.model import Bet, BetStatus
from services.bets.domain.operators import require_operator
from services.bets.domain.ports import BetReports, BetStore
from services.bets.domain.statement import QuarterlyStatement, ReturnToPlayer
from services.bets.domain.wallet import Caller, authorize


class Queries:
    def __init__(self, store: BetStore, reports: BetReports, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.reports = reports
        self._clock = clock

    def get(self, bet_id: str, caller: Caller | None) -> Bet:
        known = queries.check_get(bet_id, caller)
        return queries.visible(bet_id, known, self.store.get_bet(bet_id))

    def list_bets(
        self,
        player_id: str,
        statuses: list[BetStatus],
        page_size: int,
        page_token: str,
        caller: Caller | None,
    ) -> tuple[list[Bet], str]:
        requests.check_player_id(player_id)
        authorize(caller, player_id)
        size = requests.page_size(page_size)
        before = queries.page_after(page_token)
        return queries.page(self.store.list_bets(player_id, statuses, before, size + 1), size)

    def return_to_player(
        self, start: datetime | None, end: datetime | None, caller: Caller | None
    ) -> ReturnToPlayer:
        require_operator(caller)
        return self.reports.return_to_player(*queries.report_period(start, end, self._clock()))

    def quarterly_statement(
        self, year: int, quarter: int, caller: Caller | None
    ) -> QuarterlyStatement:
        require_operator(caller)
        start, end, until = queries.statement_until(year, quarter, self._clock())
        year_start = start.replace(month=1)
        to_date = self.reports.return_to_player(year_start, until) if until > year_start else None
        rows = self.reports.statement_rows(start, until) if until > start else []
        return queries.statement(start, end, rows, to_date)

    def exposure(self, fixture_id: str, caller: Caller | None) -> FixtureExposure:
        require_operator(caller)
        queries.check_exposure(fixture_id)
        return self.reports.exposure(fixture_id)
