"""What the live core needs from storage; the Redis adapter implements it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from services.live.domain.game import LiveGame
from services.live.domain.ingest import IngestPlan
from services.live.domain.sequencing import HeldEvent

# Given what is stored for a fixture (its game, its held events) and the shared clock, what
# one ingest writes (services/live/domain/ingest.py's plan_ingest, bound to the event).
Planner = Callable[[LiveGame | None, Mapping[int, HeldEvent], float], IngestPlan]


class LiveStore(Protocol):
    async def apply(self, fixture_id: str, planner: Planner) -> IngestPlan:
        """Reads the fixture, asks `planner`, and writes its plan (state, held events, events
        on the bus, repricing fields) atomically: once, in order, whichever process asks.
        Raises Aborted CONCURRENT_UPDATE if the fixture never stops changing under it."""
        ...

    async def game(self, fixture_id: str) -> LiveGame | None: ...
