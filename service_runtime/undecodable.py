"""Requests that do not decode are the caller's mistake: INVALID_ARGUMENT, not UNKNOWN.

grpcio runs a method's request deserializer before the handler; when it raises, grpc.aio
answers UNKNOWN ("Unexpected error") and our wrapper never sees the call. So each hosted method
is registered with a deserializer that catches the decode error and hands the handler
`UNDECODABLE` instead, which the wrapper refuses with reason REQUEST_UNDECODABLE (without
echoing a byte of the input).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from google.protobuf.message import DecodeError

from service_runtime.errors import InvalidArgument

REQUEST_UNDECODABLE = "REQUEST_UNDECODABLE"


class _Undecodable:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDECODABLE"


UNDECODABLE: Any = _Undecodable()


def undecodable_error() -> InvalidArgument:
    return InvalidArgument(REQUEST_UNDECODABLE, "the request is not a valid protobuf message")


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """`deserializer`, answering UNDECODABLE instead of raising on malformed bytes."""
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, UnicodeDecodeError, ValueError, RecursionError):
            return UNDECODABLE

    return deserialize


async def checked_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """A client stream whose undecodable message ends the call with INVALID_ARGUMENT."""
    async for request in requests:
        if request is UNDECODABLE:
            raise undecodable_error()
        yield request
