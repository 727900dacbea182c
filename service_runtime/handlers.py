"""Every hosted method's behaviour, wrapped once when it is registered: its server span, the
caller's authentication, the request checked against its contract's field rules
(`service_runtime/validation.py`), the mapping of errors to statuses, and a serializer that
lets a servicer answer with bytes it has already encoded.

grpc.aio interceptors would do the same per call: each interceptor's coroutine runs, and a new
method handler is built, on every RPC. Wrapping at registration costs nothing per call beyond
the wrapper itself (bench/gateway measures the difference), and keeps one place where a call
enters our code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeAlias
from urllib.parse import unquote

import grpc
from google.rpc import status_pb2
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from service_runtime.auth import OPEN_SERVICES, Authenticator, current_principal
from service_runtime.errors import DomainError, Unimplemented, internal_status, to_rpc_status
from service_runtime.method_rules import rule_for
from service_runtime.metrics import bounded_reason, rpc_metrics
from service_runtime.outages import as_outage
from service_runtime.outages import count as count_outage
from service_runtime.shedding import InFlight, SheddingSettings, in_flight
from service_runtime.telemetry import SERVER_FAULTS, STATUS_CODES, VERSION, traced
from service_runtime.tls import TlsSettings, check_peer, peer_names
from service_runtime.undecodable import UNDECODABLE, checked_stream, tolerant, undecodable_error
from service_runtime.validation import check as check_request
from service_runtime.validation import prepare as prepare_validation
from service_runtime.validation import request_type

log = logging.getLogger(__name__)

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
Behaviour = Callable[[Any, Context], Any]
Guard = Callable[[Context], Awaitable[None]]


def _peer_attributes(peer: str) -> dict[str, str]:
    # "ipv4:127.0.0.1:57284", "ipv6:[::1]:57284"; unix sockets carry no address.
    if not peer or peer.startswith("unix:"):
        return {}
    try:
        ip, port = peer.split(",", maxsplit=1)[0].split(":", 1)[1].rsplit(":", 1)
    except (IndexError, ValueError):
        return {}
    return {"net.peer.ip": unquote(ip), "net.peer.port": port}


class _Method:
    """What one hosted method needs per call: its names, span attributes and guard."""

    def __init__(
        self,
        method: str,
        guard: Guard | None,
        tracer: trace.Tracer,
        admission: InFlight | None = None,
        validate: bool = False,
    ) -> None:
        self.method = method
        # Load shedding (service_runtime.shedding): checked first, before any other work.
        self.admission = admission
        # Requests are checked against the contract's rules after authentication (an unknown
        # caller learns nothing of them) and before the servicer sees them.
        self.validate = validate
        service, _, name = method.lstrip("/").partition("/")
        self.attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        self.guard = guard
        self.tracer = tracer
        self.traced = traced(method)
        # Health probes are neither traced nor counted.
        self.meter = rpc_metrics().server(method) if self.traced else None

    def start(self, context: Context) -> tuple[trace.Span | None, object | None]:
        """The call's server span, current from here on, child of the caller's (if traced)."""
        if not self.traced:
            return None, None
        metadata = context.invocation_metadata() or ()
        carrier = {key: value for key, value in metadata if isinstance(value, str)}
        attributes: dict[str, str | int] = dict(self.attributes)
        attributes.update(_peer_attributes(context.peer()))
        if "user-agent" in carrier:
            attributes["rpc.user_agent"] = carrier["user-agent"]
        span = self.tracer.start_span(
            self.method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes=attributes,
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        return span, token

    def failure(
        self, exc: BaseException, span: trace.Span | None
    ) -> tuple[status_pb2.Status, tuple[int, str]]:
        """`exc` mapped to the status the call is answered with, and its (code, reason)."""
        if isinstance(exc, NotImplementedError):
            # The generated base servicer's answer for an RPC nobody overrode.
            exc = Unimplemented("NOT_IMPLEMENTED", f"{self.method} is not implemented yet")
        outage = as_outage(exc)
        if outage is not None:
            log.warning(
                "dependency unavailable in %s: %s", self.method, type(exc).__name__, exc_info=False
            )
            count_outage(outage)
            exc = outage
        if isinstance(exc, DomainError):
            status = to_rpc_status(exc)
        else:
            log.exception("unhandled error in %s", self.method, exc_info=exc)
            status = internal_status()
        code = STATUS_CODES.get(status.code, grpc.StatusCode.UNKNOWN)
        reason = exc.reason if isinstance(exc, DomainError) else "INTERNAL_ERROR"
        if span is not None and code in SERVER_FAULTS:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, code.name))
        return status, (status.code, bounded_reason(reason))

    async def admitted_request(self, request: Any, context: Context, streamed: bool) -> Any:
        """The request the behaviour is given, once admitted: decodable, from a caller the
        guard lets in, and within its contract's rules."""
        request = _checked(request, streamed)
        if self.guard is not None:
            await self.guard(context)
        if self.validate:
            check_request(request)
        return request

    def end(
        self,
        span: trace.Span | None,
        token: object | None,
        context: Context,
        outcome: tuple[int, str] | None,
        started: float,
        admitted: InFlight | None = None,
        admitted_at: float = 0.0,
    ) -> None:
        """Leaves the call's admission (if `_admit` took one), closes its span and counts it.
        `outcome` is the (code, reason) of `failure` with, None when the behaviour returned (or
        aborted by itself)."""
        if admitted is not None:
            admitted.leave(admitted_at)
        if outcome is None:
            code = context.code()  # set by a servicer's own abort or set_code, else None
            outcome = (code.value[0] if isinstance(code, grpc.StatusCode) else 0, "")
        if self.meter is not None:
            self.meter.record((time.perf_counter() - started) * 1000.0, *outcome)
        if span is None:
            return
        span.set_attribute("rpc.grpc.status_code", outcome[0])
        span.end()
        otel_context.detach(token)  # type: ignore[arg-type]


