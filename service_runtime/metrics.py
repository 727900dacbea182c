"""RPC metrics every process exports, and the Prometheus endpoint that serves them.

RED per method, on both sides of a call: `rpc.server.duration` and `rpc.client.duration`
(OpenTelemetry's semantic-convention histograms, milliseconds), labelled with the method, the
gRPC status code and, on refusals, the machine reason of the `google.rpc.ErrorInfo` the runtime
attaches. One histogram gives all three: its count is the rate, its count by status code the
errors (and the refusals by reason), its buckets the duration.

Counted on every call, not sampled: traces may be sampled at 1% in production, metrics must not
be. Health probes are left out, as they are from traces.

Two exports, both from the one meter provider (service_runtime.telemetry.configure_metrics):
OTLP when an endpoint is configured, and Prometheus text on `BETMESH_METRICS_PORT` (with the
process's CPU, memory and file-descriptor gauges from prometheus_client's default collectors).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics

log = logging.getLogger(__name__)

# Milliseconds. Wide enough for a 0.3 ms health-path call and a 5 s settlement batch; the
# defaults of the SDK start at 5 ms, which would put every quote call in the first bucket.
DURATION_BUCKETS_MS: tuple[float, ...] = (
    0.25,
    0.5,
    1,
    2,
    4,
    8,
    16,
    32,
    64,
    128,
    256,
    512,
    1024,
    2048,
    4096,
    8192,
    16384,
)

SERVER_DURATION = "rpc.server.duration"
CLIENT_DURATION = "rpc.client.duration"

# Reasons are UPPER_SNAKE constants of our own code, a bounded set; anything longer is not one
# of ours and is not used as a label (a label per distinct value would grow without bound).
_MAX_REASON = 64


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return service, name


def bounded_reason(reason: str) -> str:
    if not reason or len(reason) > _MAX_REASON or not reason.replace("_", "").isalnum():
        return ""
    return reason


@dataclass
class MethodMeter:
    """One method's histogram and its attribute sets, made once (a dict per call costs more
    than the record itself)."""

    histogram: metrics.Histogram
    base: dict[str, str]
    _by_outcome: dict[tuple[int, str], dict[str, Any]]

    def record(self, milliseconds: float, code: int, reason: str = "") -> None:
        key = (code, reason)
        attributes = self._by_outcome.get(key)
        if attributes is None:
            attributes = dict(self.base)
            attributes["rpc.grpc.status_code"] = code
            if reason:
                attributes["betmesh.error.reason"] = reason
            self._by_outcome[key] = attributes
        self.histogram.record(milliseconds, attributes)


class RpcMetrics:
    """The process's two RPC histograms; `server(method)` / `client(method)` hand out a
    per-method recorder (cached, so wrapping a method costs one lookup)."""

    def __init__(self, meter: metrics.Meter) -> None:
        self._server = meter.create_histogram(
            SERVER_DURATION,
            unit="ms",
            description="duration of RPCs served, by method, status code and refusal reason",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_MS),
        )
        self._client = meter.create_histogram(
            CLIENT_DURATION,
            unit="ms",
            description="duration of RPCs made, by method and status code",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_MS),
        )
        self._meters: dict[tuple[str, str], MethodMeter] = {}

    def _meter(self, side: str, method: str) -> MethodMeter:
        key = (side, method)
        found = self._meters.get(key)
        if found is None:
            service, name = _split(method)
            histogram = self._server if side == "server" else self._client
            base = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
            found = self._meters[key] = MethodMeter(histogram, base, {})
        return found

    def server(self, method: str) -> MethodMeter:
        return self._meter("server", method)

    def client(self, method: str) -> MethodMeter:
        return self._meter("client", method)


_rpc_metrics: RpcMetrics | None = None


def rpc_metrics() -> RpcMetrics:
    """The process's RPC metrics, on the global meter provider (so set up tracing and metrics
    first: instruments made before `configure_metrics` stay on the no-op provider)."""
    global _rpc_metrics  # noqa: PLW0603 - one set of instruments per process
    if _rpc_metrics is None:
        _rpc_metrics = RpcMetrics(metrics.get_meter("service_runtime.rpc"))
    return _rpc_metrics


def reset_rpc_metrics() -> None:
    """Forget the instruments (after the meter provider is replaced, e.g. between tests)."""
    global _rpc_metrics  # noqa: PLW0603
    _rpc_metrics = None


_http_server: Any = None


def serve_prometheus(host: str, port: int) -> int:
    """Starts the scrape endpoint (`/metrics`, Prometheus text format) once per process on its
    own thread, so a busy event loop still answers scrapes. Returns the bound port."""
    global _http_server  # noqa: PLW0603 - one endpoint per process
    if _http_server is not None:
        return int(_http_server.server_port)
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host)
    _http_server = server
    bound = int(server.server_port)
    log.info("metrics endpoint", extra={"metrics_port": bound})
    return bound


def stop_prometheus() -> None:
    global _http_server  # noqa: PLW0603
    if _http_server is not None:
        _http_server.shutdown()
        _http_server.server_close()
        _http_server = None
