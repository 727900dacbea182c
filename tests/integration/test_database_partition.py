"""A PostgreSQL that stops answering without closing its sockets (a partition, a frozen server
or proxy) is an outage with an end: calls are refused UNAVAILABLE with a reason, even those
without a deadline, and the service works again once the database is back. Through a real TCP
proxy (tests/support/tcp_faults.py) that drops every byte of the connections open when the
partition starts, for good, as a lost network flow does.

Before the bound (service_runtime/postgres.py), every worker thread that had sent a statement
waited for ever: a bets process answered nothing but PlaceBet after the database came back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from betmesh.bets.v1 import bet_service_pb2 as pb

from service_runtime import postgres
from services.bets.adapters.async_postgres import AsyncConnections
from tests.integration.test_bets_crash import check_ledger, home
from tests.integration.test_bets_harness import Mesh, place_request, running, uid
from tests.support.grpc_helpers import rpc_error
from tests.support.tcp_faults import FaultProxy

ANSWER_SECONDS = 2.0
# Far above ANSWER_SECONDS: a call still waiting then waited on a dead connection.
PATIENCE_SECONDS = 30.0


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[FaultProxy]:
    fault = FaultProxy.for_postgres(database_url)
    await fault.start()
    try:
        yield fault
    finally:
        await fault.stop()


async def refused(call: Any) -> str:
    code, info, _ = await rpc_error(call)
    assert code == grpc.StatusCode.UNAVAILABLE, code
    assert info is not None
    return str(info.reason)


async def until_served(call: Any) -> Any:
    """The call's answer once the service answers it again (each try bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_SECONDS
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            if loop.time() > deadline:
                raise AssertionError(f"still refused after the database came back: {exc}") from exc
        await asyncio.sleep(0.2)


async def test_an_engine_gives_up_on_a_silent_database_and_works_once_it_answers(
    database_url: str, proxy: FaultProxy
) -> None:
    engine = postgres.create_engine(
        proxy.postgres_url(database_url), pool_size=1, answer_seconds=ANSWER_SECONDS
    )

    def one() -> int:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT 1")).scalar_one())

    try:
        assert await asyncio.to_thread(one) == 1
        proxy.partition()
        with pytest.raises(sa.exc.OperationalError, match="did not answer"):
            await asyncio.wait_for(asyncio.to_thread(one), PATIENCE_SECONDS)
        proxy.heal()
        assert await asyncio.wait_for(asyncio.to_thread(one), PATIENCE_SECONDS) == 1
    finally:
        await asyncio.to_thread(engine.dispose)


async def test_bets_refuses_calls_during_a_partition_and_serves_again_after_it(
    database_url: str, redis_url: str, proxy: FaultProxy
) -> None:
    async with running(
        proxy.postgres_url(database_url),
        redis_url,
        uid("partition"),
        BETMESH_DATABASE_ANSWER_SECONDS=str(ANSWER_SECONDS),
        BETMESH_BETS_DATABASE_POOL_SIZE="2",
    ) as mesh:
        player, fixture = await mesh.player(balance=10_000), await mesh.fixture()
        accepted = await mesh.place(player, home(fixture), 1_000)
        assert accepted.status == pb.BET_STATUS_ACCEPTED

        proxy.partition()
        # More calls than the process has connections and workers, none with a short deadline:
        # each is refused with a reason, none waits for ever.
        reasons = await asyncio.gather(
            *(refused(lambda: wallet(mesh, player, timeout=PATIENCE_SECONDS)) for _ in range(5)),
            *(
                refused(
                    lambda: mesh.stub.PlaceBet(
                        place_request(player, home(fixture), 1_000), timeout=PATIENCE_SECONDS
                    )
                )
                for _ in range(3)
            ),
        )
        assert set(reasons) == {"DEPENDENCY_UNAVAILABLE"}

        proxy.heal()
        # The database is back: reads, deposits and bets are served again, by the same process.
        assert await until_served(lambda: wallet(mesh, player, timeout=5)) == (9_000, 1_000)
        again: Any = await until_served(
            lambda: mesh.stub.PlaceBet(place_request(player, home(fixture), 1_000), timeout=5)
        )
        assert again.bet.status == pb.BET_STATUS_ACCEPTED
        assert await wallet(mesh, player, timeout=5) == (8_000, 2_000)
    check_ledger(database_url)


async def wallet(mesh: Mesh, player_id: str, timeout: float) -> tuple[int, int]:
    answer: Any = await mesh.stub.GetWallet(
        pb.GetWalletRequest(player_id=player_id), timeout=timeout
    )
    return answer.wallet.balance.amount_minor, answer.wallet.held.amount_minor


def test_sessions_ask_the_server_to_notice_a_vanished_client(database_url: str) -> None:
    """The server ends the session of a client gone silent within about a minute (keepalive
    probes), instead of keeping its locks for the operating system's two hours. Over TCP only:
    on a Unix socket (the embedded default) the server ignores the settings and shows 0."""
    engine = postgres.create_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            if connection.execute(sa.text("SELECT inet_client_addr()")).scalar_one() is None:
                pytest.skip("a Unix-socket session: keepalives do not apply (CI's database is TCP)")
            names = ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")
            shown = [connection.execute(sa.text(f"SHOW {n}")).scalar_one() for n in names]
            # Still so after a transaction rolled back (the pool rolls back on return).
            connection.rollback()
            again = connection.execute(sa.text("SHOW tcp_keepalives_idle")).scalar_one()
    finally:
        engine.dispose()
    assert shown == ["30", "10", "3"] and again == "30"


async def test_the_placing_connections_ask_it_too(database_url: str) -> None:
    connections = AsyncConnections(database_url, size=1)
    try:
        (address,) = await connections.fetchone("SELECT inet_client_addr()", {})
        if address is None:
            pytest.skip("a Unix-socket session: keepalives do not apply (CI's database is TCP)")
        row = await connections.fetchone("SHOW tcp_keepalives_idle", {})
    finally:
        connections.close()
    assert row == ("30",)
