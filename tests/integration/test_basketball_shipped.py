"""A basketball replica started as the mesh starts it (shipped snapshots) prices the demo's live
game from the model fitted on the shipped NBA season, before tip-off and at half-time of the
scripted game, through gRPC on real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.live.v1 import match_event_pb2 as me
from betmesh.quotes.v1 import quote_service_pb2 as pb

from services.live.domain.game import apply_event, new_game
from services.live.simulator import load_file
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.fitting.basketball import fit_shipped
from services.quotes.settings import QuotesSettings
from tests.integration.test_quotes_service import start


def _total_lines(quote_set: market_pb2.QuoteSet) -> list[int]:
    return [m.line_e2 for m in quote_set.markets if m.type == market_pb2.MARKET_TYPE_TOTAL_POINTS]


async def test_a_replica_prices_the_demo_game_from_the_fitted_snapshot(
    database_url: str, tmp_path: Path
) -> None:
    config = QuotesSettings.from_env(
        {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_QUOTES_SPORT": "basketball",
            "BETMESH_QUOTES_REPLICA_ID": "basketball-shipped",
            "BETMESH_GRACE_SECONDS": "0",
            "BETMESH_DATABASE_URL": database_url,
            "BETMESH_QUOTES_SNAPSHOT_CACHE": str(tmp_path),
        }
    )
    timeline = load_file("basketball.json", fixture_id="demo-live")
    fixture = timeline[0].event.fixture
    # The game at half-time, as live holds it.
    game = new_game("demo-live", fixture.sport)
    for timed in timeline:
        game = apply_event(game, timed.event)
        if timed.event.type == me.MATCH_EVENT_TYPE_PERIOD_ENDED and timed.event.period == 2:
            break
    replica = await start(config)
    try:
        listed = await replica.stub.ListModelSnapshots(
            pb.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_BASKETBALL)
        )
        key = snapshot_hash(fit_shipped())
        assert key in [s.snapshot_hash for s in listed.snapshots]
        pre_match = await replica.stub.PriceFixture(
            pb.PriceFixtureRequest(fixture=fixture, snapshot_hash=key)
        )
        half_time = await replica.stub.PriceFixture(
            pb.PriceFixtureRequest(fixture=fixture, snapshot_hash=key, game_state=game.state)
        )
    finally:
        await replica.close()
    before = market_pb2.QuoteSet.FromString(pre_match.quote_set)
    assert before.snapshot_hash == key
    moneyline = next(m for m in before.markets if m.type == market_pb2.MARKET_TYPE_MONEYLINE)
    chances = {s.selection_id: s.probability_e9 / 1e9 for s in moneyline.selections}
    home, away = chances["home"], chances["away"]
    # The 2022-23 Celtics at home to the Lakers: favourites, not a certainty.
    assert 0.55 < home < 0.85 and abs(home + away - 1.0) < 1e-8
    assert all(s.status == market_pb2.SELECTION_STATUS_ACTIVE for s in moneyline.selections)
    assert all(21_000 < line < 24_500 for line in _total_lines(before))

    state = game.state.basketball
    assert game.state.elapsed_seconds == 1_440 and state.regulation_seconds == 2_880
    scored = state.home_points + state.away_points
    assert 90 < scored < 140
    during = market_pb2.QuoteSet.FromString(half_time.quote_set)
    # Half the game left: the totals re-centre on the points so far plus about half a game.
    lines = _total_lines(during)
    centre = sorted(lines)[len(lines) // 2] / 100
    assert scored + 95 < centre < scored + 135
