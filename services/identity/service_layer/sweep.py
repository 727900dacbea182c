"""The periodic sweep: rules that change with time rather than with a request (the rules:
domain/players.py; this pass runs them over the store, the register and the bus).

Two of them. The national exclusion register changes after sign-up, so every player with a
verified identity is checked again; a newly listed one is marked excluded and announced
(bets stops taking their stakes). Provisional accounts lapse with time alone (a month:
DEACTIVATED, two: CLOSED); nothing calls the service when that happens, so the sweep announces
each lapse, once: the store records the last lapse announced with a conditional update, which
also keeps two identity instances sweeping at once from announcing it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.identity.domain.players import (
    SHORTEST_MONTH,
    Player,
    VerifiedIdentity,
    lapse,
)
from services.identity.domain.ports import Announcer, ExclusionRegister
from services.identity.service_layer.ports import SweepStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    newly_excluded: int
    lapses_announced: int


class Sweeper:
    def __init__(
        self,
        store: SweepStore,
        register: ExclusionRegister,
        announcer: Announcer,
        clock: Callable[[], datetime],
        page_size: int = 500,
    ) -> None:
        self.store = store
        self.register = register
        self.announcer = announcer
        self.clock = clock
        self.page_size = page_size

    async def sweep(self) -> SweepReport:
        now = self.clock()
        return SweepReport(await self._recheck_register(now), await self._announce_lapses(now))

    async def _recheck_register(self, now: datetime) -> int:
        excluded, after = 0, None
        while True:
            page = await self.store.verified_players(after, self.page_size)
            if not page:
                return excluded
            after = page[-1][0].player_id
            # The register may be a file (or a remote lookup): off the event loop.
            listed = await asyncio.to_thread(self._listed, page)
            for player in listed:
                marked = await self.store.mark_register_excluded(player.player_id, now)
                if marked is not None:
                    await self.announcer.kyc_status_changed(marked, now)
                    excluded += 1

    def _listed(self, rows: list[tuple[Player, VerifiedIdentity]]) -> list[Player]:
        return [player for player, identity in rows if self.register.is_excluded(identity)]

    async def _announce_lapses(self, now: datetime) -> int:
        announced = 0
        # Players created later cannot have lapsed yet: the store skips them.
        for player in await self.store.lapse_candidates(now - SHORTEST_MONTH):
            status = lapse(player, now)
            if status is None or not await self.store.claim_lapse(player.player_id, status):
                continue
            try:
                await self.announcer.kyc_status_changed(player, now)
            except Exception:
                await self.store.release_lapse(player.player_id, status)
                raise
            announced += 1
        return announced

    async def step(self) -> SweepReport:
        """One sweep, logged: the runtime runs it every interval and retries a failed one
        (service_runtime.background; app.py declares it)."""
        report = await self.sweep()
        log.info(
            "identity sweep: %d newly excluded, %d lapses announced",
            report.newly_excluded,
            report.lapses_announced,
        )
        return report
