"""PostgreSQL access shared by the services that own a schema (bets, identity, oracle, gateway).

Each service owns one schema and migrates it with its own Alembic scripts; the version table
lives in that schema, so services never touch each other's tables, even on one database.
"""

from __future__ import annotations

import functools
import select
import time
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

# By default, how long a connection of these engines waits for the database at one step
# (connecting, a statement's answer, a commit) before it is closed and the call fails with
# OperationalError, which the runtime answers UNAVAILABLE DEPENDENCY_UNAVAILABLE
# (service_runtime/outages.py). Without it a blocking libpq call waited for ever on a database
# that stopped answering without closing the socket (a partition, a frozen server or proxy):
# the worker thread and its pooled connection were lost for good, and once every worker was,
# the service answered nothing again, even after the database came back. Far above any
# statement's legitimate time (the services' take well under a second; a caller's deadline is
# a few seconds); libpq's own connect_timeout does not apply to the non-blocking connect used
# here. Every server process reads it from BETMESH_DATABASE_ANSWER_SECONDS (ServerSettings).
ANSWER_SECONDS = 20.0


# By default, how long a session may sit idle inside an open transaction before the server ends
# it (rolled back, its locks freed). Keepalives (below) find a client whose host is gone; they do
# not find one whose socket still answers: a process frozen (SIGSTOP, a debugger, a stuck worker
# thread) or waiting on something else in the middle of a transaction keeps a player's row, a
# fixture's lock, for as long as it stays so, and every other process needing them waits. No unit
# of work of ours is idle for more than a thread hop between its statements: none spans a call to
# anything but the database (audited: bets' units of work, the gateway's, opened after the
# replicas answered, identity's, the oracle's outbox between chain calls; the bets outbox relay's
# claim, which spans Redis publishes, sets its own shorter bound). Below the database answer
# bound, so that a waiter on such a lock gets it before giving up. Every server process reads it
# from BETMESH_DATABASE_IDLE_IN_TRANSACTION_SECONDS (ServerSettings). Session-level locks held
# outside a transaction (the oracle's wallet lease) are not affected.
IDLE_IN_TRANSACTION_SECONDS = 15.0


@functools.cache
def session_settings(idle_in_transaction_seconds: float = IDLE_IN_TRANSACTION_SECONDS) -> str:
    """What each session asks of the server, in one statement sent once per new connection: the
    server probes an idle client's socket after 30 s, every 10 s, and ends the session after 3
    probes go unanswered. A client gone in a partition (or killed on a lost host) otherwise
    leaves its session, and every lock it holds (a player's row, a lease), until the operating
    system's own keepalive notices, two hours later by default; meanwhile whoever needs the
    lock waits. And it ends a session left idle in a transaction (IDLE_IN_TRANSACTION_SECONDS).
    Plain SET statements (not startup options) so that a pooler in front of the database
    passes them on."""
    if idle_in_transaction_seconds <= 0:
        raise ValueError(
            f"idle_in_transaction_seconds must be positive, not {idle_in_transaction_seconds}"
        )
    idle_ms = max(1, round(idle_in_transaction_seconds * 1000))
    return (
        "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10;"
        " SET tcp_keepalives_count = 3;"
        f" SET idle_in_transaction_session_timeout = {idle_ms}"
    )


class BoundedConnection(psycopg2.extensions.connection):
    """A psycopg2 connection whose every wait on the database is bounded (`_wait`); the bound
    is a class attribute because psycopg2 waits (connects) inside the constructor."""

    answer_seconds = ANSWER_SECONDS


@functools.cache
def _bounded(answer_seconds: float) -> type[BoundedConnection]:
    return type("BoundedConnection", (BoundedConnection,), {"answer_seconds": answer_seconds})


def _wait(connection: Any) -> None:
    """psycopg2's wait callback (set_wait_callback): blocking calls of every connection become
    a poll loop here. A BoundedConnection gives up after its answer_seconds, and psycopg2 then
    closes it (so the pool discards it); any other connection (migrations, whose advisory lock
    may be held a while by another replica) waits as libpq itself would."""
    limit = getattr(connection, "answer_seconds", None)
    deadline = None if limit is None else time.monotonic() + limit
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise psycopg2.OperationalError(f"the database did not answer within {limit:g} s")
        if state == psycopg2.extensions.POLL_READ:
            events = select.POLLIN
        elif state == psycopg2.extensions.POLL_WRITE:
            events = select.POLLOUT
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        # poll, not select: a busy process's sockets can number above select's 1024.
        poller = select.poll()
        poller.register(connection.fileno(), events)
        poller.poll(None if remaining is None else remaining * 1000)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    answer_seconds: float = ANSWER_SECONDS,
    idle_in_transaction_seconds: float = IDLE_IN_TRANSACTION_SECONDS,
    pre_ping: bool = True,
    **options: Any,
) -> Engine:
    """A pooled engine whose connections never wait on the database longer than
    `answer_seconds` at a time, and whose sessions the server ends when left idle in a
    transaction for `idle_in_transaction_seconds`. `options` go to SQLAlchemy (e.g.
    isolation_level)."""
    if answer_seconds <= 0:
        raise ValueError(f"answer_seconds must be positive, not {answer_seconds}")
    settings = session_settings(idle_in_transaction_seconds)
    if psycopg2.extensions.get_wait_callback() is not _wait:
        psycopg2.extensions.set_wait_callback(_wait)
    engine = sa.create_engine(
        url,
        pool_pre_ping=pre_ping,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"connection_factory": _bounded(answer_seconds)},
        **options,
    )
    sa.event.listen(engine, "connect", functools.partial(_set_session, settings))
    return engine


def _set_session(settings: str, dbapi_connection: Any, _record: Any) -> None:
    # Before SQLAlchemy's own first statements: in autocommit for the moment, so that the SETs
    # are not undone by the rollback the pool does when it takes the connection back.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute(settings)
    dbapi_connection.autocommit = autocommit


def migrate(url: str, migrations_dir: Path, schema: str) -> None:
    """Brings the service's schema to the newest revision (idempotent; safe at every start)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    command.upgrade(config, "head")


def run_alembic_env() -> None:
    """Body of every service's migrations/env.py: online migrations inside the service schema."""
    from alembic import context

    config = context.config
    schema = config.attributes["schema"]
    engine = sa.create_engine(
        config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool
    )
    with engine.connect() as connection:
        # Replicas of one service start together: one migrates, the others wait, then find
        # nothing to do. The lock is per schema and released when the connection closes.
        connection.execute(
            sa.text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": f"migrate:{schema}"}
        )
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(sa.text(f'SET search_path TO "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
