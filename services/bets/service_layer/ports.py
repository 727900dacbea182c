"""What the bets service layer needs besides the domain's storage ports (`BetStore` and
`Ledger`, whose `session()` is the unit of work: everything done through one session commits
together or not at all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from services.bets.domain.chain_results import HoldRow
from services.bets.domain.model import Bet
from services.bets.domain.wallet import Caller


class PriceSource(Protocol):
    """Fills the price book for fixtures it has not heard of yet (the gateway, on demand)."""

    async def ensure_prices(self, fixture_ids: list[str]) -> None: ...

    async def ensure_fixture_names(self, fixture_ids: list[str]) -> None: ...


class PlacedBets(Protocol):
    """Observes answered bets (metrics)."""

    def placed(self, bet: Bet) -> None: ...


# Held results, a page at a time (operators only); None where results are not checked.
ResultHolds = Callable[[Caller | None, int, str], tuple[list[HoldRow], str]]
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
