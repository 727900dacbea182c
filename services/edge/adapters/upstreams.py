"""One traced gRPC channel per upstream service, carrying the caller's token, not the edge's.

Calls go out with the browser's `authorization` untouched: each service verifies the player or
operator as it does for native clients. The pool therefore attaches no token of its own, which
would hide the caller. The edge's one credential (role public) is attached explicitly, by the
forwarding, to anonymous calls of public methods only (services/edge/service_layer/forwarding.py).

Messages go out and come back as bytes (no serialisers): the edge never parses them. A status
other than OK becomes the domain's UpstreamFailed (code, message, trailing metadata).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import grpc

from service_runtime.channels import ChannelPool
from service_runtime.errors import Unavailable
from services.edge.domain.forwarding import Metadata, UpstreamFailed


def channel_target(addresses: tuple[str, ...]) -> tuple[str, list[tuple[str, object]]]:
    """A target and options: several processes behind one channel, spread round robin."""
    if len(addresses) == 1:
        return addresses[0], []
    # The ipv4: resolver takes a list of literal addresses, as the launcher hands out.
    return "ipv4:" + ",".join(addresses), [
        ("grpc.lb_policy_name", "round_robin"),
    ]


class Upstreams:
    def __init__(self, addresses: Mapping[str, tuple[str, ...]]) -> None:
        self.addresses = dict(addresses)
        self._pool = ChannelPool(tokens=None)

    def channel(self, area: str) -> grpc.aio.Channel:
        addresses = self.addresses.get(area)
        if not addresses:
            raise Unavailable(
                "EDGE_UPSTREAM_NOT_CONFIGURED",
                f"no {area} service is configured behind this edge",
                {"area": area},
            )
        return self._pool.get(*channel_target(addresses))

    async def unary(
        self, area: str, path: str, message: bytes, metadata: Metadata, timeout: float | None
    ) -> tuple[bytes, Metadata]:
        callable_ = self.channel(area).unary_unary(
            path, request_serializer=None, response_deserializer=None
        )
        call = callable_(message, metadata=metadata, timeout=timeout)
        try:
            reply = await call
        except grpc.aio.AioRpcError as exc:
            raise upstream_failed(exc) from None
        finally:
            # The browser went away (the handler is cancelled): the upstream call goes too.
            if not call.done():
                call.cancel()
        return reply, _pairs(await call.trailing_metadata())

    def stream(
        self, area: str, path: str, message: bytes, metadata: Metadata, timeout: float | None
    ) -> _StreamCall:
        return _StreamCall(self.channel(area), path, message, metadata, timeout)

    async def close(self) -> None:
        await self._pool.close()


class _StreamCall:
    """A server-streaming call: started on entering the block, cancelled on leaving it early
    (a stream must not outlive its reader)."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        path: str,
        message: bytes,
        metadata: Metadata,
        timeout: float | None,
    ) -> None:
        self._callable = channel.unary_stream(
            path, request_serializer=None, response_deserializer=None
        )
        self._request = (message, metadata, timeout)
        self._call: Any = None

    async def __aenter__(self) -> _StreamCall:
        message, metadata, timeout = self._request
        self._call = self._callable(message, metadata=metadata, timeout=timeout)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._call.done():
            self._call.cancel()

    async def read(self) -> bytes | None:
        try:
            item = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise upstream_failed(exc) from None
        return None if item is grpc.aio.EOF else bytes(item)

    async def trailing_metadata(self) -> Metadata:
        return _pairs(await self._call.trailing_metadata())


def upstream_failed(exc: grpc.aio.AioRpcError) -> UpstreamFailed:
    return UpstreamFailed(exc.code().value[0], exc.details() or "", _pairs(exc.trailing_metadata()))


def _pairs(metadata: Any) -> list[tuple[str, str | bytes]]:
    return [(str(key), value) for key, value in (metadata or ())]
