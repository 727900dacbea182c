"""A process frozen in the middle of a transaction (SIGSTOP, a debugger, a stuck worker) keeps
its TCP connection up and its kernel answers keepalives: without a bound, PostgreSQL keeps its
session and its row locks for as long as it stays frozen, and every process that needs the row
waits (a player's wallet, a fixture). The runtime's sessions ask the server to end a session
left idle in a transaction (BETMESH_DATABASE_IDLE_IN_TRANSACTION_SECONDS): the frozen holder's
transaction is rolled back, the waiter proceeds, and the holder, thawed, finds its session gone
(an outage to it, never a commit of half its work)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from service_runtime import postgres
from services.bets.adapters.async_postgres import AsyncConnections

IDLE_SECONDS = 2.0
# The waiter's own bound: far above IDLE_SECONDS (a waiter still waiting then never got it).
WAITER_ANSWER_SECONDS = 30.0

HOLDER = textwrap.dedent(
    """
    import sys
    import sqlalchemy as sa
    from service_runtime import postgres
    from service_runtime.outages import as_outage

    url, row, idle = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    engine = postgres.create_engine(url, pool_size=1, idle_in_transaction_seconds=idle)
    with engine.connect() as connection:
        connection.execute(
            sa.text("SELECT 1 FROM idle_lock_probe WHERE id = :id FOR UPDATE"), {"id": row}
        )
        connection.execute(sa.text("UPDATE idle_lock_probe SET owner = 'holder' WHERE id = :id"),
                           {"id": row})
        print("locked", flush=True)
        sys.stdin.readline()  # frozen here (SIGSTOP) until the test lets it go on
        try:
            connection.execute(sa.text("SELECT 1"))
            connection.commit()
            print("committed", flush=True)
        except Exception as exc:
            print("outage" if as_outage(exc) is not None else repr(exc), flush=True)
    """
)


@pytest.fixture
def row(database_url: str) -> Iterator[int]:
    engine = sa.create_engine(database_url)
    row_id = secrets.randbelow(2**31)
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE IF NOT EXISTS idle_lock_probe (id int PRIMARY KEY, owner text)")
        )
        connection.execute(sa.text("INSERT INTO idle_lock_probe VALUES (:id, '')"), {"id": row_id})
    try:
        yield row_id
    finally:
        engine.dispose()


def test_a_frozen_holder_of_a_row_lock_is_ended_and_the_waiter_proceeds(
    database_url: str, row: int
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database_url, str(row), str(IDLE_SECONDS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    waiter = postgres.create_engine(database_url, pool_size=1, answer_seconds=WAITER_ANSWER_SECONDS)
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        holder.send_signal(signal.SIGSTOP)
        # Without the bound: the waiter waited until its own answer bound, and failed.
        with waiter.begin() as connection:
            connection.execute(
                sa.text("SELECT 1 FROM idle_lock_probe WHERE id = :id FOR UPDATE"), {"id": row}
            )
            connection.execute(
                sa.text("UPDATE idle_lock_probe SET owner = 'waiter' WHERE id = :id"), {"id": row}
            )
        holder.send_signal(signal.SIGCONT)
        holder.stdin.write("go on\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "outage"
        assert holder.wait(timeout=30) == 0
        with waiter.connect() as connection:
            owner = connection.execute(
                sa.text("SELECT owner FROM idle_lock_probe WHERE id = :id"), {"id": row}
            ).scalar_one()
        assert owner == "waiter"  # the holder's half-done work was rolled back, not committed
    finally:
        if holder.poll() is None:
            holder.send_signal(signal.SIGCONT)
            holder.kill()
            holder.wait()
        waiter.dispose()


def test_every_runtime_session_carries_the_bound(database_url: str) -> None:
    engine = postgres.create_engine(database_url, pool_size=1, idle_in_transaction_seconds=7)
    try:
        with engine.connect() as connection:
            shown = connection.execute(sa.text("SHOW idle_in_transaction_session_timeout"))
            assert shown.scalar_one() == "7s"
    finally:
        engine.dispose()


async def test_the_placing_connections_carry_it_too(database_url: str) -> None:
    connections = AsyncConnections(database_url, size=1, idle_in_transaction_seconds=7)
    try:
        row = await connections.fetchone("SHOW idle_in_transaction_session_timeout", {})
    finally:
        connections.close()
    assert row == ("7s",)
