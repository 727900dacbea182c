"""A tennis replica started as the mesh starts it (shipped snapshots) prices the demo's live match
from the tennis model fitted on the shipped ATP data, through gRPC on real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2 as pb

from services.live.simulator import load_file
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.fitting.tennis import fit_shipped
from services.quotes.settings import QuotesSettings
from tests.integration.test_quotes_service import start


async def test_a_replica_prices_the_demo_match_from_the_fitted_snapshot(
    database_url: str, tmp_path: Path
) -> None:
    config = QuotesSettings.from_env(
        {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_QUOTES_SPORT": "tennis",
            "BETMESH_QUOTES_REPLICA_ID": "tennis-shipped",
            "BETMESH_GRACE_SECONDS": "0",
            "BETMESH_DATABASE_URL": database_url,
            "BETMESH_QUOTES_SNAPSHOT_CACHE": str(tmp_path),
        }
    )
    replica = await start(config)
    try:
        listed = await replica.stub.ListModelSnapshots(
            pb.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_TENNIS)
        )
        key = snapshot_hash(fit_shipped())
        assert key in [s.snapshot_hash for s in listed.snapshots]
        fixture = load_file("tennis.json", fixture_id="demo-live")[0].event.fixture
        response = await replica.stub.PriceFixture(
            pb.PriceFixtureRequest(fixture=fixture, snapshot_hash=key)
        )
    finally:
        await replica.close()
    quote_set = market_pb2.QuoteSet.FromString(response.quote_set)
    assert quote_set.snapshot_hash == key
    winner = next(m for m in quote_set.markets if m.type == market_pb2.MARKET_TYPE_MATCH_WINNER)
    home, away = (s.probability_e9 / 1e9 for s in winner.selections)
    # Sinner and Alcaraz, November 2022 on hard courts: close, neither side a short price.
    assert 0.25 < home < 0.75 and abs(home + away - 1.0) < 1e-8
    assert all(s.status == market_pb2.SELECTION_STATUS_ACTIVE for s in winner.selections)
