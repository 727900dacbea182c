"""Load shedding under a burst, measured against real processes.

    .venv/bin/python bench/gateway/shedding.py [--requests 2000] [--seconds 2] [--deadline 1.0]
        [--database-url URL] [--redis-url URL]

Starts 3 football replicas and two gateways with the launcher: `gateway` with the default
limits (the runtime's per-method limit and the gateway's per-sport limit, both shedding at once
with RESOURCE_EXHAUSTED OVERLOADED), and `gateway-2` with both limits lifted (every call queued,
the behaviour before shedding). Then, against each in turn, an open-loop burst: `--requests`
GetConsensusQuote calls sent at an even rate over `--seconds` (whatever the answers, as a crowd
would), each with a `--deadline`. Prints, per gateway: the answers by status, the share answered
RESOURCE_EXHAUSTED, p50/p99 of the accepted calls' latency and p99 of the refusals'.
Same machine, same run: compare the two gateways, not the absolute figures (2 shared cores).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time
from pathlib import Path

import grpc
from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gw
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2 as qs
from betmesh.quotes.v1 import quote_service_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.mesh import add_mesh_arguments, run_on_mesh
from launcher.mesh import Mesh

UNLIMITED = {"BETMESH_GATEWAY_MAX_IN_FLIGHT": "1000000", "BETMESH_MAX_IN_FLIGHT": "0"}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def burst(
    stub: consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub,
    requests: list[gw.GetConsensusQuoteRequest],
    seconds: float,
    deadline: float,
) -> dict[str, list[float]]:
    """Sends every request at its slot of an even schedule; latencies (s) by status name."""
    answers: dict[str, list[float]] = collections.defaultdict(list)
    details: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

    async def one(request: gw.GetConsensusQuoteRequest) -> None:
        started = time.perf_counter()
        try:
            await stub.GetConsensusQuote(request, timeout=deadline)
            code = "OK"
        except grpc.aio.AioRpcError as exc:
            code = exc.code().name
            details[code][(exc.details() or "")[:80]] += 1
        answers[code].append(time.perf_counter() - started)

    tasks = []
    began = time.perf_counter()
    for n, request in enumerate(requests):
        due = began + n * seconds / len(requests)
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(request)))
    await asyncio.gather(*tasks)
    for code, texts in details.items():
        print(f"  {code}: {texts.most_common(2)}")
    return answers


def report(name: str, answers: dict[str, list[float]], total: int) -> None:
    counts = ", ".join(f"{code} {len(v)}" for code, v in sorted(answers.items()))
    shed = len(answers.get("RESOURCE_EXHAUSTED", []))
    accepted = answers.get("OK", [])
    print(f"{name}: {counts}")
    print(
        f"  RESOURCE_EXHAUSTED {shed / total:.1%}, DEADLINE_EXCEEDED "
        f"{len(answers.get('DEADLINE_EXCEEDED', [])) / total:.1%}; accepted p50 "
        f"{percentile(accepted, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(accepted, 0.99) * 1000:.0f} ms; refusals p99 "
        f"{percentile(answers.get('RESOURCE_EXHAUSTED', []), 0.99) * 1000:.1f} ms"
    )


async def measure(mesh: Mesh, args: argparse.Namespace) -> None:
    replica = grpc.aio.insecure_channel(mesh.replica_addresses("football")[0])
    listed = await quote_service_pb2_grpc.QuoteServiceStub(replica).ListModelSnapshots(
        qs.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL), timeout=10
    )
    snapshot = listed.snapshots[0]
    teams = [t.participant_id for t in snapshot.snapshot.football.teams]
    requests = [
        gw.GetConsensusQuoteRequest(
            fixture=sport_pb2.Fixture(
                fixture_id=f"burst-{n % 50}",
                sport=sport_pb2.SPORT_FOOTBALL,
                home=sport_pb2.Participant(participant_id=teams[n % len(teams)]),
                away=sport_pb2.Participant(participant_id=teams[(n + 1) % len(teams)]),
            ),
            snapshot_hash=snapshot.snapshot_hash,
        )
        for n in range(args.requests)
    ]
    print(
        f"{args.requests} GetConsensusQuote in {args.seconds:.1f} s "
        f"({args.requests / args.seconds:.0f}/s), deadline {args.deadline:.1f} s"
    )
    for name, label in (("gateway", "shedding"), ("gateway-2", "queueing (limits lifted)")):
        address = mesh.address_of(name)
        assert address is not None
        async with grpc.aio.insecure_channel(address) as channel:
            stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
            for request in requests[:50]:  # warm-up: connections, caches
                await stub.GetConsensusQuote(request, timeout=10)
            answers = await burst(stub, requests, args.seconds, args.deadline)
        report(f"{name}, {label}", answers, len(requests))
        await asyncio.sleep(2)  # let the replicas drain before the next burst
    await replica.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--deadline", type=float, default=1.0)
    add_mesh_arguments(parser)
    args = parser.parse_args()
    run_on_mesh(
        args,
        lambda mesh: measure(mesh, args),
        replicas={"football": 3, "tennis": 0, "basketball": 0},
        only=frozenset({"quotes", "gateway"}),
        gateways=2,
        instance_env={"gateway-2": UNLIMITED},
    )


if __name__ == "__main__":
    main()
