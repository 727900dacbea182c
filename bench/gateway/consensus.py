"""Consensus cost and pre-match throughput, measured against real processes.

    .venv/bin/python bench/gateway/consensus.py [--requests 2000] [--concurrency 32]
        [--fixtures 2100] [--database-url URL] [--redis-url URL]

Starts 3 replicas per sport and the gateway with the launcher (embedded PostgreSQL and Redis
unless URLs are given), then in one run:
1. latency, one call in flight: a single replica's PriceFixture, the same call through a
   do-nothing relay (bench/gateway/relay.py: the floor of any extra hop), and the gateway's
   GetConsensusQuote (3 replicas, quorum 2), asking all three at once and, from a second
   gateway process, hedged (ask two, the third on dissent or after --hedge-ms) -> p50/p99
   and their ratios;
2. throughput, many calls in flight: the same four -> calls/s, their ratios, and the CPU per
   call of each process (client, relay, replicas, gateways);
3. a week of fixtures across the sports that have a snapshot, priced through consensus by one
   RunPreMatchPricing pass -> wall time.
Same machine, same run: compare the ratios, not the absolute figures (2 shared cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psutil  # type: ignore[import-untyped]  # no stubs in the lock
from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gw
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)
from betmesh.quotes.v1 import quote_service_pb2 as qs
from betmesh.quotes.v1 import quote_service_pb2_grpc
from google.protobuf import timestamp_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.mesh import add_mesh_arguments, run_on_mesh
from bench.server_cpu import spread
from launcher.embedded import free_port
from launcher.mesh import Mesh

SPORTS = {
    "football": sport_pb2.SPORT_FOOTBALL,
    "tennis": sport_pb2.SPORT_TENNIS,
    "basketball": sport_pb2.SPORT_BASKETBALL,
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def latency(call: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    for _ in range(min(50, n)):
        await call()  # warm-up
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU of each named process so far (the bench itself under "client")."""
    out = {}
    for name, pid in pids.items():
        times = psutil.Process(pid).cpu_times()
        out[name] = times.user + times.system
    return out


async def throughput(
    call: Callable[[], Awaitable[Any]], n: int, concurrency: int, pids: dict[str, int]
) -> tuple[float, dict[str, float]]:
    """Calls/s with `concurrency` in flight, and each process's CPU microseconds per call."""
    before = cpu_seconds(pids)
    started = time.perf_counter()
    await spread(n, concurrency, call)
    rate = n / (time.perf_counter() - started)
    after = cpu_seconds(pids)
    return rate, {name: (after[name] - before[name]) / n * 1e6 for name in pids}


async def participants(channel: grpc.aio.Channel, sport: int) -> tuple[str, list[str]]:
    stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
    listed = await stub.ListModelSnapshots(qs.ListModelSnapshotsRequest(sport=sport), timeout=10)  # type: ignore[arg-type]
    if not listed.snapshots:
        return "", []
    snapshot = listed.snapshots[0]
    which = snapshot.snapshot.WhichOneof("parameters")
    params = getattr(snapshot.snapshot, which)
    people = params.players if which == "tennis" else params.teams
    return snapshot.snapshot_hash, [p.participant_id for p in people]


