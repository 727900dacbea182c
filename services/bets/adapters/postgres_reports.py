"""The operators' reports on PostgreSQL (schema "bets"): return to player, the quarterly
statement's rows, exposure, and the open liability the metrics read. Read only; blocking."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.bets.domain.exposure import FixtureExposure, MarketExposureRow
from services.bets.domain.statement import ReturnToPlayer, StatementRow


class PostgresReports:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def return_to_player(self, start: datetime, end: datetime) -> ReturnToPlayer:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.text(
                    # Partial cash-outs count as what they are: stake closed, money paid.
                    "SELECT coalesce(sum(stake_minor + cashed_out_stake_minor), 0) AS stakes,"
                    " coalesce(sum(payout_minor + cashed_out_minor), 0) AS payouts,"
                    " count(*) AS n FROM bets.bets"
                    " WHERE settled_at >= :a AND settled_at < :b AND status <> 'VOID'"
                ),
                {"a": start, "b": end},
            ).one()
        return ReturnToPlayer(int(row.stakes), int(row.payouts), int(row.n))

    def open_liability(self) -> tuple[int, int]:
        """(stakes, summed liabilities) of the bets still open, as if every one won: an upper
        bound of the book's risk, not the worst-case loss place_bet limits (domain/exposure.py)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.text(
                    "SELECT coalesce(sum(stake_minor), 0) AS stakes,"
                    " coalesce(sum(liability_minor), 0) AS liabilities FROM bets.bets"
                    " WHERE status IN ('PENDING', 'ACCEPTED')"
                )
            ).one()
        return int(row.stakes), int(row.liabilities)

    def statement_rows(self, start: datetime, end: datetime) -> list[StatementRow]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    # The same figures as return_to_player, per month (UTC) and live or not.
                    "SELECT date_trunc('month', settled_at AT TIME ZONE 'UTC') AS month, live,"
                    " coalesce(sum(stake_minor + cashed_out_stake_minor), 0) AS stakes,"
                    " coalesce(sum(payout_minor + cashed_out_minor), 0) AS payouts,"
                    " count(*) AS n, count(DISTINCT player_id) AS players FROM bets.bets"
                    " WHERE settled_at >= :a AND settled_at < :b AND status <> 'VOID'"
                    " GROUP BY 1, 2 ORDER BY 1, 2"
                ),
                {"a": start, "b": end},
            ).all()
        return [
            StatementRow(
                row.month.replace(tzinfo=UTC),
                bool(row.live),
                int(row.stakes),
                int(row.payouts),
                int(row.n),
                int(row.players),
            )
            for row in rows
        ]

    def exposure(self, fixture_id: str) -> FixtureExposure:
        # The measure is the view's (services/bets/sql/worst_case.sql), the one place_bet
        # limits; here only its rows, read by the fixture's id (its primary key, not a scan).
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT market_id, worst_case_loss_minor, stakes_minor,"
                    " fixture_worst_case_loss_minor FROM bets.market_worst_case"
                    " WHERE fixture_id = :f ORDER BY market_id"
                ),
                {"f": fixture_id},
            ).all()
        return FixtureExposure(
            fixture_id,
            tuple(
                MarketExposureRow(r.market_id, int(r.worst_case_loss_minor), int(r.stakes_minor))
                for r in rows
            ),
            # The same on every row of the fixture; none: nothing staked on it.
            int(rows[0].fixture_worst_case_loss_minor) if rows else 0,
        )