def _is_abort(exc: BaseException) -> bool:
    # context.abort raises grpc's own AbortError; it must pass through untouched.
    return isinstance(exc, grpc.aio.AbortError)


def _admit(method: _Method, context: Context) -> tuple[InFlight | None, float]:
    """The call's admission and start (to leave when it ends), or the refusal raised."""
    admission = method.admission
    if admission is None:
        return None, 0.0
    return admission, admission.enter(context)


def _checked(request: Any, streamed: bool) -> Any:
    if streamed:
        return checked_stream(request)
    if request is UNDECODABLE:
        raise undecodable_error()
    return request


def _unary(behaviour: Behaviour, method: _Method, streamed: bool = False) -> Behaviour:
    async def run(request: Any, context: Context) -> Any:
        started = time.perf_counter()
        span, token = method.start(context)
        outcome: tuple[int, str] | None = None
        admitted, admitted_at = None, 0.0
        try:
            admitted, admitted_at = _admit(method, context)
            request = await method.admitted_request(request, context, streamed)
            return await behaviour(request, context)
        except Exception as exc:
            if _is_abort(exc):
                raise
            status, outcome = method.failure(exc, span)
            await context.abort_with_status(rpc_status.to_status(status))
        finally:
            method.end(span, token, context, outcome, started, admitted, admitted_at)

    return run


def _streaming(behaviour: Behaviour, method: _Method, streamed: bool = False) -> Behaviour:
    async def run(request: Any, context: Context) -> AsyncIterator[Any]:
        started = time.perf_counter()
        span, token = method.start(context)
        outcome: tuple[int, str] | None = None
        admitted, admitted_at = None, 0.0
        try:
            admitted, admitted_at = _admit(method, context)
            request = await method.admitted_request(request, context, streamed)
            result = behaviour(request, context)
            if hasattr(result, "__aiter__"):
                async for item in result:
                    yield item
            else:
                await result
        except Exception as exc:
            if _is_abort(exc):
                raise
            status, outcome = method.failure(exc, span)
            await context.abort_with_status(rpc_status.to_status(status))
        finally:
            method.end(span, token, context, outcome, started, admitted, admitted_at)

    return run


def _passing_bytes(serializer: Callable[[Any], bytes] | None) -> Callable[[Any], bytes] | None:
    """A servicer may answer with its response already encoded (a hot path that has the bytes
    at hand, e.g. the gateway's agreed quote sets): those go out as they are."""
    if serializer is None:
        return None

    def serialize(response: Any) -> bytes:
        return response if type(response) is bytes else serializer(response)

    return serialize


