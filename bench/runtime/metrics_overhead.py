"""What the RPC metrics cost per call: the same trivial RPC served by the runtime with its
metrics recorded (as every service runs) and with the recorder replaced by a no-op, in the
same run, alternating rounds.

The server is its own process (`--serve on|off`), so its CPU per call is read from
/proc/<pid>/stat without the load generator's share. On a 2-core machine shared with other work
the absolute figures move; compare the two columns of one run.

    .venv/bin/python -m bench.runtime.metrics_overhead [--calls 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import grpc
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc

from bench.server_cpu import cpu_seconds, server_process, spread

CONCURRENCY = 16


async def serve(mode: str) -> None:
    from service_runtime import handlers
    from service_runtime.server import Registration, ServiceHost, serve_until_signalled
    from service_runtime.settings import Env, ServerSettings

    if mode == "off":

        class Nothing:
            def record(self, milliseconds: float, code: int, reason: str = "") -> None:
                pass

        class NoMetrics:
            def server(self, method: str) -> Nothing:
                return Nothing()

        handlers.rpc_metrics = NoMetrics  # type: ignore[assignment]

    class Servicer(quote_service_pb2_grpc.QuoteServiceServicer):
        async def ListModelSnapshots(
            self, request: pb.ListModelSnapshotsRequest, context: object
        ) -> pb.ListModelSnapshotsResponse:
            return pb.ListModelSnapshotsResponse()

    settings = ServerSettings.read(
        Env(
            {
                # What is measured is the metrics' cost, not token checks.
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_PORT": "0",
                "BETMESH_METRICS_PORT": "0",
                "BETMESH_LOG_LEVEL": "WARNING",
            }
        )
    )
    host = ServiceHost(
        "bench.metrics",
        settings,
        [
            Registration(
                "betmesh.quotes.v1.QuoteService",
                lambda server: quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(
                    Servicer(), server
                ),
            )
        ],
    )
    await serve_until_signalled(host)


async def load(port: int, calls: int) -> float:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        request = pb.ListModelSnapshotsRequest()
        for _ in range(200):  # warm-up
            await stub.ListModelSnapshots(request)
        started = time.perf_counter()
        await spread(calls, CONCURRENCY, lambda: stub.ListModelSnapshots(request))
        return time.perf_counter() - started


def round_of(mode: str, calls: int) -> tuple[float, float]:
    """(server CPU µs per call, calls per second) for one server process."""
    with server_process("bench.runtime.metrics_overhead", "--serve", mode) as (pid, port):
        before = cpu_seconds(pid)
        seconds = asyncio.run(load(port, calls))
        used = cpu_seconds(pid) - before
        return used / calls * 1e6, calls / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["on", "off"])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    results: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            results[mode].append(round_of(mode, args.calls))
    print(f"{args.calls} unary calls x {args.rounds} rounds, {CONCURRENCY} in flight")
    print("metrics | server CPU per call (us), median [min-max] | calls/s, median")
    for mode, rows in results.items():
        cpu = [r[0] for r in rows]
        rate = [r[1] for r in rows]
        print(
            f"{mode:7} | {statistics.median(cpu):6.1f} [{min(cpu):.1f}-{max(cpu):.1f}]"
            f" | {statistics.median(rate):8.0f}"
        )
    off = statistics.median(r[0] for r in results["off"])
    on = statistics.median(r[0] for r in results["on"])
    print(f"overhead: {on - off:+.1f} us of server CPU per call ({(on / off - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
