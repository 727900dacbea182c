"""What callers ask the gateway, free of gRPC: the servicer builds these from requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2

from gateway.domain.holds import HoldStatus

# ---- consensus prices --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetConsensusQuote:
    """A price through consensus now: every replica of the sport asked, k must agree."""

    fixture: sport_pb2.Fixture
    snapshot_hash: str
    market_types: Sequence[market_pb2.MarketType.ValueType]
    # In play when set: the match so far.
    game_state: game_state_pb2.GameState | None


@dataclass(frozen=True)
class GetAcceptedQuoteSet:
    """The fixture's latest published set in a phase (pre-match: priced at once if none yet)."""

    fixture_id: str
    phase: market_pb2.PricingPhase.ValueType


@dataclass(frozen=True)
class RunPreMatchPricing:
    """One pre-match pass now; 0 days: the configured horizon."""

    horizon_days: int


# ---- replicas (operators) ----------------------------------------------------------------


@dataclass(frozen=True)
class SetReplicaHold:
    """An operator quarantines a replica (`quarantined`) or readmits it."""

    replica_id: str
    quarantined: bool
    operator: str
    note: str


@dataclass(frozen=True)
class ListDissents:
    """Recorded votes of refused, partial or dissenting decisions; sport 0: every sport."""

    sport: sport_pb2.Sport.ValueType
    limit: int
    offset: int


# ---- the integrity guard and the snapshot canary (operators) -----------------------------


@dataclass(frozen=True)
class ListPriceHolds:
    status: HoldStatus | None  # None: every status
    fixture_id: str  # "": every fixture
    limit: int
    offset: int


@dataclass(frozen=True)
class DecidePriceHold:
    """An operator releases (its prices are published) or rejects a hold."""

    hold_id: str
    operator: str
    note: str


@dataclass(frozen=True)
class ListSnapshotReviews:
    sport: sport_pb2.Sport.ValueType
    limit: int
    offset: int


@dataclass(frozen=True)
class ForceSnapshot:
    """An operator lets a snapshot past the canary (a refused one, or one not yet reviewed)."""

    sport: sport_pb2.Sport.ValueType
    snapshot_hash: str
    operator: str
    note: str


# ---- fixtures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpsertFixtures:
    fixtures: Sequence[sport_pb2.Fixture]


@dataclass(frozen=True)
class GetFixture:
    fixture_id: str


@dataclass(frozen=True)
class ListFixtures:
    sports: Sequence[sport_pb2.Sport.ValueType]  # empty: every sport
    # Starting in [starts_after, starts_before); None: unbounded.
    starts_after: datetime | None
    starts_before: datetime | None
    limit: int
    offset: int
