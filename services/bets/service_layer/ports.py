"""What the bets service layer needs besides the domain's storage ports (`BetStore` and
`Ledger`, whose `session()` is the unit of work: everything done through one session commits
together or not at all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from services.bets.domain.chain_results import (
    ClaimedResult,
    Evidence,
    HoldRow,
    OnChain,
    Verdict,
)
from services.bets.domain.model import Bet


class PriceSource(Protocol):
    """Fills the price book for fixtures it has not heard of yet (the gateway, on demand)."""

    async def ensure_prices(self, fixture_ids: list[str]) -> None: ...

    async def ensure_fixture_names(self, fixture_ids: list[str]) -> None: ...

    def knows(self, fixture_ids: list[str]) -> bool:
        """True when neither ensure_* has anything to ask for these fixtures now."""
        ...


class PlacedBets(Protocol):
    """Observes answered bets (metrics)."""

    def placed(self, bet: Bet) -> None: ...


class ChainReader(Protocol):
    """The oracle contract at the configured finality (blocking: run off the event loop)."""

    def read(self, fixture_id: str, transaction_hash: str) -> OnChain | None:
        """The stored result, with the announced transaction's sources hash; None when the
        contract holds none for the fixture."""
        ...

    def evidence(self) -> Evidence: ...


class ChainResults(Protocol):
    """Announced results and what the chain said of them (`bets.chain_results`); each method
    one unit of work, blocking."""

    def record(self, claimed: ClaimedResult) -> None: ...

    def waiting(self, limit: int) -> list[tuple[ClaimedResult, datetime]]: ...

    def waiting_one(
        self, fixture_id: str, version: int
    ) -> tuple[ClaimedResult, datetime] | None: ...

    def newer_claimed(self, fixture_id: str, version: int) -> bool: ...

    def resolve(
        self,
        claimed: ClaimedResult,
        verdict: Verdict,
        chain: OnChain | None,
        signers: tuple[str, ...] = (),
        config_version: int | None = None,
    ) -> None: ...

    def touch(self, claimed: ClaimedResult, reason: str) -> None: ...

    def holds(self, after: tuple[str, int], limit: int) -> list[HoldRow]: ...


class QueuedEvents(Protocol):
    """A relay's claim on the oldest events the units of work queued, in their order; it ends
    with `done` (published: forgotten) or `abandon` (left for the next relay)."""

    @property
    def entries(self) -> Sequence[object]: ...

    def done(self) -> None: ...

    def abandon(self) -> None: ...


class Outbox(Protocol):
    def claim(self, limit: int) -> QueuedEvents | None:
        """The oldest queued events, claimed by this relay alone; None while another relays."""
        ...


class EventBus(Protocol):
    async def publish(self, entry: object) -> None:
        """Publishes one queued event (an entry of `QueuedEvents`) with its own event id."""
        ...


Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
