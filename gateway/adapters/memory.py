"""In-process repositories: for unit tests and for a gateway run without a database
(BETMESH_DATABASE_URL unset), where accepted prices live only as long as the process."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from betmesh.common.v1 import market_pb2, sport_pb2

from gateway.adapters.guard_store import MemoryHolds
from gateway.adapters.transactions import UnitOfWorkBlock
from gateway.domain.model import Accepted, DissentRecord, PricedState, UpsertCounts, fixture_digest


class MemoryFixtures:
    def __init__(self) -> None:
        self._fixtures: dict[str, sport_pb2.Fixture] = {}

    async def upsert(self, fixtures: Sequence[sport_pb2.Fixture]) -> UpsertCounts:
        created = updated = unchanged = 0
        for fixture in fixtures:
            known = self._fixtures.get(fixture.fixture_id)
            if known is None:
                created += 1
            elif fixture_digest(known) == fixture_digest(fixture):
                unchanged += 1
                continue
            else:
                updated += 1
            copy = sport_pb2.Fixture()
            copy.CopyFrom(fixture)
            self._fixtures[fixture.fixture_id] = copy
        return UpsertCounts(created, updated, unchanged)

    async def get(self, fixture_id: str) -> sport_pb2.Fixture | None:
        return self._fixtures.get(fixture_id)

    async def list(
        self,
        sports: Sequence[sport_pb2.Sport.ValueType],
        starts_after: datetime | None,
        starts_before: datetime | None,
        limit: int,
        offset: int,
    ) -> list[sport_pb2.Fixture]:
        def keep(f: sport_pb2.Fixture) -> bool:
            start = f.start_time.ToDatetime().timestamp()
            return (
                (not sports or f.sport in sports)
                and (starts_after is None or start >= starts_after.timestamp())
                and (starts_before is None or start < starts_before.timestamp())
            )

        found = sorted(
            (f for f in self._fixtures.values() if keep(f)),
            key=lambda f: (f.start_time.seconds, f.start_time.nanos, f.fixture_id),
        )
        return found[offset : offset + limit]


class MemoryQuoteSets:
    def __init__(self) -> None:
        self._latest: dict[tuple[str, int], Accepted] = {}
        # Set on a unit of work's view (journaled): how to undo each write, oldest first.
        self._undo: list[Callable[[], object]] | None = None

    def journaled(self, undo: list[Callable[[], object]]) -> MemoryQuoteSets:
        """The same quote sets, every write through this view noting its undo in `undo`."""
        view = copy.copy(self)  # shares the sets
        view._undo = undo
        return view

    async def save(self, accepted: Accepted) -> None:
        key = (accepted.quote_set.fixture_id, accepted.quote_set.phase)
        if self._undo is not None:
            before = self._latest.get(key)
            self._undo.append(
                partial(self._latest.pop, key, None)
                if before is None
                else partial(self._latest.__setitem__, key, before)
            )
        self._latest[key] = accepted

    async def latest(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType
    ) -> Accepted | None:
        if phase:
            return self._latest.get((fixture_id, phase))
        found = [a for (fid, _), a in self._latest.items() if fid == fixture_id]
        return max(found, key=lambda a: a.accepted_at) if found else None

    async def priced_states(self, fixture_ids: Sequence[str]) -> dict[str, PricedState]:
        states = {}
        for fixture_id in fixture_ids:
            accepted = self._latest.get((fixture_id, market_pb2.PRICING_PHASE_PRE_MATCH))
            if accepted is not None:
                states[fixture_id] = PricedState(
                    accepted.quote_set.snapshot_hash,
                    accepted.fixture_digest,
                    accepted.quote_set.margin_scale_e4,
                )
        return states


class MemoryDissents:
    def __init__(self, keep: int = 10_000) -> None:
        self._records: list[DissentRecord] = []
        self._keep = keep

    async def record(self, dissents: Sequence[DissentRecord]) -> None:
        self._records = (list(reversed(dissents)) + self._records)[: self._keep]

    async def list(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[DissentRecord]:
        matching = [d for d in self._records if sport in (0, d.sport)]
        return matching[offset : offset + limit]


class MemoryUnitOfWork(UnitOfWorkBlock):
    """The unit of work over the memory stores (a gateway run without a database, and the
    service layer's unit tests; service_layer/ports.py, UnitOfWork): writes reach the stores at
    once and are undone, newest first, unless committed. Nothing is isolated from concurrent
    readers: a process's memory has no transactions, only the all-or-nothing outcome."""

    def __init__(self, quote_sets: MemoryQuoteSets, holds: MemoryHolds) -> None:
        self._undo: list[Callable[[], object]] = []
        self.quote_sets = quote_sets.journaled(self._undo)
        self.holds = holds.journaled(self._undo)
        self.commits = 0

    async def commit(self) -> None:
        self._undo.clear()
        self.commits += 1

    async def rollback(self) -> None:
        # What was committed has no undo left.
        while self._undo:
            self._undo.pop()()


def memory_units(
    quote_sets: MemoryQuoteSets, holds: MemoryHolds | None = None
) -> Callable[[], MemoryUnitOfWork]:
    """Starts units of work over these stores (holds: a store of their own when not given)."""
    return partial(MemoryUnitOfWork, quote_sets, holds if holds is not None else MemoryHolds())
