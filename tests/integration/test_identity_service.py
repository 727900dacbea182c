"""IdentityService through gRPC: tokens, the JWKS that verifies them, every refusal."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from grpc_status import rpc_status
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from service_runtime.errors import error_info
from service_runtime.server import ServiceHost
from services.identity.app import build
from services.identity.domain.verifier import TokenVerifier
from services.identity.settings import IdentitySettings

CLIENTS = [
    {
        "client_id": "bets-service",
        "secret_sha256": hashlib.sha256(b"bets-secret").hexdigest(),
        "role": "service",
        "audiences": ["betmesh.oracle", "betmesh.live"],
        "scopes": ["results:read"],
    },
    {
        "client_id": "ops",
        "secret_sha256": hashlib.sha256(b"ops-secret").hexdigest(),
        "role": "operator",
        "audiences": ["betmesh.oracle"],
    },
]


def _settings(**extra: str) -> IdentitySettings:
    return IdentitySettings.from_env(
        {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_PORT": "0",
            "BETMESH_IDENTITY_CLIENTS": json.dumps(CLIENTS),
            "BETMESH_IDENTITY_ISSUER": "betmesh-test-issuer",
            "BETMESH_IDENTITY_TOKEN_TTL_SECONDS": "120",
            **extra,
        }
    )


async def _serve(
    settings: IdentitySettings,
) -> AsyncIterator[identity_service_pb2_grpc.IdentityServiceStub]:
    host: ServiceHost = build(settings)
    port = await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield identity_service_pb2_grpc.IdentityServiceStub(channel)
    finally:
        await channel.close()
        await host.stop(0)


@pytest.fixture(scope="module")
async def identity() -> AsyncIterator[identity_service_pb2_grpc.IdentityServiceStub]:
    async for stub in _serve(_settings()):
        yield stub


async def _refusal(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    info = error_info(rpc_status.from_call(caught.value))  # type: ignore[arg-type]
    assert info is not None, caught.value
    return caught.value.code(), info.reason


async def test_issued_token_verifies_against_the_jwks(
    identity: identity_service_pb2_grpc.IdentityServiceStub,
) -> None:
    response = await identity.IssueToken(
        pb.IssueTokenRequest(
            client_id="bets-service",
            client_secret="bets-secret",
            audience="betmesh.oracle",
            scopes=["results:read"],
        )
    )
    assert response.role == pb.ROLE_SERVICE
    jwks = await identity.GetJwks(pb.GetJwksRequest())
    assert len(jwks.keys) == 1
    key = jwks.keys[0]
    assert (key.kty, key.use, key.alg, key.crv) == ("EC", "sig", "ES256", "P-256")
    assert not hasattr(key, "d")  # the contract has no field for the private part

    key_set = KeySet.import_key_set(
        {
            "keys": [
                {
                    "kty": k.kty,
                    "kid": k.kid,
                    "use": k.use,
                    "alg": k.alg,
                    "crv": k.crv,
                    "x": k.x,
                    "y": k.y,
                }
                for k in jwks.keys
            ]
        }
    )
    token = jwt.decode(response.access_token.token, key_set, algorithms=["ES256"])
    assert token.header == {"typ": "at+jwt", "alg": "ES256", "kid": key.kid}
    claims = token.claims
    assert claims["iss"] == "betmesh-test-issuer"
    assert claims["aud"] == "betmesh.oracle"
    assert claims["sub"] == "bets-service"
    assert claims["role"] == "service"
    assert claims["scope"] == "results:read"
    assert claims["exp"] - claims["iat"] == 120
    assert claims["exp"] == response.access_token.expires_at.seconds
    assert claims["jti"]

    # The domain verifier, fed the JWKS as received, accepts it too.
    verifier = TokenVerifier(
        [
            {
                "kty": k.kty,
                "kid": k.kid,
                "use": k.use,
                "alg": k.alg,
                "crv": k.crv,
                "x": k.x,
                "y": k.y,
            }
            for k in jwks.keys
        ],
        issuer="betmesh-test-issuer",
        audience="betmesh.oracle",
    )
    principal = verifier.verify(response.access_token.token)
    assert (principal.subject, principal.role) == ("bets-service", "service")


async def test_each_token_is_unique(
    identity: identity_service_pb2_grpc.IdentityServiceStub,
) -> None:
    request = pb.IssueTokenRequest(
        client_id="ops", client_secret="ops-secret", audience="betmesh.oracle"
    )
    first, second = await identity.IssueToken(request), await identity.IssueToken(request)
    assert first.role == pb.ROLE_OPERATOR
    assert first.access_token.token != second.access_token.token


@pytest.mark.parametrize(
    ("request_", "code", "reason"),
    [
        (
            pb.IssueTokenRequest(client_id="ops", client_secret="wrong", audience="betmesh.oracle"),
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_CLIENT",
        ),
        (
            pb.IssueTokenRequest(
                client_id="nobody", client_secret="ops-secret", audience="betmesh.oracle"
            ),
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_CLIENT",
        ),
        (
            pb.IssueTokenRequest(
                client_id="ops", client_secret="ops-secret", audience="betmesh.bets"
            ),
            grpc.StatusCode.PERMISSION_DENIED,
            "AUDIENCE_NOT_ALLOWED",
        ),
        (
            pb.IssueTokenRequest(
                client_id="ops",
                client_secret="ops-secret",
                audience="betmesh.oracle",
                scopes=["results:read"],
            ),
            grpc.StatusCode.PERMISSION_DENIED,
            "SCOPE_NOT_ALLOWED",
        ),
        (
            pb.IssueTokenRequest(client_secret="ops-secret", audience="betmesh.oracle"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "CLIENT_ID_REQUIRED",
        ),
        (
            pb.IssueTokenRequest(client_id="ops", audience="betmesh.oracle"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "CLIENT_SECRET_REQUIRED",
        ),
        (
            pb.IssueTokenRequest(client_id="ops", client_secret="ops-secret"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "AUDIENCE_REQUIRED",
        ),
        (
            pb.IssueTokenRequest(
                client_id="ops",
                client_secret="ops-secret",
                audience="betmesh.oracle",
                scopes=['bad"scope'],
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "SCOPE_INVALID",
        ),
    ],
)
async def test_refusals(
    identity: identity_service_pb2_grpc.IdentityServiceStub,
    request_: pb.IssueTokenRequest,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    assert await _refusal(identity.IssueToken(request_)) == (code, reason)


async def test_player_rpcs_without_their_configuration(
    identity: identity_service_pb2_grpc.IdentityServiceStub,
) -> None:
    """Tokens only (no database, no FranceConnect, no KYC provider): each player-side RPC says
    which configuration it lacks."""
    not_configured = (grpc.StatusCode.FAILED_PRECONDITION, "FRANCECONNECT_NOT_CONFIGURED")
    no_players = (grpc.StatusCode.FAILED_PRECONDITION, "PLAYERS_NOT_CONFIGURED")
    no_kyc = (grpc.StatusCode.FAILED_PRECONDITION, "KYC_NOT_CONFIGURED")
    calls = [
        (identity.StartFranceConnectLogin(pb.StartFranceConnectLoginRequest()), not_configured),
        (
            identity.CompleteFranceConnectLogin(pb.CompleteFranceConnectLoginRequest()),
            not_configured,
        ),
        (identity.StartFranceConnectLogout(pb.StartFranceConnectLogoutRequest()), not_configured),
        (
            identity.CompleteFranceConnectLogout(pb.CompleteFranceConnectLogoutRequest()),
            not_configured,
        ),
        (identity.RegisterPlayer(pb.RegisterPlayerRequest()), no_kyc),
        (identity.HandleKycWebhook(pb.HandleKycWebhookRequest()), no_kyc),
        (identity.StartKycVerification(pb.StartKycVerificationRequest()), no_players),
        (identity.GetPlayer(pb.GetPlayerRequest(player_id="p1")), no_players),
        (
            identity.SetResponsibleGamblingLimits(pb.SetResponsibleGamblingLimitsRequest()),
            no_players,
        ),
        (
            identity.GetResponsibleGamblingLimits(pb.GetResponsibleGamblingLimitsRequest()),
            no_players,
        ),
        (identity.SelfExclude(pb.SelfExcludeRequest()), no_players),
    ]
    for call, expected in calls:
        assert await _refusal(call) == expected


async def test_signing_key_from_a_pem_file(tmp_path: Path) -> None:
    key = ECKey.generate_key("P-256")
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.as_pem(private=True))
    async for stub in _serve(_settings(BETMESH_IDENTITY_SIGNING_KEY_FILE=str(pem))):
        jwks = await stub.GetJwks(pb.GetJwksRequest())
        assert [k.kid for k in jwks.keys] == [key.thumbprint()]
        issued = await stub.IssueToken(
            pb.IssueTokenRequest(
                client_id="ops", client_secret="ops-secret", audience="betmesh.oracle"
            )
        )
        assert (
            jwt.decode(issued.access_token.token, key, algorithms=["ES256"]).claims["sub"] == "ops"
        )
