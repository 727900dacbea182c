"""What TLS costs: the same runtime server, plaintext and TLS (a certificate from a local CA,
the client pinned to it), in the same run, alternating rounds: server CPU per unary call, and
server CPU per streamed message (StreamOdds-shaped messages of about 200 bytes, one per write,
as the live stream sends a partner's updates).

    .venv/bin/python -m bench.runtime.tls_overhead [--calls 10000] [--updates 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from betmesh.live.v1 import live_odds_service_pb2 as live_pb
from betmesh.live.v1 import live_odds_service_pb2_grpc as live_grpc
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc

from bench.runtime.metrics_overhead import CONCURRENCY
from bench.server_cpu import cpu_seconds, server_process, spread
from launcher.certificates import LocalAuthority
from service_runtime.tls import TlsSettings, secure_channel

UPDATE = live_pb.StreamOddsResponse(stream_id="s" * 32, sequence=1, resume_token="r" * 120)


async def serve(mode: str, directory: str, updates: int) -> None:
    from service_runtime.server import Registration, ServiceHost, serve_until_signalled
    from service_runtime.settings import Env, ServerSettings

    class Quotes(quote_service_pb2_grpc.QuoteServiceServicer):
        async def ListModelSnapshots(self, request: Any, context: Any) -> Any:
            return pb.ListModelSnapshotsResponse()

    class Live(live_grpc.LiveOddsServiceServicer):
        async def StreamOdds(self, request: Any, context: Any) -> Any:
            for _ in range(updates):
                yield UPDATE

    # What is measured is TLS, not token checks.
    env = {"BETMESH_AUTH_MODE": "anonymous", "BETMESH_PORT": "0", "BETMESH_LOG_LEVEL": "WARNING"}
    if mode == "tls":
        env |= {
            "BETMESH_TLS_CERT_FILE": f"{directory}/svc-bench.crt",
            "BETMESH_TLS_KEY_FILE": f"{directory}/svc-bench.key",
            "BETMESH_TLS_CA_FILE": f"{directory}/ca.crt",
        }
    host = ServiceHost(
        "bench.tls",
        ServerSettings.read(Env(env)),
        [
            Registration(
                "betmesh.quotes.v1.QuoteService",
                lambda s: quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(Quotes(), s),
            ),
            Registration(
                "betmesh.live.v1.LiveOddsService",
                lambda s: live_grpc.add_LiveOddsServiceServicer_to_server(Live(), s),
            ),
        ],
    )
    await serve_until_signalled(host)


async def load(target: str, tls: TlsSettings, calls: int) -> tuple[float, float]:
    async with secure_channel(target, [], settings=tls) as channel:
        stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        request = pb.ListModelSnapshotsRequest()
        for _ in range(200 if calls else 1):  # the connection, and a warm-up for unary rounds
            await stub.ListModelSnapshots(request)
        started = time.perf_counter()
        await spread(calls, CONCURRENCY, lambda: stub.ListModelSnapshots(request))
        unary = time.perf_counter() - started
        started = time.perf_counter()
        async for _ in live_grpc.LiveOddsServiceStub(channel).StreamOdds(
            live_pb.StreamOddsRequest()
        ):
            pass
        return unary, time.perf_counter() - started


def round_of(mode: str, directory: str, calls: int, updates: int) -> float:
    """Server CPU seconds for `calls` unary calls, then a stream of `updates` messages."""
    server = ("bench.runtime.tls_overhead", "--serve", mode, "--dir", directory)
    with server_process(*server, "--updates", str(updates)) as (pid, port):
        tls = TlsSettings(ca_file=f"{directory}/ca.crt") if mode == "tls" else TlsSettings()
        before = cpu_seconds(pid)
        asyncio.run(load(f"localhost:{port}", tls, calls))
        return cpu_seconds(pid) - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["plain", "tls"])
    parser.add_argument("--dir", default="")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.dir, args.updates))
        return
    with tempfile.TemporaryDirectory() as tmp:
        LocalAuthority(Path(tmp)).issue("svc-bench")
        results: dict[str, list[tuple[float, float]]] = {"plain": [], "tls": []}
        for _ in range(args.rounds):
            for mode in ("plain", "tls"):
                unary = round_of(mode, tmp, args.calls, 0) / args.calls * 1e6
                stream = round_of(mode, tmp, 0, args.updates) / args.updates * 1e6
                results[mode].append((unary, stream))
    print(
        f"{args.calls} unary calls ({CONCURRENCY} in flight) and {args.updates} streamed"
        f" messages x {args.rounds} rounds; server CPU, median [min-max]"
    )
    print("mode  | us per unary call      | us per streamed message")
    for mode, rows in results.items():
        unary = [r[0] for r in rows]
        stream = [r[1] for r in rows]
        print(
            f"{mode:5} | {statistics.median(unary):6.1f} [{min(unary):.1f}-{max(unary):.1f}]"
            f"   | {statistics.median(stream):6.2f} [{min(stream):.2f}-{max(stream):.2f}]"
        )
    plain = [statistics.median(r[i] for r in results["plain"]) for i in (0, 1)]
    tls = [statistics.median(r[i] for r in results["tls"]) for i in (0, 1)]
    unary_share = (tls[0] / plain[0] - 1) * 100
    stream_share = (tls[1] / plain[1] - 1) * 100
    print(
        f"TLS adds {tls[0] - plain[0]:+.1f} us per unary call ({unary_share:+.0f}%)"
        f" and {tls[1] - plain[1]:+.2f} us per streamed message ({stream_share:+.0f}%)"
    )


if __name__ == "__main__":
    main()
