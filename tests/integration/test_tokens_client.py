"""Service tokens on outgoing calls, against real servers: a ChannelPool with the process's client
credentials gets tokens from a real identity service and a token-enforcing service admits its
unary and streaming calls as that client; without a token, or when identity cannot give one,
the call fails at once with a clear status."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc
from joserfc.jwk import ECKey

from service_runtime.auth import current_principal
from service_runtime.channels import ChannelPool, token_source_from_env
from service_runtime.client_tokens import TokenSource
from service_runtime.method_rules import MethodRule
from service_runtime.server import Registration, ServiceHost
from service_runtime.tokens import TokenAuthenticator, grpc_jwks_fetcher
from services.identity.app import build as build_identity
from services.identity.settings import IdentitySettings
from services.quotes.app import build as build_quotes
from services.quotes.settings import QuotesSettings
from tests.support.grpc_helpers import local_server_settings, rpc_error

ISSUER = "betmesh-test-identity"
CLIENT_ID = "svc-tokens-test"
ECHO = "betmesh.echo.v1.Echo"


@dataclass
class Mesh:
    identity: str
    quotes: str
    echo: str
    secret_file: Path

    def env(self, **changes: str) -> dict[str, str]:
        return {
            "BETMESH_AUTH_MODE": "tokens",
            "BETMESH_IDENTITY_ADDRESS": self.identity,
            "BETMESH_CLIENT_ID": CLIENT_ID,
            "BETMESH_CLIENT_SECRET_FILE": str(self.secret_file),
            **changes,
        }

    def pool(self, **changes: str) -> ChannelPool:
        return ChannelPool(tokens=token_source_from_env(self.env(**changes)))


def _echo_host(settings: Any) -> ServiceHost:
    """A token-enforcing service of every call kind that answers with who called."""

    def caller() -> bytes:
        principal = current_principal.get()
        assert principal is not None
        return f"{principal.subject}/{principal.role}".encode()

    async def who(request: bytes, context: Any) -> bytes:
        return caller()

    async def stream(request: bytes, context: Any) -> AsyncIterator[bytes]:
        for _ in range(2):
            yield caller()

    async def count(requests: AsyncIterator[bytes], context: Any) -> bytes:
        seen = [r async for r in requests]
        return caller() + f":{len(seen)}".encode()

    async def chat(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
        async for request in requests:
            yield request + b":" + caller()

    handler = grpc.method_handlers_generic_handler(
        ECHO,
        {
            "Who": grpc.unary_unary_rpc_method_handler(who),
            "Stream": grpc.unary_stream_rpc_method_handler(stream),
            "Count": grpc.stream_unary_rpc_method_handler(count),
            "Chat": grpc.stream_stream_rpc_method_handler(chat),
        },
    )
    # Not a service of protos/: its rule is declared here (every call kind, services only).
    authenticator = TokenAuthenticator(
        audience="betmesh.echo",
        issuer=settings.identity_issuer,
        fetch_jwks=grpc_jwks_fetcher(settings.identity_address),
        rules=lambda method: MethodRule(frozenset({"service"})),
    )
    return ServiceHost(
        service="betmesh.echo",
        settings=settings,
        registrations=[Registration(ECHO, lambda s: s.add_generic_rpc_handlers((handler,)))],
        authenticator=authenticator,
    )


@pytest.fixture(scope="module")
async def mesh(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Mesh]:
    folder = tmp_path_factory.mktemp("service-tokens")
    key_file = folder / "identity.pem"
    key_file.write_bytes(ECKey.generate_key("P-256").as_pem(private=True))
    secret = secrets.token_urlsafe(32)
    secret_file = folder / "client.secret"
    secret_file.write_text(secret + "\n")
    os.chmod(secret_file, 0o600)
    clients = [
        {
            "client_id": CLIENT_ID,
            "secret_sha256": hashlib.sha256(secret.encode()).hexdigest(),
            "role": "service",
            "audiences": ["betmesh.quotes", "betmesh.echo"],
        }
    ]
    identity = build_identity(
        IdentitySettings.from_env(
            {
                "BETMESH_PORT": "0",
                "BETMESH_AUTH_MODE": "tokens",
                "BETMESH_IDENTITY_ISSUER": ISSUER,
                "BETMESH_IDENTITY_CLIENTS": json.dumps(clients),
                "BETMESH_IDENTITY_SIGNING_KEY_FILE": str(key_file),
            }
        )
    )
    identity_address = f"127.0.0.1:{await identity.start()}"
    enforcing = {
        "BETMESH_PORT": "0",
        "BETMESH_AUTH_MODE": "tokens",
        "BETMESH_IDENTITY_ADDRESS": identity_address,
        "BETMESH_IDENTITY_ISSUER": ISSUER,
    }
    quotes = build_quotes(
        QuotesSettings.from_env(
            {**enforcing, "BETMESH_QUOTES_SPORT": "football", "BETMESH_QUOTES_REPLICA_ID": "fb-1"}
        )
    )
    quotes_port = await quotes.start()
    echo = _echo_host(
        dataclasses.replace(
            local_server_settings(),
            reflection=False,
            auth_mode="tokens",
            identity_address=identity_address,
            identity_issuer=ISSUER,
        )
    )
    echo_port = await echo.start()
    try:
        yield Mesh(
            identity_address, f"127.0.0.1:{quotes_port}", f"127.0.0.1:{echo_port}", secret_file
        )
    finally:
        await echo.stop(0)
        await quotes.stop(0)
        await identity.stop(0)


def _snapshots(pool: ChannelPool, address: str) -> Any:
    stub = quote_service_pb2_grpc.QuoteServiceStub(pool.get(address))
    return stub.ListModelSnapshots(quote_service_pb2.ListModelSnapshotsRequest(), timeout=10)


async def test_calls_through_the_pool_carry_a_service_token_for_the_callee(mesh: Mesh) -> None:
    pool = mesh.pool()
    try:
        listed = await _snapshots(pool, mesh.quotes)
        assert listed.snapshots
        await _snapshots(pool, mesh.quotes)
        assert isinstance(pool.tokens, TokenSource)
        assert pool.tokens.fetches == 1  # cached for the second call
    finally:
        await pool.close()
    anonymous = ChannelPool(tokens=None)
    try:
        code, info, _ = await rpc_error(lambda: _snapshots(anonymous, mesh.quotes))
        assert (code, info and info.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    finally:
        await anonymous.close()


async def test_every_call_kind_is_admitted_as_the_calling_service(mesh: Mesh) -> None:
    pool = mesh.pool()
    channel = pool.get(mesh.echo)
    me = f"{CLIENT_ID}/service".encode()

    async def requests() -> AsyncIterator[bytes]:
        for item in (b"a", b"b"):
            yield item

    try:
        assert await channel.unary_unary(f"/{ECHO}/Who")(b"", timeout=10) == me
        assert [m async for m in channel.unary_stream(f"/{ECHO}/Stream")(b"", timeout=10)] == [
            me,
            me,
        ]
        assert await channel.stream_unary(f"/{ECHO}/Count")(requests(), timeout=10) == me + b":2"
        chat = channel.stream_stream(f"/{ECHO}/Chat")(requests(), timeout=10)
        assert [m async for m in chat] == [b"a:" + me, b"b:" + me]
        # One token for the echo audience, one for quotes would be another.
        assert pool.tokens is not None and pool.tokens.fetches == 1
    finally:
        await pool.close()


async def test_without_a_token_from_identity_the_call_is_unavailable_with_a_reason(
    mesh: Mesh, tmp_path: Path
) -> None:
    down = mesh.pool(BETMESH_IDENTITY_ADDRESS="127.0.0.1:9")  # nothing listens there
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("not-the-secret\n")
    os.chmod(wrong, 0o600)
    refused = mesh.pool(BETMESH_CLIENT_SECRET_FILE=str(wrong))
    try:
        for pool, reason in ((down, "IDENTITY_UNAVAILABLE"), (refused, "SERVICE_TOKEN_REFUSED")):
            code, info, _ = await rpc_error(lambda p=pool: _snapshots(p, mesh.quotes))  # type: ignore[misc]
            assert (code, info and info.reason) == (grpc.StatusCode.UNAVAILABLE, reason)
            stream = pool.get(mesh.echo).unary_stream(f"/{ECHO}/Stream")(b"", timeout=10)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                async for _ in stream:
                    pass
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
            assert reason in (raised.value.details() or "")
    finally:
        await down.close()
        await refused.close()
