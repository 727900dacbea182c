"""A refit reaches the prices through the canary: replicas start on the shipped fit, the refit
job publishes a snapshot with the operator's new results and closing odds, and the gateway's
scheduler moves to it only once the canary approved it (real replicas, gateway, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)
from google.protobuf import timestamp_pb2

from gateway.app import build as build_gateway
from gateway.settings import GatewaySettings
from launcher.mesh import replica_engine
from service_runtime.server import ServiceHost
from services.quotes import refit
from services.quotes.app import build as build_quotes
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.fitting.football import fit_football, fit_shipped
from services.quotes.settings import QuotesSettings

TEAMS = [("fb:arsenal", "Arsenal"), ("fb:chelsea", "Chelsea"), ("fb:liverpool", "Liverpool")]
TEAMS += [("fb:man-city", "Man City"), ("fb:luton", "Luton"), ("fb:brentford", "Brentford")]


def week(now: datetime) -> list[sport_pb2.Fixture]:
    fixtures = []
    for day in range(5):
        for n in range(3):
            (home, home_name), (away, away_name) = (
                TEAMS[(day + 2 * n) % 6],
                TEAMS[(day + 2 * n + 1) % 6],
            )
            start = timestamp_pb2.Timestamp()
            start.FromDatetime(now + timedelta(days=day, hours=2 + n))
            fixtures.append(
                sport_pb2.Fixture(
                    fixture_id=f"refit-{day}-{n}",
                    sport=sport_pb2.SPORT_FOOTBALL,
                    competition_name="Premier League",
                    home=sport_pb2.Participant(participant_id=home, name=home_name),
                    away=sport_pb2.Participant(participant_id=away, name=away_name),
                    start_time=start,
                    status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
                )
            )
    return fixtures


@pytest.fixture
async def replicas(private_database_url: str, tmp_path: Path) -> AsyncIterator[list[ServiceHost]]:
    hosts = []
    for i in range(1, 4):
        host = build_quotes(
            QuotesSettings.from_env(
                {
                    "BETMESH_AUTH_MODE": "anonymous",
                    "BETMESH_QUOTES_SPORT": "football",
                    "BETMESH_QUOTES_REPLICA_ID": f"football-{i}",
                    "BETMESH_QUOTES_ENGINE": replica_engine("football", i),
                    "BETMESH_DATABASE_URL": private_database_url,
                    "BETMESH_QUOTES_SNAPSHOT_CACHE": str(tmp_path / "cache"),
                }
            )
        )
        await host.start()
        hosts.append(host)
    yield hosts
    for host in hosts:
        await host.stop(0)


async def test_a_refit_is_priced_from_once_the_canary_approved_it(
    replicas: list[ServiceHost], private_database_url: str, tmp_path: Path
) -> None:
    addresses = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    gateway = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}",
                "BETMESH_DATABASE_URL": private_database_url,
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await gateway.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}")
    consensus = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
    try:
        fixtures = week(datetime.now(UTC))
        await fixture_service_pb2_grpc.FixtureServiceStub(channel).UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=fixtures), timeout=30
        )
        shipped = snapshot_hash(fit_shipped())
        first = await consensus.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=120)
        # The replicas' start-up snapshot is the shipped fit: the sport's first, the baseline.
        assert first.snapshot_hashes["football"] == shipped
        assert first.priced_count == len(fixtures)

        operator = tmp_path / "operator.csv"
        operator.write_text(
            "kickoff_utc,home,away,ft_home,ft_away,avg_home,avg_draw,avg_away,avg_over_2_5,"
            "avg_under_2_5\n"
            "2024-08-16T19:00:00Z,Man United,Fulham,1,0,1.6,4.2,5.5,1.8,2.0\n"
            "2024-08-17T11:30:00Z,Ipswich,Liverpool,0,2,7.0,4.8,1.4,1.6,2.3\n"
            "2024-08-17T14:00:00Z,Arsenal,Wolves,2,0,1.3,5.6,10.0,1.6,2.4\n"
        )
        argv = ["--sport", "football", "--football-extra", str(operator)]
        assert refit.main([*argv, "--database-url", private_database_url]) == 0
        refitted = snapshot_hash(fit_football(extra=[operator]))
        assert refitted != shipped

        again = await consensus.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=300)
        assert again.snapshot_hashes["football"] == refitted
        assert again.priced_count == len(fixtures)  # every fixture re-priced from the refit
        reviews = await consensus.ListSnapshotReviews(
            pb.ListSnapshotReviewsRequest(sport=sport_pb2.SPORT_FOOTBALL), timeout=10
        )
        verdicts = {r.snapshot_hash: r for r in reviews.reviews}
        assert verdicts[shipped].verdict == pb.SNAPSHOT_VERDICT_BASELINE
        review = verdicts[refitted]
        assert review.verdict == pb.SNAPSHOT_VERDICT_APPROVED
        assert review.current_snapshot_hash == shipped
        assert review.compared_fixtures == len(fixtures)
    finally:
        await channel.close()
        await gateway.stop(0)
