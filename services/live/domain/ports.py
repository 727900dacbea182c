"""What live's rules and use cases read and write through: ports only (typing.Protocol and the
callables they are handed), implemented in adapters/ and plugged in by app.py. Those only the
service layer's orchestration needs (journal, registry, producers, liveness, the repricer):
services/live/service_layer/ports.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2

from services.live.domain.game import LiveGame
from services.live.domain.ingest import IngestPlan
from services.live.domain.repricing import Completion, FixtureView, PricingTarget
from services.live.domain.sequencing import HeldEvent

# Given what is stored for a fixture (its game, its held events, the highest sequence its feed
# announced) and the shared clock, what one ingest writes (services/live/domain/ingest.py's
# plan_ingest, bound to the event).
Planner = Callable[[LiveGame | None, Mapping[int, HeldEvent], int, float], IngestPlan]


class LiveStore(Protocol):
    async def apply(self, fixture_id: str, planner: Planner) -> IngestPlan:
        """Reads the fixture, asks `planner`, and writes its plan (state, held events, events
        on the bus, repricing fields) atomically: once, in order, whichever process asks.
        Raises Aborted CONCURRENT_UPDATE if the fixture never stops changing under it."""
        ...

    async def game(self, fixture_id: str) -> LiveGame | None: ...

    async def applied_sequences(self, fixture_ids: Sequence[str]) -> Mapping[str, int]:
        """The last applied sequence of each of these fixtures (0 before any event)."""
        ...


class RepricingStore(Protocol):
    """What the repricer needs from shared storage (the Redis adapter implements it)."""

    async def due(self, now: float, limit: int) -> list[str]: ...

    async def view(self, fixture_id: str) -> FixtureView | None: ...

    async def acquire(self, fixture_id: str, owner: str, seconds: float) -> bool: ...

    async def release(self, fixture_id: str, owner: str) -> None: ...

    async def unschedule(self, fixture_id: str) -> None: ...

    async def complete(self, completion: Completion) -> bool:
        """Applies the completion if the fixture is still at its sequence; False otherwise."""
        ...


class PricingGateway(Protocol):
    """The consensus gateway as the repricer sees it."""

    async def resolve(
        self, fixture_id: str, sport: int, announced: sport_pb2.Fixture | None
    ) -> PricingTarget: ...

    async def quote(
        self, target: PricingTarget, state: game_state_pb2.GameState
    ) -> market_pb2.QuoteSet: ...
