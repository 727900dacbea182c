"""Scheduled pre-match pricing: the passes and the on-demand price (the rules they follow:
gateway/domain/scheduler.py).

Runs inside the gateway process (it needs the gateway's replica sets and nothing else), on a
timer and on demand: every scheduled fixture starting within the horizon is priced through
consensus unless its latest accepted pre-match quote set already comes from the current snapshot
of its sport, from the fixture as it is now and with the margin scale in force. So a new
snapshot, a fixture whose details changed or a new steer of the return-to-player controller is
re-priced on the next pass, and a pass over an unchanged week costs one query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import quote_service_pb2

from gateway.domain.model import Accepted, ListedSnapshot
from gateway.domain.ports import FixtureRepository, QuoteSetRepository, SnapshotCatalog
from gateway.domain.scheduler import (
    HARD,
    PRICEABLE,
    PassReport,
    Surface,
    falls_back_to_hard,
    priced_as_now,
    quorum_snapshots,
    snapshot_surface,
)
from gateway.service_layer.canary import SnapshotCanary
from gateway.service_layer.consensus import ConsensusGateway
from service_runtime.errors import DomainError

log = logging.getLogger(__name__)

PAGE = 1_000


@dataclass
class PreMatchScheduler:
    gateway: ConsensusGateway
    fixtures: FixtureRepository
    quote_sets: QuoteSetRepository
    catalogs: dict[sport_pb2.Sport.ValueType, Sequence[SnapshotCatalog]]
    pinned: dict[sport_pb2.Sport.ValueType, str]
    horizon_days: int = 7
    # Consensus calls a pass keeps in flight per sport. A replica prices one call at a time, so
    # more would only queue there: a first pass sending a week of fixtures at once made the
    # last ones miss the deadline, and live's calls wait behind the queue too.
    concurrency: int = 4
    canary: SnapshotCanary | None = None
    clock: Callable[[], float] = time.time
    # Set when fixtures change: the runtime's timer (app.py) runs a pass at once, not at the
    # next tick.
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # On-demand pricing in flight per fixture: a burst of bets on a fixture nobody has priced
    # yet costs one consensus call, not one per bet.
    _pricing: dict[str, asyncio.Future[Accepted | None]] = field(default_factory=dict)

    async def current_snapshot(
        self,
        sport: sport_pb2.Sport.ValueType,
        surface: Surface = sport_pb2.TENNIS_SURFACE_UNSPECIFIED,
    ) -> str | None:
        """The snapshot a fixture of `sport` (tennis: played on `surface`) is priced from."""
        if sport in self.pinned:
            return self.pinned[sport]  # the operator's choice, for every surface
        catalogs = self.catalogs.get(sport, ())
        quorum = self.gateway.quorum(sport)
        if not catalogs or quorum is None:
            return None
        answers = await asyncio.gather(
            *(c.snapshots(self.gateway.deadline_seconds) for c in catalogs),
            return_exceptions=True,
        )
        lists: list[list[ListedSnapshot]] = [a for a in answers if isinstance(a, list)]
        wanted = snapshot_surface(sport, surface)
        agreed = quorum_snapshots(lists, quorum, sport, wanted)
        if self.canary is not None:
            # Only a snapshot the canary let through is priced from (gateway/domain/canary.py);
            # each surface's snapshots are reviewed against the current one of that surface.
            current = await self.canary.current(sport, agreed)
        else:
            current = agreed[0] if agreed else ""
        if not current and falls_back_to_hard(wanted):
            return await self.current_snapshot(sport, HARD)  # none of its surface: hard court
        return current or None

    async def price_missing(self, fixture_id: str) -> Accepted | None:
        """A pre-match price asked for before any pass reached the fixture (just loaded, or
        the timer is off): priced at once through consensus, from the sport's current snapshot.
        None when the fixture is unknown, not scheduled, or its sport has no snapshot."""
        pending = self._pricing.get(fixture_id)
        if pending is None:
            pending = asyncio.ensure_future(self._price_now(fixture_id))
            self._pricing[fixture_id] = pending
            pending.add_done_callback(lambda _: self._pricing.pop(fixture_id, None))
        # Shielded: one caller giving up must not cancel the others' answer.
        return await asyncio.shield(pending)

    async def _price_now(self, fixture_id: str) -> Accepted | None:
        fixture = await self.fixtures.get(fixture_id)
        if fixture is None or fixture.status not in PRICEABLE:
            return None
        snapshot = await self.current_snapshot(fixture.sport, fixture.surface)
        if not snapshot:
            return None
        return await self.gateway.quote(
            quote_service_pb2.PriceFixtureRequest(fixture=fixture, snapshot_hash=snapshot)
        )

    def wake(self) -> None:
        """Asks the timer for a pass now (fixtures changed)."""
        self.woken.set()

    async def run_pass(self, horizon_days: int = 0) -> PassReport:
        async with self._lock:  # one pass at a time: the timer and an operator may collide
            return await self._run_pass(horizon_days or self.horizon_days)

    async def _run_pass(self, horizon_days: int) -> PassReport:
        started = time.perf_counter()
        report = PassReport()
        now = datetime.fromtimestamp(self.clock(), UTC)
        fixtures: list[sport_pb2.Fixture] = []
        offset = 0
        while True:
            page = await self.fixtures.list(
                [], now, now + timedelta(days=horizon_days), PAGE, offset
            )
            fixtures += [f for f in page if f.status in PRICEABLE]
            if len(page) < PAGE:
                break
            offset += PAGE
        report.fixture_count = len(fixtures)
        # Per sport, and per court surface for tennis (snapshot_surface).
        # The report names each sport's default (tennis: hard-court) snapshot.
        current: dict[tuple[sport_pb2.Sport.ValueType, Surface], str | None] = {}
        sports = {f.sport for f in fixtures}
        for key in sorted(
            {(f.sport, snapshot_surface(f.sport, f.surface)) for f in fixtures}
            | {(sport, snapshot_surface(sport, HARD)) for sport in sports}
        ):
            current[key] = await self.current_snapshot(*key)
        for sport in sorted(sports):
            default = current[(sport, snapshot_surface(sport, HARD))]
            if default:
                report.snapshots[sport] = default
        states = await self.quote_sets.priced_states([f.fixture_id for f in fixtures])
        margin_scale = self.gateway.margin_scale_e4()
        todo = []
        for fixture in fixtures:
            snapshot = current.get(
                (fixture.sport, snapshot_surface(fixture.sport, fixture.surface))
            )
            if snapshot is None:
                report.failures["NO_SNAPSHOT"] += 1
                continue
            if priced_as_now(states.get(fixture.fixture_id), snapshot, fixture, margin_scale):
                report.unchanged += 1
                continue
            todo.append((fixture, snapshot))
        # Per sport: each sport has its own replicas (and a slow sport must not hold up another).
        limits = {sport: asyncio.Semaphore(self.concurrency) for sport in sports}

        async def price(fixture: sport_pb2.Fixture, snapshot: str) -> None:
            async with limits[fixture.sport]:
                try:
                    await self.gateway.quote(
                        quote_service_pb2.PriceFixtureRequest(
                            fixture=fixture, snapshot_hash=snapshot
                        ),
                        shed=False,
                    )
                    report.priced += 1
                except DomainError as exc:
                    report.failures[exc.reason] += 1

        await asyncio.gather(*(price(f, s) for f, s in todo))
        report.elapsed_seconds = time.perf_counter() - started
        log.info(
            "pre-match pricing pass",
            extra={
                "fixtures": report.fixture_count,
                "priced": report.priced,
                "unchanged": report.unchanged,
                "failures": dict(report.failures),
                "seconds": round(report.elapsed_seconds, 3),
            },
        )
        return report
