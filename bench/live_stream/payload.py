"""The update both servers send: one fixture's odds change with a few markets; the digest
carries the publish time (ns) so that clients measure event-to-subscriber latency."""

from __future__ import annotations

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb

MARKETS = 5


def markets(fixture_id: str, price: int) -> list[market_pb2.Market]:
    return [
        market_pb2.Market(
            market_id=f"{fixture_id}/TOTAL_GOALS/{150 + 100 * i}",
            type=market_pb2.MARKET_TYPE_TOTAL_GOALS,
            name=f"Total goals {1.5 + i}",
            line_e2=150 + 100 * i,
            status=market_pb2.MARKET_STATUS_ACTIVE,
            selections=[
                market_pb2.Selection(selection_id=s, name=s, odds_e4=price, status=1)  # type: ignore[arg-type]
                for s in ("over", "under")
            ],
        )
        for i in range(MARKETS)
    ]


def odds_update(fixture_id: str, published_ns: int) -> pb.OddsUpdate:
    odds = pb.FixtureOdds(
        phase=market_pb2.PRICING_PHASE_LIVE,
        quote_set_digest=f"bench:{published_ns}",
        markets=markets(fixture_id, 20000 + published_ns % 1000),
    )
    odds.fixture.fixture_id, odds.fixture.sport = fixture_id, sport_pb2.SPORT_FOOTBALL
    return pb.OddsUpdate(odds_change=odds)
