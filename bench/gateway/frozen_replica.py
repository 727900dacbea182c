"""What a frozen replica costs each consensus call, measured against real processes.

    .venv/bin/python bench/gateway/frozen_replica.py [--replica football-2] [--seconds 60]
        [--interval 0.2] [--deadline-ms 2000] [--hedge-ms 0] [--database-url URL] [--redis-url URL]

Starts 3 football replicas (football-1 and -3 run the reference engine, football-2 the
independent one) and a gateway with the launcher, checks that a call is priced, then freezes
`--replica` with SIGSTOP (its process keeps its port, and the kernel keeps accepting its
connections: a frozen process, or a partition, as its callers see it) and calls
GetConsensusQuote one at a time for `--seconds`, `--interval` apart. Prints the answers by
status, how many calls waited out the gateway's deadline, the latency median and maximum, and
when (seconds after the freeze) the calls that waited it out were made. Frozen football-2, no
price can be published (the others run one engine): what is measured is how long each call
takes to be refused. The replica is thawed (SIGCONT) before the mesh stops.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import statistics
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


def request(snapshot: str, n: int) -> gw.GetConsensusQuoteRequest:
    return gw.GetConsensusQuoteRequest(
        fixture=sport_pb2.Fixture(
            fixture_id=f"frozen-{n}",
            sport=sport_pb2.SPORT_FOOTBALL,
            home=sport_pb2.Participant(participant_id="fb:arsenal", name="Arsenal"),
            away=sport_pb2.Participant(participant_id="fb:chelsea", name="Chelsea"),
        ),
        snapshot_hash=snapshot,
    )


async def measure(mesh: Mesh, args: argparse.Namespace) -> None:
    replica = next(c for c in mesh.children if c.name == f"quotes-{args.replica}")
    async with grpc.aio.insecure_channel(mesh.replica_addresses("football")[0]) as channel:
        listed = await quote_service_pb2_grpc.QuoteServiceStub(channel).ListModelSnapshots(
            qs.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL), timeout=10
        )
    snapshot = listed.snapshots[0].snapshot_hash
    address = mesh.address_of("gateway")
    assert address is not None
    deadline = args.deadline_ms / 1000
    async with grpc.aio.insecure_channel(address) as channel:
        stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
        assert (await stub.GetConsensusQuote(request(snapshot, 0), timeout=30)).accepted.digest
        os.killpg(replica.pid, signal.SIGSTOP)
        frozen_at = time.perf_counter()
        statuses: collections.Counter[str] = collections.Counter()
        latencies: list[float] = []
        waited: list[float] = []
        n = 0
        try:
            while time.perf_counter() - frozen_at < args.seconds:
                n += 1
                started = time.perf_counter()
                try:
                    await stub.GetConsensusQuote(request(snapshot, n), timeout=deadline + 10)
                    statuses["OK"] += 1
                except grpc.aio.AioRpcError as exc:
                    statuses[exc.code().name] += 1
                took = time.perf_counter() - started
                latencies.append(took)
                if took >= deadline:
                    waited.append(started - frozen_at)
                await asyncio.sleep(args.interval)
        finally:
            os.killpg(replica.pid, signal.SIGCONT)
    print(
        f"{args.replica} frozen for {args.seconds:.0f} s, deadline {args.deadline_ms} ms, "
        f"hedge {args.hedge_ms} ms: {len(latencies)} calls {dict(statuses)}; "
        f"{len(waited)} waited out the deadline; latency median "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    print("calls that waited out the deadline, seconds after the freeze:")
    print(" ".join(f"{t:.1f}" for t in waited) or "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replica", default="football-2")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--deadline-ms", type=int, default=2000)
    parser.add_argument("--hedge-ms", type=int, default=0)
    add_mesh_arguments(parser)
    args = parser.parse_args()
    env = {"BETMESH_GATEWAY_DEADLINE_MS": str(args.deadline_ms)}
    if args.hedge_ms:
        env["BETMESH_GATEWAY_HEDGE_MS"] = str(args.hedge_ms)
    run_on_mesh(
        args,
        lambda mesh: measure(mesh, args),
        extra_env=env,
        replicas={"football": 3, "tennis": 0, "basketball": 0},
        only=frozenset({"quotes", "gateway"}),
    )


if __name__ == "__main__":
    main()
