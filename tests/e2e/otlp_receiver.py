"""A minimal OTLP/gRPC trace receiver for end-to-end tests.

It runs a grpc.aio server on its own event loop in a background thread, so that services can
export at any moment, not only while a test's coroutine happens to be running. Spans are kept
with their resource's attributes; tests poll `wait_for` with a deadline.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


@dataclass(frozen=True)
class ReceivedSpan:
    resource: dict[str, str]
    span: trace_pb2.Span

    @property
    def trace_id(self) -> str:
        return self.span.trace_id.hex()

    @property
    def service_name(self) -> str:
        return self.resource.get("service.name", "")

    @property
    def instance_id(self) -> str:
        return self.resource.get("service.instance.id", "")


def _value(value: common_pb2.AnyValue) -> str:
    kind = value.WhichOneof("value")
    return "" if kind is None else str(getattr(value, kind))


class _Servicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink: Callable[[list[ReceivedSpan]], None]) -> None:
        self._sink = sink

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        received: list[ReceivedSpan] = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                received.extend(ReceivedSpan(resource, span) for span in scope_spans.spans)
        self._sink(received)
        return trace_service_pb2.ExportTraceServiceResponse()


class OtlpReceiver:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        started = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            try:
                self._stop = asyncio.Event()
                server = grpc.aio.server()
                trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
                    _Servicer(self._add), server
                )
                self.port = server.add_insecure_port(f"{self.host}:0")
                await server.start()
            except BaseException as exc:
                failure.append(exc)
                raise
            finally:
                started.set()
            await self._stop.wait()
            await server.stop(0)

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(serve())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="otlp-receiver", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        return self.endpoint

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _add(self, spans: list[ReceivedSpan]) -> None:
        with self._lock:
            self._spans.extend(spans)

    def spans(self, trace_id: str | None = None) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self._spans if trace_id is None or s.trace_id == trace_id]

    def wait_for(
        self,
        predicate: Callable[[Sequence[ReceivedSpan]], bool],
        trace_id: str | None = None,
        timeout: float = 20.0,
    ) -> list[ReceivedSpan]:
        """The spans (of one trace, if given) once predicate holds; raises after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(trace_id)
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                seen = sorted({f"{s.service_name}@{s.instance_id}: {s.span.name}" for s in spans})
                raise AssertionError(f"spans never satisfied the condition; got {seen}")
            time.sleep(0.1)
