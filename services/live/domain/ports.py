"""What the live core needs from storage; the Redis adapter implements it."""

from __future__ import annotations

from typing import Protocol

from betmesh.live.v1 import match_event_pb2 as me

from services.live.domain.game import LiveGame
from services.live.domain.sequencing import Decision


class LiveStore(Protocol):
    async def ingest(self, event: me.MatchEvent) -> Decision:
        """Runs `sequencing.decide` for the event and stores its result atomically."""
        ...

    async def game(self, fixture_id: str) -> LiveGame | None: ...
