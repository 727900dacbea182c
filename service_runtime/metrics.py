"""RPC metrics every process exports, and the Prometheus endpoint that serves them.

RED per method, on both sides of a call: `rpc.server.duration` and `rpc.client.duration`
(OpenTelemetry's semantic-convention names, milliseconds), labelled with the method, the
gRPC status code and, on refusals, the machine reason of the `google.rpc.ErrorInfo` the runtime
attaches. One histogram gives all three: its count is the rate, its count by status code the
errors (and the refusals by reason), its buckets the duration.

Counted on every call, not sampled: traces may be sampled at 1% in production, metrics must not
be. Health probes are left out, as they are from traces.

Served as Prometheus text on `BETMESH_METRICS_PORT`, together with the business metrics of the
OpenTelemetry meter provider (service_runtime.telemetry.configure_metrics, which also pushes
those by OTLP) and the process's CPU, memory and file-descriptor gauges (prometheus_client's
default collectors).
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Histogram

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


class MethodMeter:
    """One method's histogram children, one per (code, reason), made once: the label lookup
    costs more than the observation itself."""

    def __init__(self, histogram: Histogram, service: str, method: str, reasons: bool) -> None:
        self._histogram = histogram
        self._labels = (service, method)
        self._reasons = reasons
        self._children: dict[tuple[int, str], Any] = {}

    def record(self, milliseconds: float, code: int, reason: str = "") -> None:
        key = (code, reason)
        child = self._children.get(key)
        if child is None:
            labels = (*self._labels, str(code), *((reason,) if self._reasons else ()))
            child = self._children[key] = self._histogram.labels(*labels)
        child.observe(milliseconds)


class RpcMetrics:
    """The process's two RPC histograms; `server(method)` / `client(method)` hand out a
    per-method recorder (cached, so wrapping a method costs one lookup).

    They are prometheus_client histograms, not OpenTelemetry SDK instruments: recording into
    the SDK's histogram cost 16-30 us a call here (attribute sets hashed, locks, exemplar
    filter), this costs about 2 us, on every call of every service (bench/runtime). They are
    served by the scrape endpoint; the low-rate business metrics stay on the SDK (OTLP too)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = REGISTRY if registry is None else registry
        base = ["rpc_service", "rpc_method", "rpc_grpc_status_code"]
        self._server = Histogram(
            SERVER_DURATION.replace(".", "_") + "_milliseconds",
            "Duration of RPCs served, by method, status code and refusal reason",
            [*base, "betmesh_error_reason"],
            registry=registry,
            buckets=DURATION_BUCKETS_MS,
        )
        self._client = Histogram(
            CLIENT_DURATION.replace(".", "_") + "_milliseconds",
            "Duration of RPCs made, by method and status code",
            base,
            registry=registry,
            buckets=DURATION_BUCKETS_MS,
        )
        self._meters: dict[tuple[str, str], MethodMeter] = {}

    def _meter(self, side: str, method: str) -> MethodMeter:
        key = (side, method)
        found = self._meters.get(key)
        if found is None:
            service, name = _split(method)
            if side == "server":
                found = MethodMeter(self._server, service, name, reasons=True)
            else:
                found = MethodMeter(self._client, service, name, reasons=False)
            self._meters[key] = found
        return found

    def server(self, method: str) -> MethodMeter:
        return self._meter("server", method)

    def client(self, method: str) -> MethodMeter:
        return self._meter("client", method)


_rpc_metrics: RpcMetrics | None = None


def rpc_metrics() -> RpcMetrics:
    """The process's RPC metrics (in prometheus_client's default registry)."""
    global _rpc_metrics  # noqa: PLW0603 - one set of instruments per process
    if _rpc_metrics is None:
        _rpc_metrics = RpcMetrics()
    return _rpc_metrics


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
