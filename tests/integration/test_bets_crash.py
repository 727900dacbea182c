"""Bets under concurrency, restarts and SIGKILL: money is never lost, duplicated or overdrawn.

The crash test runs the real `python -m services.bets` process and kills it mid-load."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.bets.v1 import bet_service_pb2_grpc

from launcher.embedded import free_port
from services.identity.app import build as build_identity
from services.identity.settings import IdentitySettings
from tests.integration.test_bets_harness import (
    GROUP,
    LIMITS,
    Bus,
    Mesh,
    eventually,
    football,
    place_request,
    quote_set,
    running,
    uid,
)
from tests.support.grpc_helpers import client_channel

ROOT = Path(__file__).resolve().parents[2]


def home(f: str) -> list[tuple[str, str, str, int]]:
    return [(f, f"{f}/MATCH_RESULT", "home", 20_000)]


def check_ledger(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT coalesce(sum(amount_minor), 0) FROM bets.entries"))
        assert total.scalar_one() == 0
        negative = conn.execute(
            sa.text(
                "SELECT count(*) FROM bets.accounts WHERE kind IN ('player_wallet', 'player_held')"
                " AND balance_minor < 0"
            )
        )
        assert negative.scalar_one() == 0
        drift = conn.execute(
            sa.text(
                "SELECT count(*) FROM bets.accounts a WHERE a.balance_minor <> a.normal_side *"
                " (SELECT coalesce(sum(e.amount_minor), 0) FROM bets.entries e"
                " WHERE e.account_id = a.id)"
            )
        )
        assert drift.scalar_one() == 0
    engine.dispose()


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url, uid("bets-crash")) as m:
        yield m


async def test_many_clients_on_one_wallet_never_overdraw_it(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    answers = await asyncio.gather(*(mesh.place(p, home(f), 1_000) for _ in range(40)))
    accepted = [a for a in answers if a.status == pb.BET_STATUS_ACCEPTED]
    refused = {a.rejection_reason for a in answers if a.status == pb.BET_STATUS_REJECTED}
    assert len(accepted) == 10
    assert refused == {pb.REJECTION_REASON_INSUFFICIENT_FUNDS}
    assert await mesh.wallet(p) == (0, 10_000)


async def test_retries_racing_new_bets_never_double_charge(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=10_000), await mesh.fixture()
    requests = [place_request(p, home(f), 500) for _ in range(8)]
    # Every request sent three times at once.
    answers = await asyncio.gather(*(mesh.stub.PlaceBet(r) for r in requests * 3))
    by_key: dict[str, set[str]] = {}
    for answer in answers:
        by_key.setdefault(answer.bet.idempotency_key, set()).add(answer.bet.bet_id)
    assert all(len(ids) == 1 for ids in by_key.values())
    assert await mesh.wallet(p) == (6_000, 4_000)


async def test_settlement_delivered_concurrently_pays_once(mesh: Mesh) -> None:
    players = [await mesh.player(balance=1_000) for _ in range(5)]
    f = await mesh.fixture()
    bets = [await mesh.place(p, home(f), 1_000) for p in players]
    await asyncio.gather(*(mesh.bus.result(f, 1, 0, event_id=uid("e")) for _ in range(4)))
    for p in players:
        assert await mesh.wallet(p) == (2_000, 0)
    statuses = [(await mesh.bet(b.bet_id)).status for b in bets]
    assert statuses == [pb.BET_STATUS_WON] * len(bets)


async def test_pending_live_bets_are_decided_after_a_restart(
    mesh: Mesh, database_url: str, redis_url: str
) -> None:
    del mesh  # only so that its decider is not the one running now
    name = uid("bets-restart")
    async with running(
        database_url, redis_url, name, BETMESH_BETS_LIVE_DELAY_SECONDS="football=1"
    ) as first:
        p, f = await first.player(balance=5_000), uid("live")
        await first.bus.game(f, 5, (0, 0))
        await first.bus.prices(quote_set(f, football(f), live=True, sequence=5))
        goal = await first.place(p, home(f), 1_000, live=True, wait=False)
        calm = await first.place(p, home(f), 1_000, live=True, wait=False)
        assert {goal.status, calm.status} == {pb.BET_STATUS_PENDING}
    async with running(database_url, redis_url, name) as second:
        await second.bus.game(f, 6, (0, 1))

        async def decided() -> bool:
            bets = [await second.bet(b.bet_id) for b in (goal, calm)]
            return all(b.status != pb.BET_STATUS_PENDING for b in bets)

        await eventually(decided)
        final = [await second.bet(b.bet_id) for b in (goal, calm)]
        assert {b.rejection_reason for b in final} == {pb.REJECTION_REASON_SCORE_CHANGED}
        assert await second.wallet(p) == (5_000, 0)


class BetsProcess:
    """A real `python -m services.bets` on a fixed port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.bets"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("READY"):
                return
        raise AssertionError("services.bets exited before READY")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


