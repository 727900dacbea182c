"""`betmesh traces` receives real OTLP exports (the SDK's own exporter, as every service uses)
and prints each trace as a tree once it goes quiet, with filters."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from launcher.traces import Collector, serve


def provider(endpoint: str, service: str) -> TracerProvider:
    made = TracerProvider(resource=Resource.create({"service.name": service}))
    made.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    return made


def two_processes(endpoint: str) -> None:
    """A gateway span with a replica's span under it, exported as two processes would. The
    exporter blocks on its call: this runs off the loop the receiver serves on."""
    gateway = provider(endpoint, "betmesh.gateway")
    replica = provider(endpoint, "betmesh.quotes")
    with gateway.get_tracer("t").start_as_current_span(
        "consensus", attributes={"betmesh.fixture.id": "f-1"}
    ) as parent:
        context = trace.set_span_in_context(parent)
        with replica.get_tracer("t").start_as_current_span("PriceFixture", context=context):
            time.sleep(0.01)
    gateway.shutdown()
    replica.shutdown()


async def test_a_trace_across_two_processes_prints_as_one_tree() -> None:
    now = [0.0]
    out = io.StringIO()
    collector = Collector(out, clock=lambda: now[0])
    server, port = await serve(collector, "127.0.0.1", 0)
    try:
        await asyncio.to_thread(two_processes, f"http://127.0.0.1:{port}")
        for _ in range(100):
            if sum(len(t.spans) for t in collector.traces.values()) == 2:
                break
            await asyncio.sleep(0.05)
        assert collector.flush() == 0  # not quiet yet
        now[0] += 2
        assert collector.flush() == 1
        printed = out.getvalue().splitlines()
        assert printed[0].startswith("trace ") and "2 spans" in printed[0]
        assert printed[1].startswith("gateway") and "consensus" in printed[1]
        assert "fixture.id=f-1" in printed[1]
        assert printed[2].startswith("  quotes") and "PriceFixture" in printed[2]
    finally:
        await server.stop(0)


def export(service: str, trace_id: bytes, ms: int) -> Any:
    span = trace_pb2.Span(
        trace_id=trace_id,
        span_id=b"s" * 8,
        name="x",
        start_time_unix_nano=0,
        end_time_unix_nano=ms * 1_000_000,
    )
    value = common_pb2.AnyValue(string_value=service)
    name = common_pb2.KeyValue(key="service.name", value=value)
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource_pb2.Resource(attributes=[name]),
                scope_spans=[trace_pb2.ScopeSpans(spans=[span])],
            )
        ]
    )


def test_filters_hide_fast_traces_and_other_services() -> None:
    out = io.StringIO()
    collector = Collector(out, min_ms=10, only="bets", clock=lambda: 0.0)
    collector.add(export("betmesh.bets", b"a" * 16, 50))
    collector.add(export("betmesh.bets", b"b" * 16, 2))
    collector.add(export("betmesh.live", b"c" * 16, 50))
    assert collector.flush(force=True) == 1
    assert ("61" * 16) in out.getvalue()
