"""Client configuration and client authentication."""

from __future__ import annotations

import hashlib
import json

import pytest

from service_runtime.errors import InvalidArgument, PermissionDenied, Unauthenticated
from service_runtime.settings import SettingsError
from services.identity.domain.clients import ClientRegistry, ClientRole, parse_clients
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.tokens import TokenIssuer, TokenRequest
from services.identity.settings import IdentitySettings

SECRET_HASH = hashlib.sha256(b"pw").hexdigest()


def _clients_json(**overrides: object) -> str:
    entry = {
        "client_id": "op",
        "secret_sha256": SECRET_HASH,
        "role": "operator",
        "audiences": ["betmesh.oracle"],
        **overrides,
    }
    return json.dumps([entry])


def test_parse_and_authenticate() -> None:
    (client,) = parse_clients(_clients_json())
    assert client.role is ClientRole.OPERATOR
    assert client.audiences == {"betmesh.oracle"}
    registry = ClientRegistry([client])
    assert registry.authenticate("op", "pw") is client
    for client_id, secret in [("op", "wrong"), ("nobody", "pw"), ("op", "")]:
        with pytest.raises(Unauthenticated) as caught:
            registry.authenticate(client_id, secret)
        assert caught.value.reason == "INVALID_CLIENT"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("{}", "JSON list"),
        (_clients_json(client_id=""), "client_id"),
        (_clients_json(secret_sha256="abc"), "secret_sha256"),
        (_clients_json(role="admin"), "role"),
        (_clients_json(audiences="betmesh.oracle"), "audiences"),
        (_clients_json(scopes=[1]), "scopes"),
        (json.dumps([json.loads(_clients_json())[0]] * 2), "twice"),
    ],
)
def test_bad_client_configuration(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_clients(text)


def test_settings_defaults_and_fail_fast() -> None:
    settings = IdentitySettings.from_env({"BETMESH_PORT": "0"})
    assert settings.issuer == "betmesh-identity"
    assert settings.token_ttl_seconds == 300
    assert settings.clients == ()
    assert settings.signing_key_file is None
    with pytest.raises(SettingsError) as caught:
        IdentitySettings.from_env(
            {
                "BETMESH_IDENTITY_CLIENTS": "[{}]",
                "BETMESH_IDENTITY_TOKEN_TTL_SECONDS": "0",
                "BETMESH_IDENTITY_SIGNING_KEY_FILE": "/nonexistent.pem",
            }
        )
    text = str(caught.value)
    for name in ("CLIENTS", "TOKEN_TTL_SECONDS", "SIGNING_KEY_FILE"):
        assert f"BETMESH_IDENTITY_{name}" in text


def test_scopes_are_limited_to_the_configured_ones() -> None:
    (client,) = parse_clients(_clients_json(scopes=["results:resolve"]))
    issuer = TokenIssuer(ClientRegistry([client]), KeyRing(SigningKey.generate()), "i", 60)
    issuer.issue(TokenRequest("op", "pw", "betmesh.oracle", ["results:resolve"]))
    with pytest.raises(PermissionDenied) as denied:
        issuer.issue(TokenRequest("op", "pw", "betmesh.oracle", ["results:resolve", "admin"]))
    assert denied.value.reason == "SCOPE_NOT_ALLOWED"
    with pytest.raises(InvalidArgument) as invalid:
        issuer.issue(TokenRequest("op", "pw", "betmesh.oracle", ["has space"]))
    assert invalid.value.reason == "SCOPE_INVALID"
