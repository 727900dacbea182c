"""Price holds: a market the integrity guard kept from publication, with its evidence, until an
operator releases or rejects it; and the store the guard keeps them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

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
