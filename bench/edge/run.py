"""Unary latency and throughput through the edge (gRPC-web over HTTP/1.1) against the same call
made natively (gRPC over HTTP/2), same upstream, same run.

    .venv/bin/python bench/edge/run.py --requests 2000 --concurrency 16

The upstream (bench/edge/upstream.py) answers a fixed message, and the edge runs as its own
process (`python -m services.edge`, tokens off), so the difference is the edge's hop: HTTP/1.1
parsing, framing, one more process on the path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
from betmesh.identity.v1 import identity_service_pb2 as pb

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.server_cpu import spread
from launcher.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
PATH = "/betmesh.identity.v1.IdentityService/GetJwks"
REQUEST = b"\x00\x00\x00\x00\x00"  # one empty GetJwksRequest, gRPC-web framed


def start_upstream() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "edge" / "upstream.py")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, int(line.split()[1])


def start_edge(upstream_port: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "BETMESH_EDGE_PORT": str(port),
        "BETMESH_EDGE_UPSTREAMS": f"identity=127.0.0.1:{upstream_port}",
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_LOG_LEVEL": "WARNING",
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    process = subprocess.Popen([sys.executable, "-m", "services.edge"], env=env, cwd=ROOT)
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the edge did not start")


async def measure(
    call: Callable[[], Awaitable[None]], requests: int, concurrency: int
) -> tuple[list[float], float]:
    for _ in range(200):  # warm-up: connections, caches
        await call()
    latencies: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    await spread(requests, concurrency, call)
    return latencies, requests / (time.perf_counter() - started)


def row(name: str, latencies: list[float], rate: float) -> str:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1e3
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1e3
    return f"| {name} | {p50:.3f} | {p99:.3f} | {rate:,.0f} |"


async def run(requests: int, concurrency: int, upstream_port: int, edge_port: int) -> None:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{upstream_port}")
    direct_stub = channel.unary_unary(PATH, request_serializer=None, response_deserializer=None)

    async def direct() -> None:
        answer = await direct_stub(b"", timeout=10)
        assert pb.GetJwksResponse.FromString(answer).keys

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        url = f"http://127.0.0.1:{edge_port}{PATH}"
        headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}

        async def through_edge() -> None:
            async with session.post(url, data=REQUEST, headers=headers) as response:
                body = await response.read()
                assert b"grpc-status: 0" in body, body

        direct_latencies, direct_rate = await measure(direct, requests, concurrency)
        edge_latencies, edge_rate = await measure(through_edge, requests, concurrency)
    await channel.close()
    print("| path | p50 ms (1 in flight) | p99 ms | calls/s at", concurrency, "in flight |")
    print("|---|---|---|---|")
    print(row("native gRPC (baseline)", direct_latencies, direct_rate))
    print(row("gRPC-web through the edge", edge_latencies, edge_rate))
    print(
        f"ratio: p50 {statistics.median(edge_latencies) / statistics.median(direct_latencies):.2f}x"
        f", throughput {edge_rate / direct_rate:.2f}x of native"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    upstream, upstream_port = start_upstream()
    edge, edge_port = start_edge(upstream_port)
    try:
        asyncio.run(run(args.requests, args.concurrency, upstream_port, edge_port))
    finally:
        for process in (edge, upstream):
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
