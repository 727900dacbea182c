"""Forwarding one browser call upstream: the allow-list, the credential, the deadline, the
per-client stream limit, then the call, unary or server-streaming.

The request message goes upstream exactly as the browser encoded it, and the upstream's
messages come back as they were sent: the edge never parses an application message, so it
needs no change when a contract grows. An error before any message goes back as a
trailers-only answer (the status in the HTTP headers, no body), which is what gRPC-web clients
expect; later errors end the body with a trailer frame. The upstream's grpc-status-details-bin
(the google.rpc.Status with its ErrorInfo) is passed through untouched in both cases.

Refusals at the edge itself raise DomainError (the handler answers them as a service would).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager

from service_runtime.errors import DomainError, Unimplemented
from services.edge.domain.forwarding import (
    CANCELLED,
    OK,
    PUBLIC_CLIENT_HEADER,
    Credential,
    Metadata,
    StreamSlots,
    UpstreamFailed,
    credential_for,
    deadline_for,
)
from services.edge.domain.framing import data_frame, status_trailers, trailer_frame
from services.edge.domain.methods import ExposedMethod
from services.edge.service_layer.commands import (
    Answer,
    Body,
    CallRecord,
    ForwardCall,
    Streamed,
    TrailersOnly,
)
from services.edge.service_layer.ports import (
    EdgeTokens,
    ReplyStream,
    TokenCheck,
    UpstreamCalls,
    UpstreamStream,
)

log = logging.getLogger(__name__)


class Forwarding:
    def __init__(
        self,
        methods: Mapping[str, ExposedMethod],
        upstreams: UpstreamCalls,
        tokens: TokenCheck | None,
        *,
        max_streams_per_client: int,
        default_unary_deadline_seconds: float,
        edge_tokens: EdgeTokens | None = None,
    ) -> None:
        self.methods = methods
        self.upstreams = upstreams
        # None: anonymous mode, the edge checks no token (the services decide).
        self.tokens = tokens
        # The edge's own public-role tokens, for public methods called without a token.
        self.edge_tokens = edge_tokens
        self.streams = StreamSlots(max_streams_per_client)
        self.default_unary_deadline = default_unary_deadline_seconds

    def exposed(self, path: str) -> ExposedMethod:
        """The method behind `path`, or UNIMPLEMENTED: nothing else gets near an upstream."""
        method = self.methods.get(path)
        if method is None:
            raise Unimplemented(
                "EDGE_METHOD_NOT_EXPOSED", f"{path} is not exposed to browsers", {"method": path}
            )
        return method

    async def forward(self, call: ForwardCall, reply: ReplyStream, record: CallRecord) -> Answer:
        method = self.exposed(call.path)
        timeout = deadline_for(method, call.timeout, self.default_unary_deadline)
        metadata = await self._metadata(call, method, record, timeout)
        if method.server_streaming:
            opened = self.upstreams.stream(
                method.area, method.path, call.message, metadata, timeout
            )
            with self.streams.take(call.client):
                return await self._stream(opened, reply, record)
        try:
            message, trailing = await self.upstreams.unary(
                method.area, method.path, call.message, metadata, timeout
            )
        except UpstreamFailed as exc:
            return _failed(exc, record)
        record.code, record.messages = OK, 1
        return Body((data_frame(message), trailer_frame(status_trailers(OK, "", trailing))))

    async def _metadata(
        self, call: ForwardCall, method: ExposedMethod, record: CallRecord, timeout: float | None
    ) -> Metadata:
        metadata: Metadata = (
            (("authorization", call.authorization),) if call.authorization is not None else ()
        )
        credential = credential_for(
            method,
            has_token=bool(call.authorization),
            edge_tokens=self.edge_tokens is not None,
            checking=self.tokens is not None,
        )
        if credential is Credential.EDGE_PUBLIC and self.edge_tokens is not None:
            record.public = True
            token = await self.edge_tokens.token(method.audience, timeout)
            return (("authorization", f"Bearer {token}"), (PUBLIC_CLIENT_HEADER, call.client))
        if credential is Credential.VOUCHED:
            return await self._vouched(metadata, method, call.client, timeout)
        if credential is Credential.CHECKED and self.tokens is not None:
            await self.tokens.check(method, {"authorization": call.authorization or ""})
        return metadata

    async def _vouched(
        self, metadata: Metadata, method: ExposedMethod, client: str, timeout: float | None
    ) -> Metadata:
        if self.edge_tokens is None or any(k == "authorization" for k, _ in metadata):
            return metadata
        try:
            token = await self.edge_tokens.token(method.audience, timeout)
        except DomainError as exc:
            log.warning("no edge token to vouch for a visitor", extra={"reason": exc.reason})
            return metadata
        return (
            *metadata,
            ("authorization", f"Bearer {token}"),
            (PUBLIC_CLIENT_HEADER, client),
        )

    @staticmethod
    async def _stream(
        opened: AbstractAsyncContextManager[UpstreamStream],
        reply: ReplyStream,
        record: CallRecord,
    ) -> Answer:
        try:
            async with opened as stream:
                # Headers wait for the first message: a call refused at once gets a
                # trailers-only answer the browser can read as an error.
                try:
                    item = await stream.read()
                except UpstreamFailed as exc:
                    return _failed(exc, record)
                await reply.open()
                while item is not None:
                    await reply.write(data_frame(item))
                    record.messages += 1
                    try:
                        item = await stream.read()
                    except UpstreamFailed as exc:
                        await reply.write(trailer_frame(exc.trailers()))
                        record.code = exc.code
                        await reply.close()
                        return Streamed()
                trailing = await stream.trailing_metadata()
                await reply.write(trailer_frame(status_trailers(OK, "", trailing)))
                record.code = OK
                await reply.close()
                return Streamed()
        except (asyncio.CancelledError, ConnectionResetError):
            # The browser went away: leaving the block cancelled the upstream call.
            record.client_disconnected = True
            record.code = CANCELLED
            raise


def _failed(exc: UpstreamFailed, record: CallRecord) -> TrailersOnly:
    record.code = exc.code
    return TrailersOnly(tuple(exc.trailers()))
