"""Tokens everywhere: a real service (the oracle) in BETMESH_AUTH_MODE=tokens, verifying tokens
with keys fetched from a real identity service over gRPC."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from betmesh.identity.v1 import identity_service_pb2 as id_pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from betmesh.oracle.v1 import oracle_service_pb2 as oracle_pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from joserfc import jwt
from joserfc.jwk import ECKey

from service_runtime.server import ServiceHost
from services.identity.app import build as build_identity
from services.identity.settings import IdentitySettings
from services.oracle.app import build as build_oracle
from services.oracle.settings import OracleSettings
from tests.support.grpc_helpers import rpc_error

ISSUER = "betmesh-test-identity"
CLIENTS = [
    {
        "client_id": cid,
        "secret_sha256": hashlib.sha256(f"{cid}-secret".encode()).hexdigest(),
        "role": role,
        "audiences": ["betmesh.oracle", "betmesh.live", "betmesh.identity"],
    }
    for cid, role in (("ops", "operator"), ("partner", "partner"), ("bets", "service"))
]


@dataclass
class Mesh:
    identity: identity_service_pb2_grpc.IdentityServiceStub
    oracle: oracle_service_pb2_grpc.OracleServiceStub
    oracle_channel: grpc.aio.Channel
    key: ECKey

    async def token(self, client_id: str, audience: str = "betmesh.oracle") -> str:
        issued = await self.identity.IssueToken(
            id_pb.IssueTokenRequest(
                client_id=client_id, client_secret=f"{client_id}-secret", audience=audience
            )
        )
        return str(issued.access_token.token)


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[ECKey, Path]:
    key = ECKey.generate_key("P-256")
    path = tmp_path_factory.mktemp("keys") / "identity.pem"
    path.write_bytes(key.as_pem(private=True))
    return key, path


@pytest.fixture(scope="module")
async def mesh(database_url: str, signing_key: tuple[ECKey, Path]) -> AsyncIterator[Mesh]:
    key, path = signing_key
    identity_settings = IdentitySettings.from_env(
        {
            "BETMESH_PORT": "0",
            "BETMESH_AUTH_MODE": "tokens",
            "BETMESH_IDENTITY_ISSUER": ISSUER,
            "BETMESH_IDENTITY_CLIENTS": json.dumps(CLIENTS),
            "BETMESH_IDENTITY_SIGNING_KEY_FILE": str(path),
        }
    )
    identity_host: ServiceHost = build_identity(identity_settings)
    identity_port = await identity_host.start()
    oracle_settings = OracleSettings.from_env(
        {
            "BETMESH_PORT": "0",
            "BETMESH_AUTH_MODE": "tokens",
            "BETMESH_IDENTITY_ADDRESS": f"127.0.0.1:{identity_port}",
            "BETMESH_IDENTITY_ISSUER": ISSUER,
            "BETMESH_DATABASE_URL": database_url,
            "BETMESH_ORACLE_RPC_URLS": "http://127.0.0.1:8545",
            "BETMESH_ORACLE_EVENT_RELAY_INTERVAL_SECONDS": "3600",
        }
    )
    oracle_host = await build_oracle(oracle_settings)
    oracle_port = await oracle_host.start()
    identity_channel = grpc.aio.insecure_channel(f"127.0.0.1:{identity_port}")
    oracle_channel = grpc.aio.insecure_channel(f"127.0.0.1:{oracle_port}")
    try:
        yield Mesh(
            identity_service_pb2_grpc.IdentityServiceStub(identity_channel),
            oracle_service_pb2_grpc.OracleServiceStub(oracle_channel),
            oracle_channel,
            key,
        )
    finally:
        await identity_channel.close()
        await oracle_channel.close()
        await oracle_host.stop(0)
        await identity_host.stop(0)


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def _crafted(key: ECKey, kid: str, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "betmesh.oracle",
        "sub": "ops",
        "role": "operator",
        "scope": "",
        "iat": now,
        "exp": now + 60,
        "jti": "j",
    }
    claims.update(changes)
    return jwt.encode({"typ": "at+jwt", "alg": "ES256", "kid": kid}, claims, key)


async def _refusal(call: Callable[[], Awaitable[object]]) -> tuple[grpc.StatusCode, str]:
    code, info, _ = await rpc_error(call)
    return code, info.reason if info is not None else ""


async def test_an_operator_token_is_admitted(mesh: Mesh) -> None:
    token = await mesh.token("ops")
    await mesh.oracle.ListHeldResults(oracle_pb.ListHeldResultsRequest(), metadata=_bearer(token))
    # Past authentication, the service's own answers come through.
    code, _ = await _refusal(
        lambda: mesh.oracle.GetResult(
            oracle_pb.GetResultRequest(fixture_id="fx-none"), metadata=_bearer(token)
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND


async def test_missing_and_malformed_tokens_are_unauthenticated(mesh: Mesh) -> None:
    request = oracle_pb.ListHeldResultsRequest()
    assert await _refusal(lambda: mesh.oracle.ListHeldResults(request)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_MISSING",
    )
    for header in ("Basic b3BzOnNlY3JldA==", "Bearer ", "Bearer not.a.jwt"):
        code, _ = await _refusal(
            lambda h=header: mesh.oracle.ListHeldResults(request, metadata=(("authorization", h),))  # type: ignore[misc]
        )
        assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_expired_wrongly_signed_and_wrong_audience_tokens(mesh: Mesh) -> None:
    kid = mesh.key.thumbprint()
    request = oracle_pb.ListHeldResultsRequest()
    past = int(time.time()) - 3600
    cases = [
        (_crafted(mesh.key, kid, iat=past, exp=past + 300), "TOKEN_EXPIRED"),
        (_crafted(ECKey.generate_key("P-256"), kid), "TOKEN_SIGNATURE_INVALID"),
        (_crafted(ECKey.generate_key("P-256"), "not-ours"), "TOKEN_KEY_UNKNOWN"),
        (await mesh.token("ops", audience="betmesh.live"), "TOKEN_AUDIENCE_INVALID"),
        (_crafted(mesh.key, kid, iss="someone-else"), "TOKEN_ISSUER_INVALID"),
    ]
    for token, reason in cases:
        assert await _refusal(
            lambda t=token: mesh.oracle.ListHeldResults(request, metadata=_bearer(t))  # type: ignore[misc]
        ) == (
            grpc.StatusCode.UNAUTHENTICATED,
            reason,
        )
    # A correctly signed token that is not an access token (e.g. an ID token).
    id_token = jwt.encode(
        {"alg": "ES256", "kid": kid}, {"iss": ISSUER, "aud": "betmesh.oracle"}, mesh.key
    )
    assert await _refusal(
        lambda: mesh.oracle.ListHeldResults(request, metadata=_bearer(id_token))
    ) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_TYPE_INVALID")


async def test_a_role_the_service_does_not_serve_is_permission_denied(mesh: Mesh) -> None:
    token = await mesh.token("partner")
    request = oracle_pb.ListHeldResultsRequest()
    assert await _refusal(
        lambda: mesh.oracle.ListHeldResults(request, metadata=_bearer(token))
    ) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    player = _crafted(mesh.key, mesh.key.thumbprint(), sub="p1", role="player")
    assert await _refusal(
        lambda: mesh.oracle.ListHeldResults(request, metadata=_bearer(player))
    ) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


async def test_health_and_reflection_stay_open(mesh: Mesh) -> None:
    health = health_pb2_grpc.HealthStub(mesh.oracle_channel)
    answer = await health.Check(health_pb2.HealthCheckRequest())
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(mesh.oracle_channel)
    stream = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    async for response in stream:
        names = {s.name for s in response.list_services_response.service}
        assert "betmesh.oracle.v1.OracleService" in names
        break


async def test_identity_itself_opens_only_the_token_and_login_rpcs(mesh: Mesh) -> None:
    await mesh.identity.GetJwks(id_pb.GetJwksRequest())
    request = id_pb.GetPlayerRequest(player_id="00000000-0000-0000-0000-000000000000")
    assert await _refusal(lambda: mesh.identity.GetPlayer(request)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_MISSING",
    )
    token = await mesh.token("ops", audience="betmesh.identity")
    # Authenticated; this identity service runs without a database.
    assert await _refusal(lambda: mesh.identity.GetPlayer(request, metadata=_bearer(token))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PLAYERS_NOT_CONFIGURED",
    )
