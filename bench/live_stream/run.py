"""StreamOdds throughput and latency against the broadcast ceiling, measured in one run.

For each subscriber count, the same event rate is offered to (a) one `python -m services.live`
process, fed through the real bus (EventPublisher -> journal writer -> journal -> fan-out),
(b) two live processes (subscribers split between them), and (c) the minimal broadcast server
(baseline_server.py). Clients (a separate process: this one) count delivered updates per second
and the event-to-subscriber latency (publish time carried in the quote-set digest).

    .venv/bin/python bench/live_stream/run.py [--subscribers 100,1000] [--rate 200] [--seconds 5]
      [--redis redis://127.0.0.1:6379/8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import redis.asyncio as aioredis
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from payload import markets  # noqa: E402

from service_runtime.events import EventPublisher, Topic  # noqa: E402

STREAMS_PER_CHANNEL = 200
FIXTURES = 50


async def spawn(
    args: list[str], env: dict[str, str], ready: str
) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        if line.startswith(ready):
            return process, int(line.strip().rsplit("=", 1)[1])


class Clients:
    def __init__(self) -> None:
        self.updates = 0
        self.latencies: list[float] = []
        self.measuring = False

    async def stream(self, stub: live_odds_service_pb2_grpc.LiveOddsServiceStub) -> None:
        call = stub.StreamOdds(pb.StreamOddsRequest(max_batch_size=100))
        try:
            async for message in call:
                if message.WhichOneof("payload") != "deltas":
                    continue
                now = time.time_ns()
                for update in message.deltas.updates:
                    if self.measuring:
                        self.updates += 1
                        digest = update.odds_change.quote_set_digest
                        if digest.startswith("bench:") and len(self.latencies) < 200_000:
                            self.latencies.append((now - int(digest[6:])) / 1e6)
        except grpc.aio.AioRpcError:
            return


async def measure(ports: list[int], subscribers: int, seconds: float, publish) -> dict[str, float]:  # type: ignore[no-untyped-def]
    clients = Clients()
    channels = []
    tasks = []
    for i in range(subscribers):
        if i % STREAMS_PER_CHANNEL == 0:
            port = ports[(i // STREAMS_PER_CHANNEL) % len(ports)]
            channels.append(grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
        stub = live_odds_service_pb2_grpc.LiveOddsServiceStub(channels[-1])
        tasks.append(asyncio.create_task(clients.stream(stub)))
    await asyncio.sleep(2 + subscribers / 500)  # images delivered, streams settled
    stop = asyncio.Event()
    publisher = asyncio.create_task(publish(stop)) if publish else None
    await asyncio.sleep(1)
    clients.measuring = True
    start = time.monotonic()
    await asyncio.sleep(seconds)
    clients.measuring = False
    elapsed = time.monotonic() - start
    stop.set()
    if publisher:
        await publisher
    for task in tasks:
        task.cancel()
    for channel in channels:
        await channel.close()
    latencies = sorted(clients.latencies) or [0.0]
    return {
        "updates_per_s": clients.updates / elapsed,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
    }


def bus_publisher(client: aioredis.Redis, rate: float):  # type: ignore[no-untyped-def]
    bus = EventPublisher(client, "bench")

    async def publish(stop: asyncio.Event) -> None:
        n = 0
        interval = 1.0 / rate
        next_at = time.monotonic()
        while not stop.is_set():
            n += 1
            fixture = f"bench-{n % FIXTURES}"
            await bus.publish(
                Topic.QUOTE_SET_ACCEPTED,
                events_pb2.EventEnvelope(
                    quote_set_accepted=events_pb2.QuoteSetAccepted(
                        quote_set=market_pb2.QuoteSet(
                            fixture_id=fixture,
                            sport=sport_pb2.SPORT_FOOTBALL,
                            phase=market_pb2.PRICING_PHASE_LIVE,
                            markets=markets(fixture, 20000 + n % 1000),
                        ),
                        digest=f"bench:{time.time_ns()}",
                    )
                ),
            )
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    return publish


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", default="100,1000")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    # Flushed before every run: give the benchmark a database of its own.
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    args = parser.parse_args()
    env = {
        **os.environ,
        "BETMESH_REDIS_URL": args.redis,
        "BETMESH_PORT": "0",
        "BETMESH_LOG_LEVEL": "WARNING",
        "BETMESH_GRACE_SECONDS": "0.2",
        "BETMESH_MAX_CONCURRENT_STREAMS": "1000",
        "BETMESH_LIVE_STREAM_PREFIX": f"bench:stream:{uuid.uuid4().hex[:8]}",
        "BETMESH_LIVE_STREAM_MAX_PER_PARTNER": "5000",
        "BETMESH_LIVE_STREAM_TOKEN_KEY": uuid.uuid4().hex,
    }
    client = aioredis.Redis.from_url(args.redis)
    print(f"rate {args.rate:.0f} events/s over {FIXTURES} fixtures, {args.seconds:.0f} s per run")
    print("| subscribers | server | delivered updates/s | p50 ms | p99 ms | ratio to ceiling |")
    print("|---|---|---|---|---|---|")
    for subscribers in [int(s) for s in args.subscribers.split(",")]:
        results = {}
        base, port = await spawn(
            [sys.executable, str(Path(__file__).parent / "baseline_server.py"), str(args.rate)],
            env,
            "READY port=",
        )
        results["broadcast ceiling"] = await measure([port], subscribers, args.seconds, None)
        base.kill()
        await base.wait()
        for count in (1, 2):
            # A fresh journal replays the whole retained bus: start every run from an empty one
            # (this database is the benchmark's own).
            await client.flushdb()
            lives = [
                await spawn([sys.executable, "-m", "services.live"], env, "READY betmesh.live")
                for _ in range(count)
            ]
            ports = [p for _, p in lives]
            name = "live x1" if count == 1 else "live x2"
            results[name] = await measure(
                ports, subscribers, args.seconds, bus_publisher(client, args.rate)
            )
            for process, _ in lives:
                process.kill()
                await process.wait()
        ceiling = results["broadcast ceiling"]["updates_per_s"] or 1
        for name, r in results.items():
            print(
                f"| {subscribers} | {name} | {r['updates_per_s']:,.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['updates_per_s'] / ceiling:.2f} |",
                flush=True,
            )
    await client.aclose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    asyncio.run(main())
