"""Client channels: one per peer per process, traced, with keepalive and deadlines by default.

Under BETMESH_AUTH_MODE=tokens, with the process's client credentials in the environment, every
call also carries a service token for the called service (service_runtime.client_tokens).

Tracing and tokens are added by wrapping the channel's callables rather than by grpc.aio client
interceptors: an intercepted call costs an extra task and call object per RPC, about a third of
a small call's client-side CPU (bench/gateway). A call whose token is not cached yet (the first
to a service, or after a failed refresh) goes through a second channel that has the token
interceptor, which waits for the token.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pkgutil
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import betmesh
import grpc
from google.protobuf import descriptor_pb2
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from service_runtime.client_tokens import (
    FETCH_TIMEOUT_SECONDS,
    Fetch,
    IssuedToken,
    TokenSource,
    TokenUnavailable,
    audience_for_method,
    bearer_interceptors,
    read_secret_file,
)
from service_runtime.metrics import MethodMeter, rpc_metrics
from service_runtime.settings import ClientSettings, Env, SettingsError
from service_runtime.telemetry import STATUS_CODES, VERSION, traced
from service_runtime.tls import secure_channel

# A restarted peer must be called again within a second of serving: gRPC's default reconnect
# back-off (1 s, x1.6 per failure, up to 120 s) left a restarted replica unused for 6-8 s.
RECONNECT_OPTIONS: list[tuple[str, int]] = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]

CLIENT_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    *RECONNECT_OPTIONS,
]

# Reads (methods whose contract says `option idempotency_level = NO_SIDE_EFFECTS`) are retried
# on UNAVAILABLE, the status of a peer that is restarting or unreachable, never on anything a
# server decided; writes never are, whatever their idempotency keys (the caller decides). The
# throttle stops retrying when more than about a tenth of calls fail, so that retries cannot
# amplify an outage.
RETRY_POLICY = {
    "maxAttempts": 3,
    "initialBackoff": "0.05s",
    "maxBackoff": "0.5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
RETRY_THROTTLING = {"maxTokens": 10, "tokenRatio": 0.1}


@functools.cache
def idempotent_reads() -> tuple[tuple[str, str], ...]:
    """(service, method) of every betmesh RPC marked NO_SIDE_EFFECTS in the contracts."""
    found = []
    for module in pkgutil.walk_packages(betmesh.__path__, "betmesh."):
        if not module.name.endswith("_pb2"):
            continue
        descriptor = importlib.import_module(module.name).DESCRIPTOR
        for service in descriptor.services_by_name.values():
            for method in service.methods:
                level = method.GetOptions().idempotency_level
                if level == descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS:
                    found.append((service.full_name, method.name))
    return tuple(sorted(found))


@functools.cache
def service_config() -> str:
    """The channels' gRPC service config: the retry policy on idempotent reads."""
    names = [{"service": service, "method": method} for service, method in idempotent_reads()]
    config = {
        "methodConfig": [{"name": names, "retryPolicy": RETRY_POLICY}] if names else [],
        "retryThrottling": RETRY_THROTTLING,
    }
    return json.dumps(config, separators=(",", ":"))


DEFAULT_DEADLINE_SECONDS = 5.0

_tracer = trace.get_tracer("service_runtime.channels", VERSION)


def _end_span(span: trace.Span, call: Any, meter: MethodMeter, started: float) -> None:
    # Runs when the call completes; its status is there already (grpc.aio's own code reads the
    # same attribute where it cannot await).
    status = getattr(getattr(call, "_cython_call", None), "_status", None)
    code = int(status.code()) if status is not None else 0
    meter.record((time.perf_counter() - started) * 1000.0, code)
    span.set_attribute("rpc.grpc.status_code", code)
    if code != 0:
        name = STATUS_CODES.get(code, grpc.StatusCode.UNKNOWN).name
        span.set_status(trace.Status(trace.StatusCode.ERROR, name))
    span.end()


class _Callable:
    """One method's multicallable: a client span per call, the token when one is needed."""

    def __init__(self, channel: TracedChannel, kind: str, method: str, kwargs: Any) -> None:
        self._direct = getattr(channel.inner, kind)(method, **kwargs)
        self._channel = channel
        self._kind = kind
        self._method = method
        self._kwargs = kwargs
        self._slow: Any = None
        self._traced = traced(method)
        self._audience = audience_for_method(method) if channel.tokens is not None else None
        service, _, name = method.lstrip("/").partition("/")
        self._attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        self._meter = rpc_metrics().client(method)

    def _waiting_for_token(self) -> Any:
        if self._slow is None:
            self._slow = getattr(self._channel.with_token_wait(), self._kind)(
                self._method, **self._kwargs
            )
        return self._slow

    def __call__(self, request: Any, *, metadata: Any = None, **kwargs: Any) -> Any:
        pairs = list(metadata or ())
        target = self._direct
        if self._audience is not None and not any(key == "authorization" for key, _ in pairs):
            assert self._channel.tokens is not None
            token = self._channel.tokens.cached(self._audience)
            if token is None:
                target = self._waiting_for_token()
            else:
                pairs.append(("authorization", f"Bearer {token}"))
        if not self._traced:
            return target(request, metadata=pairs, **kwargs)
        started = time.perf_counter()
        span = _tracer.start_span(self._method, kind=SpanKind.CLIENT, attributes=self._attributes)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        pairs.extend(carrier.items())
        try:
            call = target(request, metadata=pairs, **kwargs)
        except BaseException:
            span.end()
            raise
        call.add_done_callback(lambda done: _end_span(span, done, self._meter, started))
        return call