def pairings(ids: list[str], count: int) -> Iterator[tuple[str, str]]:
    """`count` (home, away) pairs cycling through the participants, none against itself."""
    for n in range(count):
        home = ids[n % len(ids)]
        away = ids[(n + 1 + n // len(ids)) % len(ids)]
        if home == away:
            away = ids[(n + 2) % len(ids)]
        yield home, away


def week(sport_name: str, ids: list[str], count: int, now: datetime) -> list[sport_pb2.Fixture]:
    fixtures = []
    for n, (home, away) in enumerate(pairings(ids, count)):
        start = timestamp_pb2.Timestamp()
        start.FromDatetime(now + timedelta(minutes=30 + (n * 7 * 24 * 60) // count))
        fixtures.append(
            sport_pb2.Fixture(
                fixture_id=f"bench-{sport_name}-{n}",
                sport=SPORTS[sport_name],
                start_time=start,
                status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
                best_of_sets=3 if sport_name == "tennis" else 0,
                home=sport_pb2.Participant(participant_id=home),
                away=sport_pb2.Participant(participant_id=away),
            )
        )
    return fixtures


def start_relay(upstream: str) -> tuple[subprocess.Popen[str], str]:
    """bench/gateway/relay.py in front of `upstream`, on a free port (outside the kernel's
    ephemeral range, so no outgoing connection takes it before the relay binds it)."""
    port = free_port()
    relay = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("relay.py")),
            "--port",
            str(port),
            "--upstream",
            upstream,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert relay.stdout is not None and relay.stdout.readline().strip() == "ready"
    return relay, f"127.0.0.1:{port}"


async def measure(mesh: Mesh, args: argparse.Namespace) -> None:
    gateway_address = mesh.address_of("gateway")
    assert gateway_address is not None
    football = mesh.replica_addresses("football")
    relay, relay_address = start_relay(football[0])
    try:
        await compare(mesh, args, football, gateway_address, relay, relay_address)
    finally:
        relay.terminate()
        relay.wait(10)


async def compare(
    mesh: Mesh,
    args: argparse.Namespace,
    football: list[str],
    gateway_address: str,
    relay: subprocess.Popen[str],
    relay_address: str,
) -> None:
    relay_channel = grpc.aio.insecure_channel(relay_address)
    replica = grpc.aio.insecure_channel(football[0])
    gateway = grpc.aio.insecure_channel(gateway_address)
    snapshot, teams = await participants(replica, sport_pb2.SPORT_FOOTBALL)
    fixture = sport_pb2.Fixture(
        fixture_id="bench-latency",
        sport=sport_pb2.SPORT_FOOTBALL,
        home=sport_pb2.Participant(participant_id=teams[0]),
        away=sport_pb2.Participant(participant_id=teams[1]),
    )
    direct = quote_service_pb2_grpc.QuoteServiceStub(replica)
    consensus = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(gateway)
    hedged_address = mesh.address_of("gateway-2")
    assert hedged_address is not None
    hedged_channel = grpc.aio.insecure_channel(hedged_address)
    hedged = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(hedged_channel)
    price = qs.PriceFixtureRequest(fixture=fixture, snapshot_hash=snapshot)
    quote = gw.GetConsensusQuoteRequest(fixture=fixture, snapshot_hash=snapshot)

    async def one_replica() -> Any:
        return await direct.PriceFixture(price, timeout=10)

    async def through_consensus() -> Any:
        return await consensus.GetConsensusQuote(quote, timeout=10)

    async def through_hedged() -> Any:
        return await hedged.GetConsensusQuote(quote, timeout=10)

    relay_stub = quote_service_pb2_grpc.QuoteServiceStub(relay_channel)

    async def through_relay() -> Any:
        return await relay_stub.PriceFixture(price, timeout=10)

    n = args.requests
    single = await latency(one_replica, n // 2)
    relayed = await latency(through_relay, n // 2)
    agreed = await latency(through_consensus, n // 2)
    agreed_hedged = await latency(through_hedged, n // 2)
    pids = {"client": os.getpid(), "relay": relay.pid}
    for child in mesh.children:
        if child.name in ("gateway", "gateway-2") or child.address in football:
            pids[child.name] = child.pid
    single_rate, single_cpu = await throughput(one_replica, n, args.concurrency, pids)
    relay_rate, relay_cpu = await throughput(through_relay, n, args.concurrency, pids)
    agreed_rate, agreed_cpu = await throughput(through_consensus, n, args.concurrency, pids)
    hedged_rate, hedged_cpu = await throughput(through_hedged, n, args.concurrency, pids)

    def row(name: str, samples: list[float]) -> str:
        p50, p99 = statistics.median(samples) * 1000, percentile(samples, 0.99) * 1000
        return f"  {name:<20}p50 {p50:7.2f}  p99 {p99:7.2f}"

    print(f"\nlatency, 1 in flight, n={n // 2} each (ms)")
    print(row("single replica", single))
    print(row("relay to one", relayed))
    print(row("consensus 2 of 3", agreed))
    print(row("hedged 2 of 3", agreed_hedged))
    for name, samples in (("relay", relayed), ("consensus", agreed), ("hedged", agreed_hedged)):
        p50_ratio = statistics.median(samples) / statistics.median(single)
        p99_ratio = percentile(samples, 0.99) / percentile(single, 0.99)
        print(f"  ratio {name}/single  p50 {p50_ratio:.2f}x  p99 {p99_ratio:.2f}x")
    print(f"throughput, {args.concurrency} in flight, n={n} each (calls/s)")
    print(f"  single replica      {single_rate:8.0f}")
    print(f"  relay to one        {relay_rate:8.0f}")
    print(f"  consensus 2 of 3    {agreed_rate:8.0f}")
    print(f"  hedged 2 of 3       {hedged_rate:8.0f}")
    print(f"  ratio relay/single      {relay_rate / single_rate:.2f}")
    print(f"  ratio consensus/single  {agreed_rate / single_rate:.2f}")
    print(f"  ratio hedged/single     {hedged_rate / single_rate:.2f}")
    print("CPU per call during the throughput runs (us, by process)")
    names = list(pids)
    print("  " + " " * 20 + "".join(f"{name:>20}" for name in names) + f"{'total':>10}")
    for label, cpu in (
        ("single", single_cpu),
        ("relay", relay_cpu),
        ("consensus", agreed_cpu),
        ("hedged", hedged_cpu),
    ):
        cells = "".join(f"{cpu[name]:20.0f}" for name in names)
        print(f"  {label:<20}{cells}{sum(cpu.values()):10.0f}")

    now = datetime.now(UTC)
    fixtures: list[sport_pb2.Fixture] = []
    sports_priced = []
    per_sport = args.fixtures // len(SPORTS)
    for name, sport in SPORTS.items():
        addresses = mesh.replica_addresses(name)
        if not addresses:
            continue
        async with grpc.aio.insecure_channel(addresses[0]) as channel:
            _, ids = await participants(channel, sport)
        if len(ids) >= 2:
            fixtures += week(name, ids, per_sport, now)
            sports_priced.append(name)
    store = fixture_service_pb2_grpc.FixtureServiceStub(gateway)
    for start in range(0, len(fixtures), 500):
        await store.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=fixtures[start : start + 500]),
            timeout=60,
        )
    started = time.perf_counter()
    report = await consensus.RunPreMatchPricing(
        gw.RunPreMatchPricingRequest(horizon_days=7), timeout=600
    )
    wall = time.perf_counter() - started
    print(
        f"a week of fixtures ({', '.join(sports_priced)}): {report.fixture_count} fixtures, "
        f"{report.priced_count} priced through consensus, {report.failed_count} failed, "
        f"wall {wall:.2f} s ({report.priced_count / wall:.0f} fixtures/s)"
    )
    for failure in report.failures:
        print(f"  failed: {failure.reason} x{failure.count}")
    await replica.close()
    await gateway.close()
    await hedged_channel.close()
    await relay_channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fixtures", type=int, default=2100)
    parser.add_argument("--hedge-ms", type=int, default=50)
    add_mesh_arguments(parser)
    args = parser.parse_args()
    run_on_mesh(
        args,
        lambda mesh: measure(mesh, args),
        only=frozenset({"quotes", "gateway"}),
        gateways=2,
        instance_env={"gateway-2": {"BETMESH_GATEWAY_HEDGE_MS": str(args.hedge_ms)}},
    )


if __name__ == "__main__":
    main()
