"""In-play repricing as a use case: take a due fixture's lease, ask the consensus gateway for
a price from its projected state, and complete (services/live/domain/repricing.py decides
what a completion asks for and writes; the store's adapter writes it). One process at a time
per fixture; after releasing the lease the holder looks again, so an event that came in while
it priced is priced by it, never left to the slow cadence."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from betmesh.common.v1 import market_pb2

from service_runtime.outages import as_outage
from services.live.domain.game import MatchStatus
from services.live.domain.ports import PricingGateway, RepricingStore
from services.live.domain.repricing import (
    Cadence,
    PricingFailed,
    project_clock,
    reprice_completion,
)

log = logging.getLogger(__name__)


@dataclass
class Repricer:
    store: RepricingStore
    gateway: PricingGateway
    cadence: Cadence
    owner: str
    lease_seconds: float
    clock: Callable[[], float]
    # Called after each reprice attempt: (fixture_id, accepted quote set or None).
    on_priced: Callable[[str, market_pb2.QuoteSet | None], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def poke(self, fixture_id: str) -> None:
        """Reprices the fixture soon, in the background (after an applied event)."""
        task = asyncio.create_task(self._guarded(fixture_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, fixture_id: str) -> None:
        outage = await self._attempt(fixture_id)
        if outage is not None:
            log.warning(
                "live reprice failed: a store it needs is unavailable",
                extra={"fixture_id": fixture_id, "error": type(outage).__name__},
            )

    async def _attempt(self, fixture_id: str) -> Exception | None:
        """Reprices one fixture; a failure of its own is logged here, a store's outage is
        returned (the fixture stays due either way: some process's timer takes it up again)."""
        try:
            await self.run(fixture_id)
        except Exception as exc:
            if as_outage(exc) is not None:
                return exc
            log.exception("live reprice failed", extra={"fixture_id": fixture_id})
        return None

    async def run_due(self, limit: int = 500) -> int:
        """Reprices every fixture that is due now (the cadence timer's tick). Redis down fails
        the tick once, to its supervisor, which logs it as an outage and backs off: not one
        traceback per due fixture, every tick, as if each were a bug of ours."""
        due = await self.store.due(self.clock(), limit)
        outages = [o for o in await asyncio.gather(*map(self._attempt, due)) if o is not None]
        if outages:
            raise outages[0]
        return len(due)

    async def run(self, fixture_id: str) -> None:
        while await self.store.acquire(fixture_id, self.owner, self.lease_seconds):
            try:
                await self._once(fixture_id)
            finally:
                await self.store.release(fixture_id, self.owner)
            # Look again only after releasing: an event that came in while we priced, and
            # whose process found the lease taken, is ours to price now.
            view = await self.store.view(fixture_id)
            if view is None or view.due_at is None or view.due_at > self.clock():
                return

    async def _once(self, fixture_id: str) -> None:
        view = await self.store.view(fixture_id)
        now = self.clock()
        if view is None or view.due_at is None or view.due_at > now:
            return
        game = view.game
        if game.status != MatchStatus.LIVE or view.hold is not None:
            # Held (feed lost, operator): lifting the hold makes the fixture due again.
            await self.store.unschedule(fixture_id)
            return
        target = view.target
        quote_set: market_pb2.QuoteSet | None = None
        try:
            if target is None:
                target = await self.gateway.resolve(fixture_id, game.sport, view.announced_fixture)
            quote_set = await self.gateway.quote(target, project_clock(game, view.clock, now))
        except PricingFailed as failed:
            log.warning(
                "live reprice refused",
                extra={
                    "fixture_id": fixture_id,
                    "sequence": game.applied_sequence,
                    "reason": failed.reason,
                },
            )
        await self.store.complete(reprice_completion(view, now, self.cadence, target, quote_set))
        if self.on_priced is not None:
            await self.on_priced(fixture_id, quote_set)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