def wrap_handler(
    handler: grpc.RpcMethodHandler,
    method: str,
    authenticator: Authenticator,
    shedding: SheddingSettings | None = None,
    mutual_tls: TlsSettings | None = None,
) -> grpc.RpcMethodHandler:
    """`handler` with its load shedding, span, authentication (except on open services), error
    mapping, and undecodable requests refused INVALID_ARGUMENT."""
    service = method.lstrip("/").split("/", 1)[0]
    guard: Guard | None = None
    if service not in OPEN_SERVICES:
        # Who may call it is declared in the contract (or by the authenticator's own rules, for
        # a service outside protos/); a method that declares nothing stops the service from
        # starting (UndeclaredMethod) rather than being open or closed by accident.
        getattr(authenticator, "rules", rule_for)(method)

        async def guard(context: Context) -> None:
            metadata = {
                k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)
            }
            principal = await authenticator.authenticate(method, metadata)
            if mutual_tls is not None and principal is not None:
                # The certificate the TLS handshake verified must be the token's own caller.
                check_peer(
                    peer_names(context), principal.subject, principal.role, mutual_tls.proxy_names
                )
            current_principal.set(principal)

    # Every method of ours is validated; health and reflection (grpc's own) are not, nor are
    # handlers of raw bytes (no contract: test and bench relays). Client streams are not
    # validated here (none of our contracts has one).
    validate = (
        service not in OPEN_SERVICES
        and handler.request_deserializer is not None
        and bool(handler.unary_unary or handler.unary_stream)
    )
    if validate:
        message_type = request_type(method)
        if message_type is None:
            raise RuntimeError(f"{method}: no request type in the descriptor pool to validate")
        prepare_validation(message_type)
    # Probes and tooling are never shed: a loaded server must still say it is alive.
    admission = None
    if shedding is not None and service not in OPEN_SERVICES:
        admission = in_flight(method, bool(handler.response_streaming), shedding)
    tracer = trace.get_tracer("service_runtime.handlers", VERSION)
    spec = _Method(method, guard, tracer, admission, validate)
    kwargs = {
        "request_deserializer": tolerant(handler.request_deserializer),
        "response_serializer": _passing_bytes(handler.response_serializer),
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(_unary(handler.unary_unary, spec), **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _streaming(handler.unary_stream, spec), **kwargs
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            _unary(handler.stream_unary, spec, streamed=True), **kwargs
        )
    return grpc.stream_stream_rpc_method_handler(
        _streaming(handler.stream_stream, spec, streamed=True), **kwargs
    )


class _WrappingGenericHandler(grpc.GenericRpcHandler):  # type: ignore[misc]
    """A registration's generic handler, answering with wrapped handlers (made once each)."""

    def __init__(self, inner: grpc.GenericRpcHandler, wrapping: WrappingServer) -> None:
        self.inner = inner
        self.wrapping = wrapping

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        wrapped = self.wrapping.wrapped.get(method)
        if wrapped is None:
            handler = self.inner.service(handler_call_details)
            if handler is None:
                return None
            wrapped = self.wrapping.wrap(method, handler)
        return wrapped


class WrappingServer:
    """Stands in for the server while services register: every handler they add is wrapped.

    Generated `add_*Servicer_to_server` functions add both a generic handler and the registered
    method handlers; both lead to the same wrapped handler.
    """

    def __init__(
        self,
        server: grpc.aio.Server,
        authenticator: Authenticator,
        shedding: SheddingSettings | None = None,
        mutual_tls: TlsSettings | None = None,
    ) -> None:
        self.server = server
        self.authenticator = authenticator
        self.mutual_tls = mutual_tls
        self.shedding = shedding
        self.wrapped: dict[str, grpc.RpcMethodHandler] = {}

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        wrapped = self.wrapped.get(method)
        if wrapped is None:
            wrapped = self.wrapped[method] = wrap_handler(
                handler, method, self.authenticator, self.shedding, self.mutual_tls
            )
        return wrapped

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self.server.add_generic_rpc_handlers(
            tuple(_WrappingGenericHandler(handler, self) for handler in handlers)
        )

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        wrapped = {name: self.wrap(f"/{service}/{name}", h) for name, h in handlers.items()}
        self.server.add_registered_method_handlers(service, wrapped)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)
