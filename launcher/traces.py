"""`betmesh traces`: a terminal trace viewer for a local mesh.

No OTLP-receiving UI is installable from PyPI, npm or Debian's packages (Jaeger, Zipkin's
collector with OTLP and the OpenTelemetry desktop viewer all ship as release binaries or
images). This receives OTLP/gRPC on a port, waits for each trace to go quiet, and prints it as
a tree: process, span, duration, status and the `betmesh.*` attributes, slowest first among
siblings' subtrees kept in start order.

    ./betmesh traces --port 4317 &          # then, in another terminal:
    ./betmesh up --otlp-endpoint http://127.0.0.1:4317
    ./betmesh traces --min-ms 20 --only gateway     # traces of 20 ms and more through the gateway

Metrics the processes push to the same endpoint are accepted and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

QUIET_SECONDS = 1.0
_ERROR = trace_pb2.Status.STATUS_CODE_ERROR


def _value(value: common_pb2.AnyValue) -> str:
    kind = value.WhichOneof("value")
    return "" if kind is None else str(getattr(value, kind))


@dataclass
class Span:
    service: str
    span: trace_pb2.Span

    @property
    def milliseconds(self) -> float:
        return (self.span.end_time_unix_nano - self.span.start_time_unix_nano) / 1e6


@dataclass
class Trace:
    spans: list[Span] = field(default_factory=list)
    last_seen: float = 0.0

    def lines(self) -> list[str]:
        by_id = {s.span.span_id: s for s in self.spans}
        children: dict[bytes, list[Span]] = {}
        roots = []
        for s in self.spans:
            if s.span.parent_span_id in by_id:
                children.setdefault(s.span.parent_span_id, []).append(s)
            else:
                roots.append(s)
        out: list[str] = []

        def walk(s: Span, depth: int) -> None:
            attributes = " ".join(
                f"{a.key.removeprefix('betmesh.')}={_value(a.value)}"
                for a in s.span.attributes
                if a.key.startswith("betmesh.")
            )
            failed = " ERROR" if s.span.status.code == _ERROR else ""
            out.append(
                f"{'  ' * depth}{s.service:<18} {s.span.name}  {s.milliseconds:.1f} ms{failed}"
                + (f"  [{attributes}]" if attributes else "")
            )
            for child in sorted(
                children.get(s.span.span_id, []), key=lambda c: c.span.start_time_unix_nano
            ):
                walk(child, depth + 1)

        for root in sorted(roots, key=lambda r: r.span.start_time_unix_nano):
            walk(root, 0)
        return out

    @property
    def milliseconds(self) -> float:
        start = min(s.span.start_time_unix_nano for s in self.spans)
        end = max(s.span.end_time_unix_nano for s in self.spans)
        return (end - start) / 1e6


class Collector:
    """Spans grouped by trace; a trace is shown once no span of it arrived for QUIET_SECONDS."""

    def __init__(
        self,
        out: TextIO,
        min_ms: float = 0.0,
        only: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.min_ms = min_ms
        self.only = only
        self.clock = clock
        self.traces: dict[bytes, Trace] = {}

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        now = self.clock()
        for resource_spans in request.resource_spans:
            attributes = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            service = attributes.get("service.name", "?").removeprefix("betmesh.")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found = self.traces.setdefault(span.trace_id, Trace())
                    found.spans.append(Span(service, span))
                    found.last_seen = now

    def flush(self, force: bool = False) -> int:
        """Prints the traces gone quiet; returns how many were shown."""
        now, shown = self.clock(), 0
        for trace_id, found in list(self.traces.items()):
            if not force and now - found.last_seen < QUIET_SECONDS:
                continue
            del self.traces[trace_id]
            if found.milliseconds < self.min_ms:
                continue
            if self.only and not any(s.service == self.only for s in found.spans):
                continue
            self.out.write(
                f"trace {trace_id.hex()}  {found.milliseconds:.1f} ms, {len(found.spans)} spans\n"
            )
            self.out.write("\n".join(found.lines()) + "\n\n")
            shown += 1
        self.out.flush()
        return shown


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    async def Export(self, request: Any, context: Any) -> Any:
        self.collector.add(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    async def Export(self, request: Any, context: Any) -> Any:
        return metrics_service_pb2.ExportMetricsServiceResponse()


async def serve(collector: Collector, host: str, port: int) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        _Traces(collector), server
    )
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(  # type: ignore[no-untyped-call]
        _Metrics(), server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    return server, bound


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="betmesh traces", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4317)
    parser.add_argument("--min-ms", type=float, default=0.0, help="hide faster traces")
    parser.add_argument("--only", default="", help="only traces through this service")
    args = parser.parse_args(list(argv))
    collector = Collector(sys.stdout, args.min_ms, args.only)

    async def run() -> None:
        server, bound = await serve(collector, args.host, args.port)
        print(f"receiving OTLP/gRPC on http://{args.host}:{bound} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                await asyncio.sleep(0.5)
                collector.flush()
        finally:
            collector.flush(force=True)
            await server.stop(0)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