class TracedChannel(grpc.aio.Channel):  # type: ignore[misc]
    """A grpc.aio channel whose calls are traced and carry service tokens (see module doc)."""

    def __init__(
        self,
        target: str,
        options: Sequence[tuple[str, object]],
        tokens: TokenSource | None,
    ) -> None:
        self.target = target
        self.options = list(options)
        self.tokens = tokens
        self.inner = secure_channel(target, self.options)
        self._token_wait: grpc.aio.Channel | None = None

    def with_token_wait(self) -> grpc.aio.Channel:
        if self._token_wait is None:
            assert self.tokens is not None
            self._token_wait = secure_channel(
                self.target, self.options, interceptors=bearer_interceptors(self.tokens)
            )
        return self._token_wait

    def _callable(self, kind: str, method: str, kwargs: Any) -> Any:
        return _Callable(self, kind, method, kwargs)

    def unary_unary(self, method: str, **kwargs: Any) -> Any:
        return self._callable("unary_unary", method, kwargs)

    def unary_stream(self, method: str, **kwargs: Any) -> Any:
        return self._callable("unary_stream", method, kwargs)

    def stream_unary(self, method: str, **kwargs: Any) -> Any:
        return self._callable("stream_unary", method, kwargs)

    def stream_stream(self, method: str, **kwargs: Any) -> Any:
        return self._callable("stream_stream", method, kwargs)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self.inner.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self.inner.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self.inner.channel_ready()

    async def close(self, grace: float | None = None) -> None:
        if self._token_wait is not None:
            await self._token_wait.close(grace)
        await self.inner.close(grace)

    async def __aenter__(self) -> TracedChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close(None)


def traced_channel(
    target: str,
    options: Sequence[tuple[str, object]] = (),
    tokens: TokenSource | None = None,
) -> grpc.aio.Channel:
    """A new traced channel to `target` with the default client options (plus `options`)."""
    defaults: list[tuple[str, object]] = [
        *CLIENT_OPTIONS,
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config()),
    ]
    return TracedChannel(target, [*defaults, *options], tokens)


class ChannelPool:
    """Reuses one channel per target; close() on shutdown.

    `tokens`: where the calls' bearer tokens come from; by default the process's own client
    credentials from the environment (none in anonymous mode); None: calls carry no token.
    """

    def __init__(self, tokens: TokenSource | Literal["environment"] | None = "environment") -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        self.tokens = token_source_from_env() if tokens == "environment" else tokens

    def get(self, target: str, options: Sequence[tuple[str, object]] = ()) -> grpc.aio.Channel:
        """The channel to `target` (`options` are added to the defaults when it is first made,
        e.g. a load-balancing policy for a target naming several addresses)."""
        channel = self._channels.get(target)
        if channel is None:
            channel = self._channels[target] = traced_channel(target, options, self.tokens)
        return channel

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
        if self.tokens is not None:
            await self.tokens.close()


# ---- service tokens from identity (here, not in client_tokens: they open a channel) -------


def identity_fetcher(
    address: str, client_id: str, client_secret: str
) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    """IssueToken at the identity service; returns the fetch and how to close its channel."""
    from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc

    channel: grpc.aio.Channel | None = None

    async def fetch(audience: str) -> IssuedToken:
        nonlocal channel
        if channel is None:  # created inside the running loop that uses it
            channel = traced_channel(address)
        stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
        try:
            answer = await stub.IssueToken(
                identity_service_pb2.IssueTokenRequest(
                    client_id=client_id, client_secret=client_secret, audience=audience
                ),
                timeout=FETCH_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            refused = code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            raise TokenUnavailable(
                "SERVICE_TOKEN_REFUSED" if refused else "IDENTITY_UNAVAILABLE",
                f"identity answered {code.name} to IssueToken for {audience}",
                {"audience": audience, "identity_code": code.name},
            ) from None
        expires = answer.access_token.expires_at
        return IssuedToken(answer.access_token.token, expires.seconds + expires.nanos / 1e9)

    async def close() -> None:
        if channel is not None:
            await channel.close()

    return fetch, close


def token_source_from_env(environ: Mapping[str, str] | None = None) -> TokenSource | None:
    """The process's token source, or None when its calls carry no tokens (anonymous mode, or
    a process without client credentials, whose calls reach open methods only)."""
    env = Env(dict(environ) if environ is not None else dict(os.environ))
    settings = ClientSettings.read(env)
    env.check()
    if settings.auth_mode != "tokens" or not settings.client_id:
        return None
    problems = []
    if not settings.client_secret_file:
        problems.append("BETMESH_CLIENT_SECRET_FILE is required with BETMESH_CLIENT_ID")
    if not settings.identity_address:
        problems.append("BETMESH_IDENTITY_ADDRESS is required with BETMESH_CLIENT_ID")
    if problems:
        raise SettingsError("invalid configuration: " + "; ".join(problems))
    return credential_token_source(
        settings.identity_address, settings.client_id, settings.client_secret_file
    )


def credential_token_source(identity_address: str, client_id: str, secret_file: str) -> TokenSource:
    """Tokens for a client credential (its secret in `secret_file`), issued by identity."""
    secret = read_secret_file(secret_file)
    fetch, close = identity_fetcher(identity_address, client_id, secret)
    return TokenSource(fetch, close=close)
