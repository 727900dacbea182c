"""Price holds: a market the integrity guard kept from publication, with its evidence, until an
operator releases or rejects it; and the store the guard keeps them in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from betmesh.common.v1 import market_pb2, sport_pb2

from gateway.domain.integrity import Violation


class HoldStatus(StrEnum):
    OPEN = "OPEN"
    RELEASED = "RELEASED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class PriceHold:
    fixture_id: str
    sport: sport_pb2.Sport.ValueType
    phase: market_pb2.PricingPhase.ValueType
    market_id: str
    violations: tuple[Violation, ...]
    snapshot_hash: str
    event_sequence: int
    # The agreed set the market came from (the quorum's digest).
    quote_set_digest: str
    # The market as agreed (what a release publishes) and as last published (empty if never).
    held_market: bytes
    published_market: bytes
    held_at: float
    status: HoldStatus = HoldStatus.OPEN
    hold_id: str = ""
    decided_at: float | None = None
    decided_by: str = ""
    note: str = ""
    rules: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.rules:
            object.__setattr__(self, "rules", tuple(dict.fromkeys(v.rule for v in self.violations)))


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
