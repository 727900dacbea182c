"""Tennis is priced per court surface: the gateway's scheduler prices a fixture from the
snapshot fitted for its surface when the replicas publish one, else from the hard-court one,
against real quote replica servers (the shipped ATP fit) and a real PostgreSQL. Replicas store
every surface's shipped fit at start, so by default each surface prices from its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
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
from services.quotes.app import build as build_quotes
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.fitting.tennis import fit_shipped_surfaces
from services.quotes.settings import QuotesSettings

SURFACES = fit_shipped_surfaces()
CLAY = SURFACES["clay"]

Start = Callable[[Mapping[str, str]], Awaitable[list[ServiceHost]]]


@pytest.fixture
async def start_replicas() -> AsyncIterator[Start]:
    hosts: list[ServiceHost] = []

    async def start(env: Mapping[str, str]) -> list[ServiceHost]:
        for i in range(1, 4):
            host = build_quotes(
                QuotesSettings.from_env(
                    {
                        "BETMESH_AUTH_MODE": "anonymous",
                        "BETMESH_QUOTES_SPORT": "tennis",
                        "BETMESH_QUOTES_REPLICA_ID": f"tennis-{i}",
                        "BETMESH_QUOTES_ENGINE": replica_engine("tennis", i),
                        **env,
                    }
                )
            )
            await host.start()
            hosts.append(host)
        return hosts

    yield start
    for host in hosts:
        await host.stop(0)


@pytest.fixture
def clean_schema(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS gateway CASCADE"))
    engine.dispose()
    return database_url


def match(
    fixture_id: str, surface: sport_pb2.TennisSurface.ValueType, start: datetime
) -> sport_pb2.Fixture:
    home, away = CLAY.tennis.players[0], CLAY.tennis.players[1]
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(start)
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_TENNIS,
        competition_id="atp",
        competition_name="ATP Tour",
        home=sport_pb2.Participant(participant_id=home.participant_id, name=home.name),
        away=sport_pb2.Participant(participant_id=away.participant_id, name=away.name),
        start_time=stamp,
        status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
        best_of_sets=3,
        surface=surface,
    )


async def price_week(
    replicas: list[ServiceHost], database_url: str
) -> tuple[dict[str, str], str, int]:
    """Four fixtures (clay, grass, hard, none named) priced by a gateway over `replicas`: the
    snapshot each was priced from, the sport's reported snapshot, and how many a second,
    unchanged pass repriced."""
    addresses = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    host = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"tennis={addresses}",
                "BETMESH_DATABASE_URL": database_url,
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{host.port}")
    try:
        consensus = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
        fixtures = fixture_service_pb2_grpc.FixtureServiceStub(channel)
        now = datetime.now(UTC)
        played = {
            "on-clay": match("on-clay", sport_pb2.TENNIS_SURFACE_CLAY, now + timedelta(hours=2)),
            "on-grass": match("on-grass", sport_pb2.TENNIS_SURFACE_GRASS, now + timedelta(hours=3)),
            "on-hard": match("on-hard", sport_pb2.TENNIS_SURFACE_HARD, now + timedelta(hours=4)),
            "unnamed": match(
                "unnamed", sport_pb2.TENNIS_SURFACE_UNSPECIFIED, now + timedelta(hours=5)
            ),
        }
        await fixtures.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=list(played.values())), timeout=10
        )
        report = await consensus.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=120)
        assert report.priced_count == len(played), report
        priced_from = {}
        for fixture_id in played:
            accepted = await consensus.GetAcceptedQuoteSet(
                pb.GetAcceptedQuoteSetRequest(fixture_id=fixture_id), timeout=10
            )
            priced_from[fixture_id] = str(accepted.accepted.quote_set.snapshot_hash)
        # An unchanged week is not repriced: each fixture's snapshot is still its current one.
        again = await consensus.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=120)
        assert again.unchanged_count == len(played)
        return priced_from, report.snapshot_hashes["tennis"], again.priced_count
    finally:
        await channel.close()
        await host.stop(0)


async def test_a_fixture_is_priced_from_its_surface_snapshot_else_the_hard_court_one(
    start_replicas: Start, clean_schema: str, tmp_path: Path
) -> None:
    # Each replica stores the hard-court fit and the clay one from files, as an operator
    # publishes them; no grass snapshot is published.
    files = []
    for surface in ("hard", "clay"):
        path = tmp_path / f"{surface}.snapshot"
        path.write_bytes(SURFACES[surface].SerializeToString(deterministic=True))
        files.append(str(path))
    replicas = await start_replicas(
        {
            "BETMESH_QUOTES_STARTUP_SNAPSHOTS": "none",
            "BETMESH_QUOTES_SNAPSHOT_FILES": ",".join(files),
        }
    )
    priced_from, reported, repriced = await price_week(replicas, clean_schema)
    hard = snapshot_hash(SURFACES["hard"])
    assert reported == hard != snapshot_hash(CLAY)
    assert priced_from["on-clay"] == snapshot_hash(CLAY)
    # No grass snapshot published: the hard-court one, and the quote set says so.
    assert priced_from["on-grass"] == hard
    assert priced_from["on-hard"] == priced_from["unnamed"] == hard
    assert repriced == 0


async def test_replicas_started_on_the_shipped_fit_price_every_surface_from_its_own(
    start_replicas: Start, clean_schema: str
) -> None:
    replicas = await start_replicas({})  # the default: the shipped fit, every surface
    priced_from, reported, repriced = await price_week(replicas, clean_schema)
    assert reported == snapshot_hash(SURFACES["hard"])
    assert priced_from == {
        "on-clay": snapshot_hash(SURFACES["clay"]),
        "on-grass": snapshot_hash(SURFACES["grass"]),
        "on-hard": snapshot_hash(SURFACES["hard"]),
        "unnamed": snapshot_hash(SURFACES["hard"]),
    }
    assert len(set(priced_from.values())) == 3
    assert repriced == 0
