"""gRPC-web calls in, native gRPC calls out: bytes forwarded, status translated.

The request message is handed to the upstream exactly as the browser encoded it, and the
upstream's messages come back as they were sent: the edge never parses an application message,
so it needs no change when a contract grows.

An error before any message goes back as a trailers-only response (the status in the HTTP
headers, no body), which is what gRPC-web clients expect; later errors end the body with a
trailer frame. The upstream's grpc-status-details-bin (the google.rpc.Status with its
ErrorInfo) is passed through untouched in both cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from aiohttp import web
from google.rpc import status_pb2
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from service_runtime.client_tokens import TokenSource
from service_runtime.errors import (
    STATUS_DETAILS_KEY,
    DomainError,
    InvalidArgument,
    ResourceExhausted,
    Unimplemented,
    internal_status,
    to_rpc_status,
)
from service_runtime.telemetry import SERVER_FAULTS, STATUS_CODES, extract_context, tracer
from services.edge.adapters.tokens import EdgeAuthenticator
from services.edge.adapters.upstreams import Upstreams
from services.edge.domain.client_address import Network, client_address
from services.edge.domain.framing import (
    FramingError,
    Mode,
    data_frame,
    decode_text,
    mode_of,
    parse_timeout,
    single_message,
    status_trailers,
    trailer_frame,
)
from services.edge.domain.methods import ExposedMethod

log = logging.getLogger(__name__)
_tracer = tracer("services.edge")

# Request headers that travel upstream. Everything else (cookies, user agent, ...) stays here;
# traceparent is re-made by the runtime's client channel from the edge's own span.
FORWARDED_HEADERS = ("authorization",)
# On an anonymous public call, the browser's address, for live's per-subscriber stream limit:
# every anonymous visitor shares the edge's token subject. Live believes it only from a caller
# with the public role; a browser's own header of that name is never forwarded (above).
PUBLIC_CLIENT_HEADER = "x-betmesh-public-client"

Metadata = Sequence[tuple[str, str | bytes]]


class StreamSlots:
    """Open streams per client address: one browser cannot hold the edge's streams hostage."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self.open: dict[str, int] = {}

    @contextlib.contextmanager
    def take(self, client: str) -> Any:
        if self.open.get(client, 0) >= self.per_client:
            raise ResourceExhausted(
                "EDGE_TOO_MANY_STREAMS",
                f"at most {self.per_client} open streams per client",
                {"limit": str(self.per_client)},
            )
        self.open[client] = self.open.get(client, 0) + 1
        try:
            yield
        finally:
            left = self.open[client] - 1
            if left:
                self.open[client] = left
            else:
                del self.open[client]

    @property
    def total(self) -> int:
        return sum(self.open.values())


