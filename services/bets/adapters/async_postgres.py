"""psycopg2 connections in asynchronous mode, driven by the event loop: a statement is sent and
its answer awaited without a worker thread. For the one hot statement (placing a bet), where a
thread hand-off and the pool's bookkeeping cost more than the statement's own Python.

Connections are in autocommit (psycopg2's asynchronous mode has no other): each statement is
its own transaction, so only single-statement units of work belong here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa

from service_runtime import postgres


def libpq_dsn(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg2://...) as libpq takes it."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _ready(connection: Any, answer_seconds: float) -> None:
    """Polls the connection until its pending work is done, sleeping on its socket; a database
    that does not answer within `answer_seconds` is an outage (OperationalError), and the
    caller drops the connection: a caller without a deadline must not hold it for ever."""
    try:
        async with asyncio.timeout(answer_seconds):
            await _poll(connection)
    except TimeoutError:
        raise psycopg2.OperationalError(
            f"the database did not answer within {answer_seconds:g} s"
        ) from None


async def _poll(connection: Any) -> None:
    loop = asyncio.get_running_loop()
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        done = loop.create_future()

        def wake(future: asyncio.Future[None] = done) -> None:
            if not future.done():
                future.set_result(None)

        fd = connection.fileno()
        if state == psycopg2.extensions.POLL_READ:
            loop.add_reader(fd, wake)
            try:
                await done
            finally:
                loop.remove_reader(fd)
        elif state == psycopg2.extensions.POLL_WRITE:
            loop.add_writer(fd, wake)
            try:
                await done
            finally:
                loop.remove_writer(fd)
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")


@dataclass(frozen=True)
class Prepared:
    """A statement a connection prepares the first time it runs `execute`: `prepare` (a
    PREPARE `name` ..., with `params` quoted into it) once per connection."""

    name: str
    prepare: str
    params: Mapping[str, Any]
    execute: str


class AsyncConnections:
    """At most `size` connections, opened on demand and reused; one statement at a time each.

    `prepare`: statements each new connection runs first, e.g. a PREPARE, so that a hot
    statement is parsed and planned once per connection rather than on every call.
    """

    def __init__(
        self,
        url: str,
        size: int,
        prepare: Sequence[str] = (),
        answer_seconds: float = postgres.ANSWER_SECONDS,
        idle_in_transaction_seconds: float = postgres.IDLE_IN_TRANSACTION_SECONDS,
    ) -> None:
        self._dsn = libpq_dsn(url)
        self._size = size
        self._answer_seconds = answer_seconds
        # One round trip for the session settings, then the statements to prepare.
        self._prepare = (postgres.session_settings(idle_in_transaction_seconds), *prepare)
        self._idle: list[Any] = []
        # The Prepared names each open connection holds.
        self._prepared: dict[Any, set[str]] = {}
        self._opened = 0
        self._closed = False
        self._freed: asyncio.Condition | None = None

    async def _acquire(self) -> Any:
        if self._freed is None:
            self._freed = asyncio.Condition()
        async with self._freed:
            while not self._idle and self._opened >= self._size:
                await self._freed.wait()
            if self._idle:
                return self._idle.pop()
            self._opened += 1
        try:
            connection = psycopg2.connect(self._dsn, async_=True)
            await _ready(connection, self._answer_seconds)
            for statement in self._prepare:
                cursor = connection.cursor()
                cursor.execute(statement)
                await _ready(connection, self._answer_seconds)
                cursor.close()
        except BaseException:
            await self._forget()
            raise
        self._prepared[connection] = set()
        return connection

    async def _release(self, connection: Any) -> None:
        assert self._freed is not None
        if self._closed:
            # A statement that finished after close(): its connection is not kept.
            self._drop(connection)
            await self._forget()
            return
        async with self._freed:
            self._idle.append(connection)
            self._freed.notify()

    def _drop(self, connection: Any) -> None:
        self._prepared.pop(connection, None)
        connection.close()

    async def _forget(self) -> None:
        assert self._freed is not None
        async with self._freed:
            self._opened -= 1
            self._freed.notify()

    async def fetchone(
        self, sql: str, params: Mapping[str, Any], prepared: Prepared | None = None
    ) -> tuple[Any, ...]:
        """The first row of `sql`; with `prepared`, the connection prepares it first if it has
        not yet (`sql` is then its EXECUTE)."""
        connection = await self._acquire()
        try:
            cursor = connection.cursor()
            names = self._prepared.setdefault(connection, set())
            if prepared is not None and prepared.name not in names:
                cursor.execute(prepared.prepare, prepared.params)
                await _ready(connection, self._answer_seconds)
                names.add(prepared.name)
            cursor.execute(sql, params)
            await _ready(connection, self._answer_seconds)
            row: tuple[Any, ...] = cursor.fetchone()
            cursor.close()
        except BaseException:
            # Failed or cancelled half-way: the connection's state is unknown, so it goes.
            self._drop(connection)
            await self._forget()
            raise
        await self._release(connection)
        return row

    def close(self) -> None:
        self._closed = True
        for connection in self._idle:
            self._drop(connection)
        self._idle.clear()
