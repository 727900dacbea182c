"""OpenTelemetry set-up from the environment (the gRPC spans themselves are made by
service_runtime.handlers on the server side and service_runtime.channels on the client side).

Export is OTLP/gRPC when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set, and
nothing otherwise: spans are still created so that trace ids reach the logs. Health checks are
never traced: probes every few seconds would drown the traces that matter.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

import grpc
from opentelemetry import metrics, propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

VERSION = "0.1.0"
# Business attributes live under this prefix: betmesh.fixture.id, betmesh.market.id, ...
ATTRIBUTE_PREFIX = "betmesh."

_provider: TracerProvider | None = None
_meter_provider: MeterProvider | None = None


def _otlp_configured() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _resource(service_name: str) -> Resource:
    return Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", service_name),
            "service.namespace": "betmesh",
            "service.version": VERSION,
            "service.instance.id": f"{socket.gethostname()}-{os.getpid()}",
        }
    )


def configure_metrics(service_name: str, prometheus: bool = False) -> MeterProvider:
    """Installs the global meter provider once per process: OTLP export when configured
    (every OTEL_METRIC_EXPORT_INTERVAL ms, 60 s by default), and a Prometheus reader when
    `prometheus` (the scrape endpoint itself is service_runtime.metrics.serve_prometheus)."""
    global _meter_provider  # noqa: PLW0603 - one provider per process, by design
    if _meter_provider is not None:
        return _meter_provider
    readers: list[MetricReader] = []
    if _otlp_configured() or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    if prometheus:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        # Collects from the SDK at scrape time into prometheus_client's default registry,
        # beside its process collectors (CPU, memory, open files).
        readers.append(PrometheusMetricReader())
    _meter_provider = MeterProvider(resource=_resource(service_name), metric_readers=readers)
    metrics.set_meter_provider(_meter_provider)
    return _meter_provider


def configure_tracing(service_name: str) -> TracerProvider:
    """Installs the global tracer provider once per process and returns it."""
    global _provider  # noqa: PLW0603 - one provider per process, by design
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=_resource(service_name))
    if _otlp_configured():
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    """Flushes pending spans and metrics; call last on shutdown."""
    global _provider, _meter_provider  # noqa: PLW0603
    if _provider is not None:
        _provider.force_flush()
        _provider.shutdown()
        _provider = None
    if _meter_provider is not None:
        _meter_provider.shutdown()
        _meter_provider = None


_HEALTH_PREFIX = "/grpc.health.v1.Health/"

# grpc.StatusCode by its number (a google.rpc.Status code, or a finished call's status).
STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}

# The codes that mark a server span as failed (OpenTelemetry's semantic conventions for RPC
# servers): a caller's mistake leaves the span's status unset.
SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


def traced(method: str | bytes) -> bool:
    """Every call but health probes is traced (decided once per method, when it is wrapped)."""
    if isinstance(method, bytes):
        method = method.decode()
    return not method.startswith(_HEALTH_PREFIX)


def meter(name: str) -> metrics.Meter:
    return metrics.get_meter(name, VERSION)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name, VERSION)


def inject_context() -> dict[str, str]:
    """W3C traceparent/tracestate/baggage of the current span, for messages that cross a queue."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(carrier: Mapping[str, str]) -> Any:
    return propagate.extract(dict(carrier))
