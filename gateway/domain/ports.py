"""The gateway's ports: what its rules and use cases need from storage, from the replicas and
from bets (typing.Protocols only; the adapters implement them, app.py plugs them in)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb

from gateway.domain.consensus import Reply
from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.model import (
    Accepted,
    DissentRecord,
    ListedSnapshot,
    PricedState,
    UpsertCounts,
)
from gateway.domain.rtp_controller import YearFigures


class ReplicaClient(Protocol):
    """One quote replica, asked with a pre-serialised PriceFixtureRequest."""

    replica_id: str
    address: str
    # The engine the configuration gives it; "" when not configured (then its own declaration).
    engine: str

    async def price(self, request: bytes, timeout: float) -> Reply: ...


class FixtureRepository(Protocol):
    async def upsert(self, fixtures: Sequence[sport_pb2.Fixture]) -> UpsertCounts: ...

    async def get(self, fixture_id: str) -> sport_pb2.Fixture | None: ...

    async def list(
        self,
        sports: Sequence[sport_pb2.Sport.ValueType],
        starts_after: datetime | None,
        starts_before: datetime | None,
        limit: int,
        offset: int,
    ) -> list[sport_pb2.Fixture]: ...


class QuoteSetRepository(Protocol):
    async def save(self, accepted: Accepted) -> None: ...

    async def latest(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType
    ) -> Accepted | None: ...

    async def priced_states(self, fixture_ids: Sequence[str]) -> dict[str, PricedState]: ...


class DissentRepository(Protocol):
    async def record(self, dissents: Sequence[DissentRecord]) -> None: ...

    async def list(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[DissentRecord]: ...


class SnapshotCatalog(Protocol):
    """The snapshots one replica knows for its sport, newest first."""

    replica_id: str

    async def snapshots(self, timeout: float) -> list[ListedSnapshot]: ...


class HoldRepository(Protocol):
    async def add(self, holds: Sequence[PriceHold]) -> list[PriceHold]:
        """Stores new open holds; returns them with their ids."""
        ...

    async def open_markets(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType
    ) -> set[str]: ...

    async def holding(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType, released_since: float
    ) -> tuple[set[str], set[str]]:
        """The fixture's markets with an open hold, and those released after `released_since`
        (the operator vouched for their move: it is not held again)."""
        ...

    async def get(self, hold_id: str) -> PriceHold | None: ...

    async def decide(
        self, hold_id: str, status: HoldStatus, by: str, note: str, at: float
    ) -> PriceHold | None:
        """Closes an OPEN hold; None when it is unknown or already decided (nothing changed)."""
        ...

    async def list(
        self, status: HoldStatus | None, fixture_id: str, limit: int, offset: int
    ) -> list[PriceHold]: ...

    async def total(self, status: HoldStatus | None) -> int:
        """Holds ever raised (None), or those in one status."""
        ...

    async def counts(self) -> dict[tuple[str, str], int]:
        """(rule, status) -> holds."""
        ...


class ReviewRepository(Protocol):
    """The canary's verdicts, by snapshot."""

    async def get(self, snapshot_hash: str) -> pb.SnapshotReview | None: ...

    async def save(self, review: pb.SnapshotReview) -> None: ...

    async def list(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[pb.SnapshotReview]: ...


class YearFiguresSource(Protocol):
    """Where the year's figures come from (bets' GetReturnToPlayerReport)."""

    async def year_to_date(self, now: datetime) -> YearFigures: ...
