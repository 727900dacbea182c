"""The consensus call with diverse engines against today's, in one run, real processes.

    .venv/bin/python bench/engines/cost.py [--requests 2000] [--concurrency 32]

Starts six football replicas and two gateways (no database, no Redis, no tokens: the same on
both paths) and a do-nothing relay (bench/gateway/relay.py, the floor of any hop):
- "diverse": replicas dc-grid, dc-direct, dc-grid behind a gateway with
  BETMESH_GATEWAY_MIN_ENGINES=2 (k = 2 of 3 and two engines: the new rule);
- "today": three dc-grid replicas behind a gateway with BETMESH_GATEWAY_MIN_ENGINES=1 (k = 2 of
  3 identical bytes: today's configuration);
- "diverse hedged": a third gateway on the diverse replicas with BETMESH_GATEWAY_HEDGE_MS=50
  (asks one replica of each engine, the third on need);
- the do-nothing relay fanned out (bench/gateway/relay.py with several upstreams): the same
  bytes to the three diverse replicas ("fan-out to 3") and to two of them ("fan-out to 2"), all
  answers awaited; the gRPC floor of a consensus call's shape with no consensus in it;
- with `--baseline DIR` (a checkout of another commit, e.g. a `git worktree` of main), a fourth
  gateway on the diverse replicas running that checkout's code ("diverse, baseline"): a code
  change's before and after in one run;
then measures, for a single replica, the relay, and each gateway's GetConsensusQuote:
1. latency with one call in flight -> p50/p99;
2. throughput with --concurrency in flight -> calls/s and each process's CPU per call, and each
   gateway's CPU per consensus call against the relay's per relayed call (target <= 2.0x).
Same machine, same run: compare the ratios (2 shared cores).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gw
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2 as qs
from betmesh.quotes.v1 import quote_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.gateway.consensus import (  # noqa: E402 - after the path is set
    latency,
    participants,
    percentile,
    start_relay,
    throughput,
)
from launcher.embedded import free_port  # noqa: E402 - after the path is set

LOGS = Path(tempfile.gettempdir()) / "betmesh-bench-engines.log"


def spawn(module: str, port: int, env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=cwd,
        env={
            **os.environ,
            "BETMESH_HOST": "127.0.0.1",
            "BETMESH_PORT": str(port),
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_LOG_LEVEL": "WARNING",
            "BETMESH_GRACE_SECONDS": "0",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=LOGS.open("ab"),
    )


async def ready(address: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{address} did not become ready (logs: {LOGS})")


async def measure(args: argparse.Namespace) -> None:
    processes: dict[str, subprocess.Popen[Any]] = {}
    addresses: dict[str, str] = {}
    engines = {
        "diverse-1": "dc-grid",
        "diverse-2": "dc-direct",
        "diverse-3": "dc-grid",
        "today-1": "dc-grid",
        "today-2": "dc-grid",
        "today-3": "dc-grid",
    }
    try:
        for name, engine in engines.items():
            port = free_port()
            processes[name] = spawn(
                "services.quotes",
                port,
                {
                    "BETMESH_QUOTES_SPORT": "football",
                    "BETMESH_QUOTES_REPLICA_ID": name,
                    "BETMESH_QUOTES_ENGINE": engine,
                },
            )
            addresses[name] = f"127.0.0.1:{port}"
        gateways = [
            ("gateway-diverse", 2, "0", ROOT),
            ("gateway-today", 1, "0", ROOT),
            ("gateway-hedged", 2, "50", ROOT),
        ]
        if args.baseline:
            gateways.append(("gateway-baseline", 2, "0", Path(args.baseline)))
        for gateway, min_engines, hedge, code in gateways:
            group = "today" if gateway == "gateway-today" else "diverse"
            listed = ",".join(
                f"{addresses[n]}@{engines[n]}" for n in engines if n.startswith(group)
            )
            port = free_port()
            processes[gateway] = spawn(
                "gateway",
                port,
                {
                    "BETMESH_GATEWAY_REPLICAS": f"football={listed}",
                    "BETMESH_GATEWAY_QUORUM": "2",
                    "BETMESH_GATEWAY_MIN_ENGINES": str(min_engines),
                    "BETMESH_GATEWAY_HEDGE_MS": hedge,
                    "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                },
                cwd=code,
            )
            addresses[gateway] = f"127.0.0.1:{port}"
        for address in addresses.values():
            await ready(address)
        relay, relay_address = start_relay(addresses["today-1"])
        processes["relay"] = relay
        diverse = [addresses[n] for n in engines if n.startswith("diverse")]
        fan3, addresses["fan-out-3"] = start_relay(",".join(diverse))
        processes["fan-out-3"] = fan3
        fan2, addresses["fan-out-2"] = start_relay(",".join(diverse[:2]))
        processes["fan-out-2"] = fan2
        await run(args, processes, addresses, relay_address)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:  # a starved machine: do not leave it behind
                process.kill()
                process.wait(10)


async def run(
    args: argparse.Namespace,
    processes: dict[str, subprocess.Popen[Any]],
    addresses: dict[str, str],
    relay_address: str,
) -> None:
    replica = grpc.aio.insecure_channel(addresses["today-1"])
    relay = grpc.aio.insecure_channel(relay_address)
    diverse = grpc.aio.insecure_channel(addresses["gateway-diverse"])
    today = grpc.aio.insecure_channel(addresses["gateway-today"])
    hedged = grpc.aio.insecure_channel(addresses["gateway-hedged"])
    snapshot, teams = await participants(replica, sport_pb2.SPORT_FOOTBALL)
    fixture = sport_pb2.Fixture(
        fixture_id="bench-engines",
        sport=sport_pb2.SPORT_FOOTBALL,
        home=sport_pb2.Participant(participant_id=teams[0]),
        away=sport_pb2.Participant(participant_id=teams[1]),
    )
    price = qs.PriceFixtureRequest(fixture=fixture, snapshot_hash=snapshot)
    quote = gw.GetConsensusQuoteRequest(fixture=fixture, snapshot_hash=snapshot)
    single_stub = quote_service_pb2_grpc.QuoteServiceStub(replica)
    relay_stub = quote_service_pb2_grpc.QuoteServiceStub(relay)
    diverse_stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(diverse)
    today_stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(today)
    hedged_stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(hedged)
    fan3_stub = quote_service_pb2_grpc.QuoteServiceStub(
        fan3 := grpc.aio.insecure_channel(addresses["fan-out-3"])
    )
    fan2_stub = quote_service_pb2_grpc.QuoteServiceStub(
        fan2 := grpc.aio.insecure_channel(addresses["fan-out-2"])
    )
    extra_channels = [fan3, fan2]

    async def single() -> Any:
        return await single_stub.PriceFixture(price, timeout=10)

    async def relayed() -> Any:
        return await relay_stub.PriceFixture(price, timeout=10)

    async def consensus_today() -> Any:
        return await today_stub.GetConsensusQuote(quote, timeout=10)

    async def consensus_diverse() -> Any:
        answer = await diverse_stub.GetConsensusQuote(quote, timeout=10)
        assert not answer.accepted.evidence.withheld
        return answer

    async def consensus_hedged() -> Any:
        return await hedged_stub.GetConsensusQuote(quote, timeout=10)

    async def fanned_3() -> Any:
        return await fan3_stub.PriceFixture(price, timeout=10)

    async def fanned_2() -> Any:
        return await fan2_stub.PriceFixture(price, timeout=10)

    calls = {
        "single replica": single,
        "relay to one": relayed,
        "fan-out to 3": fanned_3,
        "fan-out to 2": fanned_2,
        "consensus today": consensus_today,
        "consensus diverse": consensus_diverse,
        "diverse hedged": consensus_hedged,
    }
    compared = [
        ("fan-out to 3", "fan-out-3"),
        ("fan-out to 2", "fan-out-2"),
        ("consensus today", "gateway-today"),
        ("consensus diverse", "gateway-diverse"),
        ("diverse hedged", "gateway-hedged"),
    ]
    if "gateway-baseline" in addresses:
        baseline_stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(
            baseline := grpc.aio.insecure_channel(addresses["gateway-baseline"])
        )
        extra_channels.append(baseline)

        async def consensus_baseline() -> Any:
            answer = await baseline_stub.GetConsensusQuote(quote, timeout=10)
            assert not answer.accepted.evidence.withheld
            return answer

        calls["diverse, baseline"] = consensus_baseline
        compared.append(("diverse, baseline", "gateway-baseline"))
    n = args.requests
    samples = {name: await latency(call, n // 2) for name, call in calls.items()}
    pids = {"client": os.getpid(), **{name: p.pid for name, p in processes.items()}}
    rates: dict[str, float] = {}
    cpu: dict[str, dict[str, float]] = {}
    for name, call in calls.items():
        rates[name], cpu[name] = await throughput(call, n, args.concurrency, pids)

    print(f"latency, 1 in flight, n={n // 2} each (ms)")
    for name, values in samples.items():
        p50, p99 = statistics.median(values) * 1000, percentile(values, 0.99) * 1000
        print(f"  {name:<20}p50 {p50:7.2f}  p99 {p99:7.2f}")
    base = samples["single replica"]
    for name in ("consensus today", "consensus diverse", "diverse hedged"):
        print(
            f"  ratio {name}/single  p50 "
            f"{statistics.median(samples[name]) / statistics.median(base):.2f}x  p99 "
            f"{percentile(samples[name], 0.99) / percentile(base, 0.99):.2f}x"
        )
    print(f"throughput, {args.concurrency} in flight, n={n} each (calls/s)")
    for name, rate in rates.items():
        print(f"  {name:<20}{rate:8.0f}")
    print("CPU per call during the throughput runs (us, by process; idle processes ~0)")
    names = list(pids)
    print("  " + " " * 20 + "".join(f"{p[-11:]:>12}" for p in names) + f"{'total':>10}")
    for label, used in cpu.items():
        print(
            f"  {label:<20}"
            + "".join(f"{used[p]:12.0f}" for p in names)
            + f"{sum(used.values()):10.0f}"
        )
    hop = cpu["relay to one"]["relay"]
    for label, gateway in compared:
        spent = cpu[label][gateway]
        print(
            f"  {gateway} CPU per consensus call {spent:.0f} us = {spent / hop:.2f}x "
            f"the relay's {hop:.0f} us"
        )
    for channel in (replica, relay, diverse, today, hedged, *extra_channels):
        await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--baseline", default="", help="a checkout whose gateway runs beside this one's"
    )
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
