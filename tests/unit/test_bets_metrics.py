"""The money metrics: bets counted by outcome and reason, stakes only when taken, and the
calendar year's realised return to players (cached between scrapes, starting on 1 January)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from services.bets.domain.model import Bet, BetStatus, OddsAcceptance, Rejection
from services.bets.domain.statement import ReturnToPlayer
from services.bets.metrics import BetsMetrics


def bet(status: BetStatus, stake: int, rejection: Rejection | None = None) -> Bet:
    return Bet(
        bet_id="b",
        player_id="p",
        idempotency_key="k",
        fingerprint="f",
        legs=[],
        stake_minor=stake,
        currency="EUR",
        odds_e4=20_000,
        potential_payout_minor=2 * stake,
        status=status,
        acceptance=OddsAcceptance.NONE,
        live=False,
        placed_at=datetime(2026, 3, 1, tzinfo=UTC),
        rejection=rejection,
    )


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = list(metric.data.data_points)
    return found


def test_placements_stakes_and_the_years_return_to_player() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    asked: list[tuple[datetime, datetime]] = []

    def year(start: datetime, end: datetime) -> ReturnToPlayer:
        asked.append((start, end))
        return ReturnToPlayer(stakes_minor=10_000, payouts_minor=8_300, settled_bet_count=4)

    now = datetime(2026, 7, 14, 12, tzinfo=UTC)
    metrics = BetsMetrics(
        provider.get_meter("t"),
        year,
        "EUR",
        open_liability=lambda: (1_200, 3_400),
        clock=lambda: now,
    )
    metrics.placed(bet(BetStatus.ACCEPTED, 500))
    metrics.placed(bet(BetStatus.PENDING, 700))
    metrics.placed(bet(BetStatus.REJECTED, 900, Rejection.INSUFFICIENT_FUNDS))

    found = points(reader)
    placed = {
        (p.attributes["betmesh.bet.status"], p.attributes["betmesh.bet.rejection"]): p.value
        for p in found["betmesh.bets.placed"]
    }
    assert placed == {
        ("ACCEPTED", ""): 1,
        ("PENDING", ""): 1,
        ("REJECTED", "INSUFFICIENT_FUNDS"): 1,
    }
    # A refused bet took no money.
    assert [p.value for p in found["betmesh.bets.stake"]] == [1_200]
    assert [p.value for p in found["betmesh.bets.return_to_player"]] == [0.83]
    assert [p.value for p in found["betmesh.bets.settled_stake_year"]] == [10_000]
    assert {p.attributes["kind"]: p.value for p in found["betmesh.bets.open_liability"]} == {
        "stake": 1_200,
        "liability": 3_400,
    }
    # The French average is per calendar year; one query served both gauges and the next scrape.
    points(reader)
    assert asked == [(datetime(2026, 1, 1, tzinfo=UTC), now)]
