"""What callers ask a quote replica, free of gRPC: the servicer builds these from requests."""

from __future__ import annotations

from dataclasses import dataclass

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2


@dataclass(frozen=True)
class PriceFixture:
    """Price one fixture's markets from the snapshot named by its hash."""

    fixture: sport_pb2.Fixture
    snapshot_hash: str
    market_types: tuple[market_pb2.MarketType.ValueType, ...]
    # In play when set: the match so far.
    game_state: game_state_pb2.GameState | None
    margin_scale_e4: int


@dataclass(frozen=True)
class GetModelSnapshot:
    """A snapshot this replica holds (its cache or store; never its peers)."""

    snapshot_hash: str


@dataclass(frozen=True)
class ListModelSnapshots:
    """Newest first; sport 0 means every sport."""

    sport: sport_pb2.Sport.ValueType
    limit: int
    offset: int
