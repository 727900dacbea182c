"""Quotes' use cases: one handler per command (commands.py). The servicer calls these, never
the adapters. A handler fetches the snapshot through the resolver (cache, store, peers) and asks
the domain to price; the pricing rules are the domain's (services/quotes/domain/pricing.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from betmesh.common.v1 import market_pb2, sport_pb2

from service_runtime.errors import DomainError, NotFound
from service_runtime.telemetry import tracer
from services.quotes.domain.engines import ENGINES
from services.quotes.domain.pricing import canonicalise, price_fixture, quote_digest
from services.quotes.domain.snapshots import StoredSnapshot, check_hash
from services.quotes.service_layer.commands import (
    GetModelSnapshot,
    ListModelSnapshots,
    PriceFixture,
)
from services.quotes.service_layer.snapshots import SnapshotResolver

_tracer = tracer(__name__)


@dataclass(frozen=True)
class Priced:
    # The quote set's canonical bytes and their digest (what replicas are compared by).
    quote_set: bytes
    digest: str


@dataclass(frozen=True)
class NotPriced:
    """One fixture of a batch the domain refused (the others are still priced)."""

    fixture_id: str
    reason: str
    message: str


@dataclass
class QuoteHandlers:
    snapshots: SnapshotResolver
    sport: sport_pb2.Sport.ValueType
    # Injected faults for drills: "delay-ms:N" (answer N ms late), "skew-odds[:N]" (the first
    # offered price N hundredths too generous).
    fault: str = ""
    # The pricing engine; empty: the sport's first (domain/engines.py).
    engine: str = field(default="")

    def __post_init__(self) -> None:
        self.engine = self.engine or ENGINES.get(self.sport, ("",))[0]

    async def price_fixture(self, command: PriceFixture) -> Priced:
        if self.fault.startswith("delay-ms:"):
            await asyncio.sleep(int(self.fault.removeprefix("delay-ms:")) / 1000)
        snapshot = await self.snapshots.resolve(command.snapshot_hash)
        with _tracer.start_as_current_span(
            "price fixture", attributes={"betmesh.fixture.id": command.fixture.fixture_id}
        ):
            quote_set = price_fixture(
                command.fixture,
                snapshot,
                command.snapshot_hash,
                list(command.market_types),
                command.game_state,
                self.sport,
                self.engine,
                command.margin_scale_e4,
            )
            if self.fault == "skew-odds" or self.fault.startswith("skew-odds:"):
                _skew(quote_set, int(self.fault.partition(":")[2] or 1))
            data = canonicalise(quote_set)
        return Priced(data, quote_digest(data))

    async def price_fixtures(self, batch: list[PriceFixture]) -> list[Priced | NotPriced]:
        """In order; a fixture the domain refuses is reported, not fatal to the batch."""
        results: list[Priced | NotPriced] = []
        for command in batch:
            try:
                results.append(await self.price_fixture(command))
            except DomainError as exc:
                results.append(NotPriced(command.fixture.fixture_id, exc.reason, exc.message))
        return results

    async def model_snapshot(self, command: GetModelSnapshot) -> bytes:
        check_hash(command.snapshot_hash)
        found = await self.snapshots.local(command.snapshot_hash)
        if found is None:
            raise NotFound(
                "SNAPSHOT_NOT_FOUND",
                f"no snapshot {command.snapshot_hash}",
                {"snapshot_hash": command.snapshot_hash},
            )
        return found[1]

    async def model_snapshots(self, command: ListModelSnapshots) -> list[StoredSnapshot]:
        return await self.snapshots.newest(command.sport, command.limit, command.offset)


def _skew(quote_set: market_pb2.QuoteSet, ticks: int = 1) -> None:
    """The injected fault: the first offered price `ticks` hundredths too generous."""
    for market in quote_set.markets:
        for selection in market.selections:
            if selection.odds_e4:
                selection.odds_e4 += 100 * ticks
                return
