"""FranceConnect's rules without the flow (services/identity/domain/franceconnect.py): which
callback may complete which attempt, and which discovery document is ours. The flow end to end,
against a provider: tests/integration/test_identity_franceconnect.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from service_runtime.errors import DomainError
from services.identity.domain.franceconnect import (
    Callback,
    FranceConnectConfig,
    authorization_url,
    check_callback,
    check_discovery,
    check_login_request,
    login_attempt,
    pkce_challenge,
    pkce_verifier,
)

ISSUER = "https://fc.test"
BINDING = "b" * 43
CONFIG = FranceConnectConfig(
    issuer=ISSUER,
    client_id="rp",
    client_secret="s",
    redirect_uri="https://betmesh.test/callback",
    post_logout_redirect_uri="https://betmesh.test/bye",
    return_to_allowed=("https://betmesh.test/app",),
)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.reason


def test_a_sign_in_starts_only_bound_to_a_browser_and_returning_to_an_allowed_page() -> None:
    assert check_login_request(CONFIG, "https://betmesh.test/app/x", None, BINDING) == (
        BINDING,
        "eidas1",
    )
    assert reason(
        lambda: check_login_request(CONFIG, "https://betmesh.test/app", None, "short")
    ) == ("BROWSER_BINDING_REQUIRED")
    assert (
        reason(
            lambda: check_login_request(CONFIG, "https://betmesh.test/application", None, BINDING)
        )
        == "RETURN_TO_NOT_ALLOWED"
    )
    assert (
        reason(lambda: check_login_request(CONFIG, "https://betmesh.test/app", "eidas9", BINDING))
        == "ASSURANCE_LEVEL_INVALID"
    )


def test_the_authorization_url_carries_the_attempts_state_nonce_and_pkce_challenge() -> None:
    attempt = login_attempt("eidas2", "https://betmesh.test/app", BINDING, NOW)
    query = parse_qs(
        urlsplit(authorization_url(f"{ISSUER}/authorize", CONFIG, attempt, BINDING)).query
    )
    assert query["state"] == [attempt.state] and query["nonce"] == [attempt.nonce]
    assert query["acr_values"] == ["eidas2"]
    assert query["code_challenge"] == [pkce_challenge(pkce_verifier(BINDING, attempt.state))]


def test_a_callback_completes_only_its_own_browsers_attempt_from_our_issuer() -> None:
    attempt = login_attempt("eidas1", "https://betmesh.test/app", BINDING, NOW)
    good = Callback("code", attempt.state, ISSUER)
    assert check_callback(good, attempt, BINDING, ISSUER) == attempt
    assert reason(lambda: check_callback(good, None, BINDING, ISSUER)) == "LOGIN_ATTEMPT_UNKNOWN"
    # The browser is checked before anything the callback says.
    assert (
        reason(
            lambda: check_callback(
                replace(good, iss="https://evil.test"), attempt, "c" * 43, ISSUER
            )
        )
        == "LOGIN_NOT_FROM_THIS_BROWSER"
    )
    assert (
        reason(
            lambda: check_callback(replace(good, error="access_denied"), attempt, BINDING, ISSUER)
        )
        == "FRANCECONNECT_LOGIN_FAILED"
    )
    assert (
        reason(
            lambda: check_callback(replace(good, iss="https://evil.test"), attempt, BINDING, ISSUER)
        )
        == "CALLBACK_ISSUER_MISMATCH"
    )
    assert reason(lambda: check_callback(replace(good, code=""), attempt, BINDING, ISSUER)) == (
        "CODE_REQUIRED"
    )


def test_only_our_issuers_complete_discovery_document_is_used() -> None:
    found = {
        "issuer": ISSUER,
        **{
            e: f"{ISSUER}/{e}"
            for e in (
                "authorization_endpoint",
                "token_endpoint",
                "userinfo_endpoint",
                "jwks_uri",
                "end_session_endpoint",
            )
        },
    }
    assert check_discovery(found, ISSUER) == found
    assert reason(lambda: check_discovery({**found, "issuer": "https://evil.test"}, ISSUER)) == (
        "FRANCECONNECT_DISCOVERY_ISSUER_MISMATCH"
    )
    assert reason(lambda: check_discovery({**found, "jwks_uri": None}, ISSUER)) == (
        "FRANCECONNECT_DISCOVERY_INCOMPLETE"
    )
