"""Real `python -m services.live` processes side by side on one Redis: a subscriber of a
process that is killed resumes on the other with its token, with no gap and no duplicate; and
a Node (@grpc/grpc-js) client consumes the stream."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import market_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc

from service_runtime.events import EventPublisher
from tests.integration.test_live_stream import Reader, assert_gapless, publish_prices

if TYPE_CHECKING:
    Stub = live_odds_service_pb2_grpc.LiveOddsServiceAsyncStub

ROOT = Path(__file__).resolve().parents[2]
LIVE = market_pb2.PRICING_PHASE_LIVE


async def spawn(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.live",
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert line.startswith("READY betmesh.live port="), line
    return process, int(line.strip().rsplit("=", 1)[1])


def live_env(redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a `python -m services.live` on its own stream prefix and key."""
    return {
        **os.environ,
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_HOST": "127.0.0.1",
        "BETMESH_PORT": "0",
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_LOG_LEVEL": "WARNING",
        "BETMESH_GRACE_SECONDS": "0.2",
        "BETMESH_LIVE_STREAM_PREFIX": f"test:{prefix}:{uuid.uuid4().hex[:8]}",
        "BETMESH_LIVE_STREAM_TOKEN_KEY": f"{prefix}-test-key-" + uuid.uuid4().hex,
        **extra,
    }


@pytest.fixture
async def processes(redis_url: str) -> AsyncIterator[list[tuple[asyncio.subprocess.Process, int]]]:
    env = live_env(
        redis_url,
        "streamproc",
        # Short, so the kill test's take-over is quick; not shorter, or a loaded machine's
        # stalled event loop loses the lease at every beat and the writers take turns.
        BETMESH_LIVE_STREAM_LEASE_SECONDS="3",
    )
    started = [await spawn(env), await spawn(env)]
    yield started
    for process, _ in started:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[EventPublisher]:
    client = aioredis.Redis.from_url(redis_url)
    yield EventPublisher(client, "betmesh.gateway")
    await client.aclose()  # type: ignore[attr-defined]


def stub_for(channel: grpc.aio.Channel) -> Stub:
    return cast("Stub", live_odds_service_pb2_grpc.LiveOddsServiceStub(channel))


async def test_subscriber_of_a_killed_process_resumes_on_another(
    processes: list[tuple[asyncio.subprocess.Process, int]], bus: EventPublisher
) -> None:
    (first, first_port), (_, second_port) = processes
    fixture = f"proc-{uuid.uuid4().hex[:10]}"
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{first_port}") as one,
        grpc.aio.insecure_channel(f"127.0.0.1:{second_port}") as two,
    ):
        reader = Reader(
            stub_for(one),
            pb.StreamOddsRequest(
                filter=pb.SubscriptionFilter(fixture_ids=[fixture]), max_batch_size=1
            ),
        )
        await reader.image()
        for price in (20000, 20100, 20200):
            await publish_prices(bus, fixture, LIVE, price)
        await reader.updates(3)
        last = reader.received[-1]
        first.send_signal(signal.SIGKILL)  # mid-match, no goodbye
        await first.wait()
        for price in (20300, 20400, 20500):
            await publish_prices(bus, fixture, LIVE, price)
        resumed = Reader(stub_for(two), pb.StreamOddsRequest(resume_token=last.resume_token))
        # The journal writer may have been the killed process: the other takes over its lease.
        missed = await resumed.updates(3, timeout=30)
        assert [u.odds_change.quote_set_digest for u in missed] == [
            f"sha256:{p:064x}" for p in (20300, 20400, 20500)
        ]
        assert resumed.received[0].stream_id == last.stream_id
        assert_gapless(resumed.received, start=last.sequence + 1)
        resumed.cancel()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_a_node_grpc_js_client_consumes_the_stream(
    processes: list[tuple[asyncio.subprocess.Process, int]], bus: EventPublisher
) -> None:
    (_, port), _ = processes
    fixture = f"node-{uuid.uuid4().hex[:10]}"
    client = await asyncio.create_subprocess_exec(
        "node",
        str(ROOT / "tests" / "node" / "stream_client.mjs"),
        f"127.0.0.1:{port}",
        fixture,
        "2",
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert client.stdout is not None
    first = json.loads(await asyncio.wait_for(client.stdout.readline(), 30))
    assert first["payload"] == "full_image" and first["reason"] == "FULL_IMAGE_REASON_INITIAL"
    for price in (20000, 20100):
        await publish_prices(bus, fixture, LIVE, price)
    out, err = await asyncio.wait_for(client.communicate(), 90)  # the client gives up at 60
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    print("\n".join(json.dumps(line) for line in [first, *lines]))  # what the Node client got
    assert client.returncode == 0, err.decode()
    done = lines[-1]
    assert done["done"] and done["gaps"] == 0 and done["updates"] == 2
    digests = [
        u["digest"] for line in lines if line.get("payload") == "deltas" for u in line["updates"]
    ]
    assert digests == [f"sha256:{p:064x}" for p in (20000, 20100)]
