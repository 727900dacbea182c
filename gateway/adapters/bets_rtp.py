"""The year's settled stakes and payouts from bets (GetReturnToPlayerReport), for the
return-to-player controller. Bets owns the figures (its schema); the gateway only asks."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.domain.rtp_controller import YearFigures


def year_start(now: datetime) -> datetime:
    """1 January 00:00 UTC of now's year: the calendar year bets' own figures use (its
    return-to-player gauge and the quarterly statement)."""
    return datetime(now.year, 1, 1, tzinfo=UTC)


class BetsYearFigures:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float = 10.0) -> None:
        self._stub = bet_service_pb2_grpc.BetServiceStub(channel)
        self._timeout = timeout_seconds

    async def year_to_date(self, now: datetime) -> YearFigures:
        start, end = Timestamp(), Timestamp()
        start.FromDatetime(year_start(now))
        end.FromDatetime(now)
        report = await self._stub.GetReturnToPlayerReport(
            bet_service_pb2.GetReturnToPlayerReportRequest(period_start=start, period_end=end),
            timeout=self._timeout,
        )
        return YearFigures(
            stakes_minor=report.stakes.amount_minor,
            payouts_minor=report.payouts.amount_minor,
            settled_bets=report.settled_bet_count,
        )
