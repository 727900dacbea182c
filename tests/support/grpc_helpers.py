"""Helpers for tests that talk gRPC to real servers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2

from service_runtime.errors import error_info, status_from_metadata
from service_runtime.settings import ServerSettings

T = TypeVar("T")


def local_server_settings() -> ServerSettings:
    return ServerSettings(
        host="127.0.0.1",
        port=0,
        grace_seconds=0.5,
        reflection=True,
        max_concurrent_streams=256,
        log_level="INFO",
        environment="test",
    )


async def rpc_error(
    call: Callable[[], Awaitable[Any]],
) -> tuple[grpc.StatusCode, error_details_pb2.ErrorInfo | None, status_pb2.Status | None]:
    """Runs a call that must fail; returns its code, ErrorInfo and rich status."""
    try:
        await call()
    except grpc.aio.AioRpcError as exc:
        status = status_from_metadata(exc.trailing_metadata())
        return exc.code(), error_info(status), status
    raise AssertionError("the call succeeded but was expected to fail")
