"""A real outage of PostgreSQL and Redis, as a service's client libraries meet it.

tests/integration/test_service_runtime.py raises the client libraries' errors in-process; here
bets (PostgreSQL and Redis) and live (Redis) reach their stores through a TCP proxy the test
cuts in the middle of traffic (connections reset mid-command, new ones too) and heals
(tests/support/tcp_faults.py; a store that stops answering without closing its sockets:
test_database_partition.py).
Every call meanwhile is answered OK or UNAVAILABLE with the reason DEPENDENCY_UNAVAILABLE,
which clients retry: never INTERNAL or UNKNOWN (which they do not retry), never held past its
deadline; once the proxy is back, the service serves again without a restart. Its background
work (event consumers, relays, the journal, sweeps) logs the outage as one, a warning with its
reason, never a traceback as for a bug of ours.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2 as live_pb
from prometheus_client import REGISTRY

from service_runtime.errors import error_info, status_from_metadata
from service_runtime.outages import as_outage
from tests.integration.test_bets_harness import running
from tests.integration.test_live_stream import new_fixture, start_live
from tests.support.tcp_faults import FaultProxy

# Each call's deadline: an outage answered in time, not a hang until the client gives up.
DEADLINE = 5.0
# How long a Redis connection waits for an answer here: well within a call's deadline.
ANSWER_SECONDS = 1.0
# Calls during the cut, and at most this many after the restore before one must succeed.
CALLS = 20

Call = Callable[[], Awaitable[Any]]


async def outcome(call: Call) -> str:
    """'OK', or the status code's name and the ErrorInfo reason."""
    try:
        await call()
    except grpc.aio.AioRpcError as exc:
        info = error_info(status_from_metadata(exc.trailing_metadata()))
        return f"{exc.code().name} {info.reason if info is not None else ''}".strip()
    return "OK"


async def through_an_outage(
    proxies: list[FaultProxy],
    call: Call,
    fault: Callable[[FaultProxy], None] = FaultProxy.cut,
    calls: int = CALLS,
) -> Counter[str]:
    """Traffic before, during and after the stores' `fault`; every call's outcome counted."""
    seen: Counter[str] = Counter()
    assert await outcome(call) == "OK"
    stop, flowing = asyncio.Event(), asyncio.Event()

    async def traffic() -> None:
        while not stop.is_set():
            seen[await outcome(call)] += 1
            if sum(seen.values()) >= 8:
                flowing.set()

    # Cut in the middle of traffic: some calls are inside a command when it is reset.
    running_traffic = [asyncio.create_task(traffic()) for _ in range(4)]
    await flowing.wait()
    for proxy in proxies:
        fault(proxy)
    during = [await outcome(call) for _ in range(calls)]
    seen.update(during)
    assert set(during) == {"UNAVAILABLE DEPENDENCY_UNAVAILABLE"}, during
    for proxy in proxies:
        proxy.heal()
    stop.set()
    await asyncio.gather(*running_traffic)
    after = []
    for _ in range(CALLS):
        after.append(await outcome(call))
        if after[-1] == "OK":
            break
    seen.update(after)
    assert after[-1] == "OK", after
    return seen


def outages(*dependencies: str) -> float:
    """betmesh_dependency_outages_total of these kinds, as this process's scrape shows it."""
    return sum(
        REGISTRY.get_sample_value("betmesh_dependency_outages_total", {"betmesh_dependency": d})
        or 0.0
        for d in dependencies
    )


def outage_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines that carry a store outage's traceback, as if it were a bug of ours."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info and r.exc_info[1] is not None and as_outage(r.exc_info[1]) is not None
    ]


async def test_bets_answers_unavailable_while_its_stores_are_cut(
    database_url: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with (
        FaultProxy.for_postgres(database_url) as postgresql,
        FaultProxy.for_redis(redis_url) as redis,
        running(postgresql.postgres_url(database_url), redis.redis_url(redis_url)) as mesh,
    ):
        player = await mesh.player()
        request = pb.GetWalletRequest(player_id=player)
        before = outages("postgresql", "redis")
        seen = await through_an_outage(
            [postgresql, redis], lambda: mesh.stub.GetWallet(request, timeout=DEADLINE)
        )
    assert set(seen) == {"OK", "UNAVAILABLE DEPENDENCY_UNAVAILABLE"}, seen
    # What the operator is paged on (BetmeshDependencyUnavailable): every refusal is counted by
    # the store it was for (and the background work that failed on them too).
    assert outages("postgresql", "redis") - before >= seen["UNAVAILABLE DEPENDENCY_UNAVAILABLE"]
    assert outage_tracebacks(caplog) == []


@pytest.mark.parametrize(
    "fault",
    [FaultProxy.cut, FaultProxy.blackhole],
    ids=["cut", "stops answering"],
)
async def test_live_answers_unavailable_while_redis_is_down(
    redis_url: str, caplog: pytest.LogCaptureFixture, fault: Callable[[FaultProxy], None]
) -> None:
    """Cut, or answering nothing with its sockets open (a partition, a frozen Redis): before
    BETMESH_REDIS_ANSWER_SECONDS bounded each answer, such a call waited for its whole
    deadline and ended DEADLINE_EXCEEDED (service_runtime/redis_client.py)."""
    caplog.set_level(logging.WARNING)
    async with FaultProxy.for_redis(redis_url) as redis:
        live = await start_live(
            redis.redis_url(redis_url),
            f"test:outage:{new_fixture()}",
            BETMESH_REDIS_ANSWER_SECONDS=str(ANSWER_SECONDS),
        )
        try:
            request = live_pb.GetGameStateRequest(fixture_id=new_fixture())

            async def game_state() -> Any:
                # A fixture live has never seen: NOT_FOUND, read from Redis each time.
                try:
                    return await live.stub.GetGameState(request, timeout=DEADLINE)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.NOT_FOUND:
                        raise
                    return None

            before = outages("redis")
            seen = await through_an_outage([redis], game_state, fault, calls=3)
        finally:
            await live.channel.close()
            await live.host.stop(0)
    assert set(seen) == {"OK", "UNAVAILABLE DEPENDENCY_UNAVAILABLE"}, seen
    assert outages("redis") - before >= seen["UNAVAILABLE DEPENDENCY_UNAVAILABLE"]
    assert outage_tracebacks(caplog) == []
