"""Helpers for tests that talk gRPC to real servers."""

from __future__ import annotations

import hashlib
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
        # Runtime tests host services with no identity to check tokens against.
        auth_mode="anonymous",
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


class _Defaults(
    grpc.aio.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.aio.UnaryStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds metadata pairs (a bearer token, ...) to every call that does not carry that key."""

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self.pairs = pairs

    def _with_defaults(self, details: Any) -> Any:
        metadata = list(details.metadata or ())
        present = {key for key, _ in metadata}
        metadata += [(k, v) for k, v in self.pairs if k not in present]
        return details._replace(metadata=metadata)

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._with_defaults(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._with_defaults(details), request)


OPERATOR_CLIENT_ID = "test-operator"


def operator_client(secret: str = "test-operator-secret") -> dict[str, object]:
    """An operator client (BETMESH_IDENTITY_CLIENTS entry) for tests that run identity in tokens
    mode (the default) and read players' accounts as an operator would."""
    return {
        "client_id": OPERATOR_CLIENT_ID,
        "secret_sha256": hashlib.sha256(secret.encode()).hexdigest(),
        "role": "operator",
        "audiences": ["betmesh.identity"],
    }


async def operator_channel(
    address: str,
    secret: str = "test-operator-secret",
    extra: tuple[tuple[str, str], ...] = (),
) -> grpc.aio.Channel:
    """A channel to identity at `address` whose calls carry a token of `operator_client()` (and
    the `extra` metadata) unless they set their own."""
    return await client_channel(
        address, address, OPERATOR_CLIENT_ID, secret, "betmesh.identity", extra
    )


async def client_channel(
    address: str,
    identity_address: str,
    client_id: str,
    secret: str,
    audience: str,
    extra: tuple[tuple[str, str], ...] = (),
) -> grpc.aio.Channel:
    """A channel to `address` whose calls carry a token identity at `identity_address` issued
    to a client credential for `audience` (and the `extra` metadata), unless they set their own."""
    from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc

    async with grpc.aio.insecure_channel(identity_address) as plain:
        issued = await identity_service_pb2_grpc.IdentityServiceStub(plain).IssueToken(
            identity_service_pb2.IssueTokenRequest(
                client_id=client_id, client_secret=secret, audience=audience
            ),
            timeout=10,
        )
    pairs = (("authorization", f"Bearer {issued.access_token.token}"), *extra)
    return grpc.aio.insecure_channel(address, interceptors=[_Defaults(pairs)])