class GrpcWebProxy:
    def __init__(
        self,
        methods: Mapping[str, ExposedMethod],
        upstreams: Upstreams,
        authenticator: EdgeAuthenticator | None,
        *,
        max_streams_per_client: int,
        default_unary_deadline_seconds: float,
        max_request_bytes: int,
        trusted_proxies: Sequence[Network] = (),
        public_tokens: TokenSource | None = None,
    ) -> None:
        self.methods = methods
        # The edge's own public-role tokens, for public methods called without a token.
        self.public_tokens = public_tokens
        self.trusted_proxies = tuple(trusted_proxies)
        self.max_request_bytes = max_request_bytes
        self.upstreams = upstreams
        self.authenticator = authenticator
        self.streams = StreamSlots(max_streams_per_client)
        self.default_unary_deadline = default_unary_deadline_seconds

    async def handle(self, request: web.Request) -> web.StreamResponse:
        mode = mode_of(request.headers.get("content-type", ""))
        if mode is None:
            # Not a gRPC-web request at all (a form post, +json): an HTTP answer, not a status.
            return web.Response(
                status=415, text="gRPC-web only: application/grpc-web[-text][+proto]\n"
            )
        path = request.path
        parent = extract_context({k.lower(): v for k, v in request.headers.items()})
        with _tracer.start_as_current_span(
            path.lstrip("/"),
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "rpc.system": "grpc",
                "rpc.service": path.lstrip("/").split("/", 1)[0],
                "rpc.method": path.rsplit("/", 1)[-1],
                "betmesh.edge.protocol": "grpc-web-text" if mode.text else "grpc-web",
            },
        ) as span:
            try:
                return await self._call(request, mode, path, span)
            except FramingError as exc:
                return self._refuse(mode, InvalidArgument(exc.reason, str(exc)), span)
            except DomainError as exc:
                return self._refuse(mode, exc, span)
            except web.HTTPRequestEntityTooLarge:
                return self._refuse(
                    mode,
                    ResourceExhausted("EDGE_REQUEST_TOO_LARGE", "request message too large"),
                    span,
                )

    async def _call(
        self, request: web.Request, mode: Mode, path: str, span: trace.Span
    ) -> web.StreamResponse:
        method = self.methods.get(path)
        if method is None:
            raise Unimplemented(
                "EDGE_METHOD_NOT_EXPOSED", f"{path} is not exposed to browsers", {"method": path}
            )
        timeout = parse_timeout(request.headers.get("grpc-timeout"))
        body = await request.read()  # aiohttp stops at the application's client_max_size
        if len(body) > self.max_request_bytes:
            raise web.HTTPRequestEntityTooLarge(self.max_request_bytes, len(body))
        message = single_message(decode_text(body) if mode.text else body)
        client = client_address(
            request.remote, request.headers.get("x-forwarded-for"), self.trusted_proxies
        )
        metadata: Metadata = tuple(
            (name, request.headers[name]) for name in FORWARDED_HEADERS if name in request.headers
        )
        # A browser's token, when it sends one, is checked and forwarded as always (a player's
        # stream is the player's); without one, only a public method goes on, as the edge.
        if (
            method.public
            and self.public_tokens is not None
            and not request.headers.get("authorization")
        ):
            span.set_attribute("betmesh.edge.public", True)
            token = await self.public_tokens.token(method.audience, timeout)
            metadata = (("authorization", f"Bearer {token}"), (PUBLIC_CLIENT_HEADER, client))
        elif method.open and self.public_tokens is not None:
            # Sign-up and the like need no token; the edge's vouches for the visitor's address,
            # which the service's per-address limits then count (not the edge as one client).
            metadata = await self._vouched(metadata, method, client, timeout)
        elif self.authenticator is not None:
            await self.authenticator.check(method, request.headers)
        channel = self.upstreams.channel(method.area)
        if method.server_streaming:
            with self.streams.take(client):
                return await self._stream(
                    request, mode, channel, method, message, metadata, timeout, span
                )
        return await self._unary(
            mode, channel, method, message, metadata, timeout or self.default_unary_deadline, span
        )

    async def _vouched(
        self, metadata: Metadata, method: ExposedMethod, client: str, timeout: float | None
    ) -> Metadata:
        if self.public_tokens is None or any(k == "authorization" for k, _ in metadata):
            return metadata
        try:
            token = await self.public_tokens.token(method.audience, timeout)
        except DomainError as exc:
            log.warning("no edge token to vouch for a visitor", extra={"reason": exc.reason})
            return metadata
        return (*metadata, ("authorization", f"Bearer {token}"), (PUBLIC_CLIENT_HEADER, client))

    async def _unary(
        self,
        mode: Mode,
        channel: grpc.aio.Channel,
        method: ExposedMethod,
        message: bytes,
        metadata: Metadata,
        timeout: float,
        span: trace.Span,
    ) -> web.StreamResponse:
        callable_ = channel.unary_unary(
            method.path, request_serializer=None, response_deserializer=None
        )
        call = callable_(message, metadata=metadata, timeout=timeout)
        try:
            reply = await call
        except grpc.aio.AioRpcError as exc:
            return self._upstream_error(mode, exc, span)
        finally:
            # The browser went away (the handler is cancelled): the upstream call goes too.
            if not call.done():
                call.cancel()
        trailing = await call.trailing_metadata()
        _record(span, grpc.StatusCode.OK, 1)
        body = mode.encode(data_frame(reply)) + mode.encode(
            trailer_frame(status_trailers(0, "", _pairs(trailing)))
        )
        return web.Response(body=body, headers=_headers(mode))

    async def _stream(
        self,
        request: web.Request,
        mode: Mode,
        channel: grpc.aio.Channel,
        method: ExposedMethod,
        message: bytes,
        metadata: Metadata,
        timeout: float | None,
        span: trace.Span,
    ) -> web.StreamResponse:
        callable_ = channel.unary_stream(
            method.path, request_serializer=None, response_deserializer=None
        )
        call = callable_(message, metadata=metadata, timeout=timeout)
        sent = 0
        try:
            # Headers wait for the first message: a call refused at once gets a trailers-only
            # answer the browser can read as an error.
            try:
                first = await call.read()
            except grpc.aio.AioRpcError as exc:
                return self._upstream_error(mode, exc, span)
            response = web.StreamResponse(headers=_headers(mode))
            response.enable_chunked_encoding()
            await response.prepare(request)
            item: Any = first
            while item is not grpc.aio.EOF:
                await response.write(mode.encode(data_frame(item)))
                sent += 1
                try:
                    item = await call.read()
                except grpc.aio.AioRpcError as exc:
                    await response.write(mode.encode(trailer_frame(self._error_trailers(exc))))
                    _record(span, exc.code(), sent)
                    await response.write_eof()
                    return response
            trailing = await call.trailing_metadata()
            await response.write(
                mode.encode(trailer_frame(status_trailers(0, "", _pairs(trailing))))
            )
            _record(span, grpc.StatusCode.OK, sent)
            await response.write_eof()
            return response
        except (asyncio.CancelledError, ConnectionResetError):
            span.set_attribute("betmesh.edge.client_disconnected", True)
            _record(span, grpc.StatusCode.CANCELLED, sent)
            raise
        finally:
            if not call.done():
                call.cancel()

    @staticmethod
    def _error_trailers(exc: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
        return status_trailers(
            exc.code().value[0], exc.details() or "", _pairs(exc.trailing_metadata())
        )

    def _upstream_error(
        self, mode: Mode, exc: grpc.aio.AioRpcError, span: trace.Span
    ) -> web.StreamResponse:
        _record(span, exc.code(), 0)
        return web.Response(headers={**_headers(mode), **dict(self._error_trailers(exc))})

    def _refuse(self, mode: Mode, error: DomainError, span: trace.Span) -> web.StreamResponse:
        """A call refused at the edge itself, rich status and all, as a service would."""
        status = to_rpc_status(error)
        return self._trailers_only(mode, status, span)

    @staticmethod
    def _trailers_only(
        mode: Mode, status: status_pb2.Status, span: trace.Span
    ) -> web.StreamResponse:
        code = STATUS_CODES.get(status.code, grpc.StatusCode.UNKNOWN)
        _record(span, code, 0)
        trailers = status_trailers(
            status.code, status.message, [(STATUS_DETAILS_KEY, status.SerializeToString())]
        )
        return web.Response(headers={**_headers(mode), **dict(trailers)})


def internal_error_response(content_type: str) -> web.StreamResponse:
    """For a bug in the edge: INTERNAL without internals, still a readable gRPC-web status."""
    mode = mode_of(content_type) or Mode(text=False)
    status = internal_status()
    trailers = status_trailers(
        status.code, status.message, [(STATUS_DETAILS_KEY, status.SerializeToString())]
    )
    return web.Response(headers={**_headers(mode), **dict(trailers)})


def _headers(mode: Mode) -> dict[str, str]:
    return {"content-type": mode.content_type, "cache-control": "no-store"}


def _pairs(metadata: Any) -> list[tuple[str, str | bytes]]:
    return [(str(key), value) for key, value in (metadata or ())]


def _record(span: trace.Span, code: grpc.StatusCode, messages: int) -> None:
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    span.set_attribute("betmesh.edge.messages_sent", messages)
    if code in SERVER_FAULTS:
        span.set_status(Status(StatusCode.ERROR, code.name))
