"""The ports only the gateway's use cases sequence (typing.Protocols only; the stores, replicas
and bets' figures the rules also name: gateway/domain/ports.py)."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from gateway.domain.ports import HoldRepository, QuoteSetRepository


class UnitOfWork(Protocol):
    """One transaction over the gateway's stores, as cosmicpython's unit of work: what a use
    case writes through `holds` and `quote_sets` is kept only once it calls `commit()`; leaving
    the block without committing, or on an exception, rolls all of it back. Reads through it see
    its own writes. Opened for the writes only, after the replicas answered: never around a
    replica call (network waits inside an open transaction). One per use: start a new one
    (the use case's `units()`) each time.

        async with self.units() as uow:
            stored = await uow.holds.add(fresh)
            await uow.quote_sets.save(published)
            await uow.commit()
    """

    @property
    def holds(self) -> HoldRepository: ...

    @property
    def quote_sets(self) -> QuoteSetRepository: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...
