"""Where the PostgreSQL stores' statements run: each call in a transaction of its own, or all
of a unit of work's calls in one transaction (postgres_store.PostgresUnitOfWork)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")


class Transaction:
    """One connection and its transaction, held by a unit of work across the use case's awaits.

    The connection is taken at the first statement (a unit of work that writes nothing costs
    no round trip). Statements run in worker threads one at a time: a cancelled await leaves
    its statement running in its thread, and the rollback that follows must wait for it rather
    than use the connection beside it. A write whose caller needs no answer is deferred to the
    next statement or the commit, in the same thread hop: a round that only saves its quote set
    costs one hop, as the store's own transaction did, not a second one for the commit."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._lock = threading.Lock()
        self._deferred: list[Callable[[Connection], object]] = []
        self.ended = False

    def defer(self, work: Callable[[Connection], object]) -> None:
        if self.ended:
            raise RuntimeError("this unit of work has ended: open a new one")
        self._deferred.append(work)

    def run(self, work: Callable[[Connection], T]) -> T:
        with self._lock:
            return work(self._flushed())

    def _flushed(self) -> Connection:
        """The connection, every deferred write run on it (in order, before what follows)."""
        if self.ended:
            raise RuntimeError("this unit of work has ended: open a new one")
        if self._connection is None:
            self._connection = self._engine.connect()
        while self._deferred:
            self._deferred.pop(0)(self._connection)
        return self._connection

    def end(self, commit: bool) -> None:
        """Commits or rolls back, then gives the connection back; once only."""
        with self._lock:
            if self.ended:
                return
            try:
                if commit:
                    if self._deferred:
                        self._flushed()
                    if self._connection is not None:
                        self._connection.commit()
                elif self._connection is not None:
                    self._connection.rollback()
            finally:
                self.ended = True
                self._deferred.clear()
                connection, self._connection = self._connection, None
                if connection is not None:
                    connection.close()  # a transaction still open (a failed commit) rolls back


class Statements:
    """A store's way to its database: `read` and `write` run `work(connection)` off the event
    loop, in the unit of work's transaction when the store belongs to one, else each in its
    own (a write commits at once)."""

    def __init__(self, engine: Engine, transaction: Transaction | None = None) -> None:
        self.engine = engine
        self.transaction = transaction

    async def read(self, work: Callable[[Connection], T]) -> T:
        return await self._run(work, False)

    async def write(self, work: Callable[[Connection], T]) -> T:
        return await self._run(work, True)

    async def write_later(self, work: Callable[[Connection], None]) -> None:
        """A write whose caller needs no answer: in a unit of work, run with its next
        statement or its commit (a failure then fails that call); alone, at once."""
        if self.transaction is not None:
            self.transaction.defer(work)
            return
        await self._run(work, True)

    async def _run(self, work: Callable[[Connection], T], write: bool) -> T:
        if self.transaction is not None:
            return await asyncio.to_thread(self.transaction.run, work)

        def alone() -> T:
            with self.engine.begin() if write else self.engine.connect() as connection:
                return work(connection)

        return await asyncio.to_thread(alone)


class UnitOfWorkBlock:
    """`async with` for a unit of work: whatever was not committed when the block is left
    (an exception, or no commit) is rolled back."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def rollback(self) -> None:
        raise NotImplementedError
