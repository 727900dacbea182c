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
import re
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
    args: list[str], env: dict[str, str], ready: str, cwd: Path = ROOT
) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        if line.startswith(ready):
            return process, int(line.strip().rsplit("=", 1)[1])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the servers used so far: a cost per update that, unlike wall-clock
    rates, other work on the shared machine barely moves."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


DIGEST = re.compile(rb"bench:(\d{19})")
METHOD = "/betmesh.live.v1.LiveOddsService/StreamOdds"


class Clients:
    """Many streams in this one process. By default a message is not parsed: the clients
    share the 2 cores with the servers, so they only find each update's digest (one per odds
    change, the publish time in it) in the raw bytes; `parse` decodes every message instead."""

    def __init__(self, parse: bool) -> None:
        self.parse = parse
        self.updates = 0
        self.latencies: list[float] = []
        self.measuring = False

    async def stream(self, channel: grpc.aio.Channel) -> None:
        request = pb.StreamOddsRequest(max_batch_size=100)
        if self.parse:
            await self._parsed(live_odds_service_pb2_grpc.LiveOddsServiceStub(channel), request)
            return
        call = channel.unary_stream(
            METHOD, request_serializer=pb.StreamOddsRequest.SerializeToString
        )(request)
        try:
            async for raw in call:
                if not self.measuring:
                    continue
                now = time.time_ns()
                published = DIGEST.findall(raw)
                self.updates += len(published)
                if len(self.latencies) < 200_000:
                    self.latencies += [(now - int(p)) / 1e6 for p in published]
        except grpc.aio.AioRpcError:
            return

    async def _parsed(
        self, stub: live_odds_service_pb2_grpc.LiveOddsServiceStub, request: pb.StreamOddsRequest
    ) -> None:
        call = stub.StreamOdds(request)
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


async def measure(  # type: ignore[no-untyped-def]
    ports: list[int], pids: list[int], subscribers: int, seconds: float, publish, parse: bool
) -> dict[str, float]:
    clients = Clients(parse)
    channels = []
    tasks = []
    for i in range(subscribers):
        if i % STREAMS_PER_CHANNEL == 0:
            port = ports[(i // STREAMS_PER_CHANNEL) % len(ports)]
            channels.append(grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
        tasks.append(asyncio.create_task(clients.stream(channels[-1])))
    await asyncio.sleep(2 + subscribers / 500)  # images delivered, streams settled
    stop = asyncio.Event()
    publisher = asyncio.create_task(publish(stop)) if publish else None
    await asyncio.sleep(1)
    clients.measuring = True
    start, cpu = time.monotonic(), cpu_seconds(pids)
    await asyncio.sleep(seconds)
    clients.measuring = False
    elapsed, cpu = time.monotonic() - start, cpu_seconds(pids) - cpu
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
        "cpu_us_per_update": cpu * 1e6 / max(clients.updates, 1),
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
    parser.add_argument(
        "--servers", default="ceiling,live1,live2", help="which of ceiling,live1,live2 to run"
    )
    parser.add_argument(
        "--also-env",
        action="append",
        default=[],
        help="also run one live process with this NAME=VALUE setting (repeatable)",
    )
    parser.add_argument(
        "--parse", action="store_true", help="clients decode every message (slower clients)"
    )
    parser.add_argument(
        "--baseline-root",
        type=Path,
        help="also run one live process from this checkout (e.g. `git archive HEAD` unpacked): "
        "a before/after comparison in the same run",
    )
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
    print(
        "| subscribers | server | delivered updates/s | p50 ms | p99 ms | ratio to ceiling "
        "| server CPU us/update |"
    )
    print("|---|---|---|---|---|---|---|")
    servers = set(args.servers.split(","))
    lives: list[tuple[str, int, Path, dict[str, str]]] = [
        (f"live x{c}", c, ROOT, {}) for c in (1, 2) if f"live{c}" in servers
    ]
    if args.baseline_root:
        lives.insert(0, ("live x1 (baseline checkout)", 1, args.baseline_root.resolve(), {}))
    for setting in args.also_env:
        # A variant of one live process, e.g. BETMESH_LIVE_STREAM_CONFLATE_AFTER=16.
        name, _, value = setting.partition("=")
        lives.append((f"live x1, {setting}", 1, ROOT, {name: value}))
    for subscribers in [int(s) for s in args.subscribers.split(",")]:
        results = {}
        if "ceiling" in servers:
            base, port = await spawn(
                [sys.executable, str(Path(__file__).parent / "baseline_server.py"), str(args.rate)],
                env,
                "READY port=",
            )
            results["broadcast ceiling"] = await measure(
                [port], [base.pid], subscribers, args.seconds, None, args.parse
            )
            base.kill()
            await base.wait()
        for name, count, root, extra in lives:
            # A fresh journal replays the whole retained bus: start every run from an empty one
            # (this database is the benchmark's own).
            await client.flushdb()
            processes = [
                await spawn(
                    [sys.executable, "-m", "services.live"],
                    {**env, **extra},
                    "READY betmesh.live",
                    root,
                )
                for _ in range(count)
            ]
            results[name] = await measure(
                [p for _, p in processes],
                [p.pid for p, _ in processes],
                subscribers,
                args.seconds,
                bus_publisher(client, args.rate),
                args.parse,
            )
            for process, _ in processes:
                process.kill()
                await process.wait()
        ceiling = results.get("broadcast ceiling", {}).get("updates_per_s") or 1
        for name, r in results.items():
            print(
                f"| {subscribers} | {name} | {r['updates_per_s']:,.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['updates_per_s'] / ceiling:.2f} | "
                f"{r['cpu_us_per_update']:.1f} |",
                flush=True,
            )
    await client.aclose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    asyncio.run(main())