CRASH_CLIENT = "svc-crash-test"
CRASH_SECRET = "crash-test-secret"


@pytest.fixture
async def identity() -> AsyncIterator[str]:
    """Identity in-process, for the bets process to check this test's tokens (the default)."""
    host = build_identity(
        IdentitySettings.from_env(
            {
                "BETMESH_PORT": "0",
                "BETMESH_IDENTITY_CLIENTS": json.dumps(
                    [
                        {
                            "client_id": CRASH_CLIENT,
                            "secret_sha256": hashlib.sha256(CRASH_SECRET.encode()).hexdigest(),
                            "role": "service",
                            "audiences": ["betmesh.bets"],
                        }
                    ]
                ),
            }
        )
    )
    port = await host.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await host.stop(0)


@pytest.fixture
def bets_process(
    database_url: str, redis_url: str, identity: str
) -> Iterator[tuple[BetsProcess, int, str]]:
    port, consumer = free_port(), uid("bets-proc")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETMESH_")},
        "BETMESH_AUTH_MODE": "tokens",
        "BETMESH_IDENTITY_ADDRESS": identity,
        "BETMESH_PORT": str(port),
        "BETMESH_DATABASE_URL": database_url,
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_BETS_CONSUMER_GROUP": GROUP,
        "BETMESH_BETS_CONSUMER_NAME": consumer,
        "BETMESH_BETS_EVENT_BLOCK_MS": "50",
        "BETMESH_LOG_LEVEL": "WARNING",
        **LIMITS,
    }
    process = BetsProcess(env)
    process.start()
    try:
        yield process, port, consumer
    finally:
        process.stop()


async def test_sigkill_mid_load_keeps_every_acknowledged_bet_exactly_once(
    bets_process: tuple[BetsProcess, int, str], database_url: str, redis_url: str, identity: str
) -> None:
    process, port, consumer = bets_process
    client = aioredis.Redis.from_url(redis_url)
    # The calls other services would make: a service token (any player's wallet and bets).
    channel = await client_channel(
        f"127.0.0.1:{port}", identity, CRASH_CLIENT, CRASH_SECRET, "betmesh.bets"
    )
    stub = bet_service_pb2_grpc.BetServiceStub(channel)
    bus = Bus(client, consumer)
    mesh = Mesh(None, channel, stub, bus)  # type: ignore[arg-type]
    players = [await mesh.player(balance=20_000) for _ in range(8)]
    fixtures = [await mesh.fixture() for _ in range(4)]
    requests = [
        place_request(players[i % 8], home(fixtures[i % 4]), 100 + i % 7) for i in range(400)
    ]
    answers: dict[str, pb.Bet] = {}
    killed = asyncio.Event()

    async def client_loop(batch: list[pb.PlaceBetRequest]) -> None:
        for request in batch:
            if killed.is_set():
                return
            try:
                answers[request.idempotency_key] = (await stub.PlaceBet(request, timeout=10)).bet
            except grpc.aio.AioRpcError:
                return  # unknown outcome: retried after the restart
            if len(answers) >= 120 and not killed.is_set():
                killed.set()
                process.kill()

    await asyncio.gather(*(client_loop(requests[i::16]) for i in range(16)))
    assert killed.is_set()
    acknowledged = dict(answers)
    process.start()
    # Every request is sent again with its key: the acknowledged ones must answer the same bet.
    for request in requests:
        answer = (await stub.PlaceBet(request, timeout=20, wait_for_ready=True)).bet
        if request.idempotency_key in acknowledged:
            assert answer.bet_id == acknowledged[request.idempotency_key].bet_id
            assert answer.status == acknowledged[request.idempotency_key].status
        answers[request.idempotency_key] = answer
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT idempotency_key, count(*) FROM bets.bets WHERE player_id = ANY(:p)"
                " GROUP BY idempotency_key"
            ),
            {"p": players},
        ).all()
        held: dict[str, int] = dict(
            conn.execute(
                sa.text(
                    "SELECT player_id, sum(stake_minor) FROM bets.bets WHERE player_id = ANY(:p)"
                    " AND status = 'ACCEPTED' GROUP BY player_id"
                ),
                {"p": players},
            ).all()
        )
    engine.dispose()
    assert {key for key, _ in rows} == {r.idempotency_key for r in requests}
    assert all(count == 1 for _, count in rows)
    for p in players:
        balance, on_hold = await mesh.wallet(p)
        assert on_hold == held.get(p, 0)
        assert balance + on_hold == 20_000
    check_ledger(database_url)
    await channel.close()
    await client.aclose()


def test_the_ledger_balances_after_everything(mesh: Mesh, database_url: str) -> None:
    check_ledger(database_url)
