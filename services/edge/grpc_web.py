"""The gRPC-web handler: an HTTP request in, a ForwardCall to the service layer, its answer out.

Translation only: the content type picks the mode (binary or text), grpc-timeout becomes
seconds, the body is unframed to its one message (domain/framing.py), the browser's address is
read (domain/client_address.py); the answer's frames are encoded for the mode. What is
forwarded, with which credential and deadline, is service_layer/forwarding.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from service_runtime.errors import (
    DomainError,
    InvalidArgument,
    ResourceExhausted,
    internal_status,
    to_rpc_status,
)
from service_runtime.telemetry import SERVER_FAULTS, STATUS_CODES, extract_context, tracer
from services.edge.domain.client_address import Network, client_address
from services.edge.domain.framing import (
    FramingError,
    Mode,
    decode_text,
    mode_of,
    parse_timeout,
    rich_status_trailers,
    single_message,
)
from services.edge.service_layer import commands
from services.edge.service_layer.commands import CallRecord
from services.edge.service_layer.forwarding import Forwarding

_tracer = tracer("services.edge")


class GrpcWebHandler:
    def __init__(
        self,
        forwarding: Forwarding,
        *,
        max_request_bytes: int,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.forwarding = forwarding
        self.max_request_bytes = max_request_bytes
        self.trusted_proxies = tuple(trusted_proxies)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        mode = mode_of(request.headers.get("content-type", ""))
        if mode is None:
            # Not a gRPC-web request at all (a form post, +json): an HTTP answer, not a status.
            return web.Response(
                status=415, text="gRPC-web only: application/grpc-web[-text][+proto]\n"
            )
        path = request.path
        parent = extract_context({k.lower(): v for k, v in request.headers.items()})
        record = CallRecord()
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
                return await self._call(request, mode, path, record)
            except FramingError as exc:
                return _refuse(mode, InvalidArgument(exc.reason, str(exc)), record)
            except DomainError as exc:
                return _refuse(mode, exc, record)
            except web.HTTPRequestEntityTooLarge:
                return _refuse(
                    mode,
                    ResourceExhausted("EDGE_REQUEST_TOO_LARGE", "request message too large"),
                    record,
                )
            finally:
                _trace(span, record)

    async def _call(
        self, request: web.Request, mode: Mode, path: str, record: CallRecord
    ) -> web.StreamResponse:
        # The allow-list first: a path not exposed is refused before its body is even read.
        self.forwarding.exposed(path)
        timeout = parse_timeout(request.headers.get("grpc-timeout"))
        body = await request.read()  # aiohttp stops at the application's client_max_size
        if len(body) > self.max_request_bytes:
            raise web.HTTPRequestEntityTooLarge(self.max_request_bytes, len(body))
        call = commands.ForwardCall(
            path=path,
            message=single_message(decode_text(body) if mode.text else body),
            timeout=timeout,
            authorization=request.headers.get("authorization"),
            client=client_address(
                request.remote, request.headers.get("x-forwarded-for"), self.trusted_proxies
            ),
        )
        reply = _StreamedReply(request, mode)
        answer = await self.forwarding.forward(call, reply, record)
        return _response(mode, answer, reply)


class _StreamedReply:
    """The service layer's ReplyStream on an aiohttp chunked response."""

    def __init__(self, request: web.Request, mode: Mode) -> None:
        self.request = request
        self.mode = mode
        self.response: web.StreamResponse | None = None

    async def open(self) -> None:
        self.response = web.StreamResponse(headers=_headers(self.mode))
        self.response.enable_chunked_encoding()
        await self.response.prepare(self.request)

    async def write(self, frame: bytes) -> None:
        assert self.response is not None, "open() first"
        await self.response.write(self.mode.encode(frame))

    async def close(self) -> None:
        assert self.response is not None, "open() first"
        await self.response.write_eof()


def _response(mode: Mode, answer: commands.Answer, reply: _StreamedReply) -> web.StreamResponse:
    if isinstance(answer, commands.Body):
        return web.Response(
            body=b"".join(mode.encode(frame) for frame in answer.frames), headers=_headers(mode)
        )
    if isinstance(answer, commands.TrailersOnly):
        return _trailers_only(mode, answer.trailers)
    assert isinstance(answer, commands.Streamed) and reply.response is not None
    return reply.response


def _refuse(mode: Mode, error: DomainError, record: CallRecord) -> web.StreamResponse:
    """A call refused at the edge itself, rich status and all, as a service would."""
    status = to_rpc_status(error)
    record.code, record.messages = status.code, 0
    return _trailers_only(mode, rich_status_trailers(status))


def _trailers_only(mode: Mode, trailers: Sequence[tuple[str, str]]) -> web.StreamResponse:
    return web.Response(headers={**_headers(mode), **dict(trailers)})


def internal_error_response(content_type: str) -> web.StreamResponse:
    """For a bug in the edge: INTERNAL without internals, still a readable gRPC-web status."""
    mode = mode_of(content_type) or Mode(text=False)
    return _trailers_only(mode, rich_status_trailers(internal_status()))


def _headers(mode: Mode) -> dict[str, str]:
    return {"content-type": mode.content_type, "cache-control": "no-store"}


def _trace(span: trace.Span, record: CallRecord) -> None:
    if record.public:
        span.set_attribute("betmesh.edge.public", True)
    if record.client_disconnected:
        span.set_attribute("betmesh.edge.client_disconnected", True)
    if record.code is None:
        return
    span.set_attribute("rpc.grpc.status_code", record.code)
    span.set_attribute("betmesh.edge.messages_sent", record.messages)
    code = STATUS_CODES.get(record.code)
    if code is not None and code in SERVER_FAULTS:
        span.set_status(Status(StatusCode.ERROR, code.name))
