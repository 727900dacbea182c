"""Identity settings: FranceConnect, the paid provider and auth mode fail fast when incomplete;
discovery refuses a document naming another issuer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from service_runtime.errors import FailedPrecondition
from service_runtime.settings import SettingsError
from services.identity.domain.franceconnect import FranceConnectConfig
from services.identity.domain.players import VerifiedIdentity
from services.identity.service_layer.franceconnect import FranceConnect
from services.identity.settings import IdentitySettings

DB = {"BETMESH_DATABASE_URL": "postgresql://x/y", "BETMESH_REDIS_URL": "redis://x/0"}


def test_franceconnect_needs_its_client_and_allow_list() -> None:
    with pytest.raises(SettingsError) as failed:
        IdentitySettings.from_env({**DB, "BETMESH_IDENTITY_FRANCECONNECT_ISSUER": "https://fc"})
    message = str(failed.value)
    for name in ("CLIENT_ID", "CLIENT_SECRET", "REDIRECT_URI", "POST_LOGOUT_REDIRECT_URI"):
        assert f"BETMESH_IDENTITY_FRANCECONNECT_{name} is required" in message
    assert "BETMESH_IDENTITY_RETURN_TO_ALLOWED is required" in message


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"BETMESH_IDENTITY_KYC_PROVIDER": "veriff"}, "only ubble is built"),
        ({"BETMESH_IDENTITY_KYC_PROVIDER": "ubble"}, "BETMESH_IDENTITY_UBBLE_API_URL"),
        ({"BETMESH_AUTH_MODE": "maybe"}, "BETMESH_AUTH_MODE"),
        ({"BETMESH_IDENTITY_EXCLUSION_FILE": "/nonexistent"}, "is not a file"),
        ({"BETMESH_ENVIRONMENT": "production"}, "EXCLUSION_FILE is required in production"),
    ],
)
def test_incomplete_configuration_fails_fast(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        IdentitySettings.from_env({**DB, **environ})


def test_tokens_only_without_a_database() -> None:
    settings = IdentitySettings.from_env({})
    assert settings.database_url is None and settings.franceconnect is None
    assert settings.ubble is None


class Transport:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    async def get_json(self, url: str) -> Mapping[str, Any]:
        return self.document

    async def post_form(self, url: str, form: Mapping[str, str]) -> Mapping[str, Any]:
        raise AssertionError("not reached")

    async def get_with_bearer(self, url: str, token: str) -> tuple[str, str]:
        raise AssertionError("not reached")


class Nobody:
    def is_excluded(self, identity: VerifiedIdentity) -> bool:
        return False


async def test_discovery_for_another_issuer_is_refused() -> None:
    config = FranceConnectConfig(
        issuer="https://fc.example/api/v2",
        client_id="c",
        client_secret="s",
        redirect_uri="https://app.example/cb",
        post_logout_redirect_uri="https://app.example/out",
        return_to_allowed=("https://app.example/",),
    )
    document = {"issuer": "https://evil.example/api/v2"}
    fc = FranceConnect(config, Transport(document), None, None, Nobody(), None)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition) as refused:
        await fc.start_login("https://app.example/", None, "b" * 43)
    assert refused.value.reason == "FRANCECONNECT_DISCOVERY_ISSUER_MISMATCH"
    incomplete = {"issuer": config.issuer, "authorization_endpoint": "https://fc.example/a"}
    fc = FranceConnect(config, Transport(incomplete), None, None, Nobody(), None)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition) as refused:
        await fc.start_login("https://app.example/", None, "b" * 43)
    assert refused.value.reason == "FRANCECONNECT_DISCOVERY_INCOMPLETE"
