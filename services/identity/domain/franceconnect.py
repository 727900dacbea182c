"""FranceConnect v2 relying party: the authorization code flow, strict at every step.

Start: a login attempt binds a fresh state and nonce (each 43 characters of 256-bit randomness)
to the requested assurance level and return target, and yields the authorization URL.
Complete: the attempt is taken by its state (single use, whatever happens next), the callback's
`iss` must be our provider's (RFC 9207 mix-up defence), the code is exchanged with
client_secret_post, the ID token and the signed userinfo JWT are verified (see oidc.py), and
only then does the verified identity reach the ANJ checks and the player record. The rules of
each step are here; the flow that runs them over the provider, the login store and the player
store is services/identity/service_layer/franceconnect.py.
FranceConnect+ is the same flow with eidas2 and both tokens encrypted to our key (JWE), which
`decryption_key` turns on.

Bound to the browser: the edge starts a sign-in with a fresh secret it also puts in the
browser's HttpOnly cookie (the "browser binding"). The attempt keeps only its SHA-256, and the
PKCE code_verifier (S256) is derived from the secret and the state, never stored: a callback
URL opened anywhere else (a second browser, an attacker's link, a leaked URL) has neither the
cookie nor the verifier, so it is refused here and the provider would refuse the code too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated
from services.identity.domain import oidc
from services.identity.domain.players import (
    Player,
)

ATTEMPT_LIFETIME = timedelta(minutes=10)
DEFAULT_SCOPES = ("openid", "identite_pivot")
_REQUIRED_ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
)


@dataclass(frozen=True)
class LoginAttempt:
    attempt_id: str
    state: str
    nonce: str
    acr: str
    return_to: str
    expires_at: datetime
    # SHA-256 (hex) of the secret in the browser's sign-in cookie: only that browser completes.
    browser_binding_sha256: str = ""


@dataclass(frozen=True)
class FranceConnectSession:
    session_id: str
    player_id: str
    id_token: str  # kept only as the id_token_hint logout requires


class ProviderRefused(Exception):
    """The provider answered with an OAuth error (e.g. invalid_grant for a used code)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class FranceConnectConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    post_logout_redirect_uri: str
    return_to_allowed: tuple[str, ...]
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    acr: str = "eidas1"
    algorithms: tuple[str, ...] = ("ES256", "RS256")
    leeway_seconds: int = 30
    jwks_min_refresh_seconds: float = 10.0
    # The provider's keys are re-fetched before use once this old: removed keys stop counting.
    jwks_max_age_seconds: float = 300.0
    # FranceConnect+: our private key the ID token and userinfo are encrypted to (JWE).
    decryption_key: oidc.Key | None = None


@dataclass(frozen=True)
class Callback:
    code: str
    state: str
    iss: str
    error: str = ""
    error_description: str = ""


@dataclass(frozen=True)
class CompletedLogin:
    player: Player
    return_to: str
    session_id: str


def _secret() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, over FranceConnect's 32 minimum


# The edge's cookie secret: URL-safe base64 of at least 192 bits (it sends 256).
_BINDING = re.compile(r"[A-Za-z0-9_-]{32,128}")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def binding_digest(binding: str) -> str:
    return hashlib.sha256(binding.encode("ascii")).hexdigest()


def pkce_verifier(binding: str, state: str) -> str:
    """RFC 7636 code_verifier (43 unreserved characters) only the bound browser's secret gives."""
    return _b64url(hmac.new(binding.encode("ascii"), b"pkce:" + state.encode(), "sha256").digest())


def pkce_challenge(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _check_binding(binding: str) -> str:
    if not isinstance(binding, str) or not _BINDING.fullmatch(binding):
        raise InvalidArgument(
            "BROWSER_BINDING_REQUIRED",
            "a sign-in is started by the edge's /auth/franceconnect/login, which binds it to the"
            " browser",
        )
    return binding


def _return_to_allowed(return_to: str, allowed: tuple[str, ...]) -> bool:
    """Exact origin and path prefix on a path boundary: no open redirect via look-alikes."""
    target = urlsplit(return_to)
    if not target.scheme or not target.netloc or target.username or target.password:
        return False
    for entry in allowed:
        base = urlsplit(entry)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            continue
        prefix = base.path.rstrip("/")
        if target.path == prefix or target.path.startswith(prefix + "/") or not prefix:
            return True
    return False


def check_discovery(found: Mapping[str, Any], issuer: str) -> Mapping[str, Any]:
    """The provider's discovery document, if it is our issuer's and names every endpoint."""
    # A discovery document for another issuer is the mix-up attack's first step.
    if found.get("issuer") != issuer:
        raise FailedPrecondition(
            "FRANCECONNECT_DISCOVERY_ISSUER_MISMATCH",
            "the discovery document names another issuer",
        )
    absent = [e for e in _REQUIRED_ENDPOINTS if not isinstance(found.get(e), str)]
    if absent:
        raise FailedPrecondition(
            "FRANCECONNECT_DISCOVERY_INCOMPLETE", "missing: " + ", ".join(absent)
        )
    return found


def check_login_request(
    config: FranceConnectConfig, return_to: str, acr: str | None, browser_binding: str
) -> tuple[str, str]:
    """(the browser binding, the assurance level) of a sign-in that may start."""
    binding = _check_binding(browser_binding)
    if not _return_to_allowed(return_to, config.return_to_allowed):
        raise InvalidArgument("RETURN_TO_NOT_ALLOWED", "return_to is not on the allow-list")
    level = acr or config.acr
    if oidc.acr_rank(level) == 0:
        raise InvalidArgument("ASSURANCE_LEVEL_INVALID", f"unknown level {level!r}")
    return binding, level


def login_attempt(level: str, return_to: str, binding: str, now: datetime) -> LoginAttempt:
    """A fresh attempt: its state and nonce, bound to the browser by the binding's digest."""
    return LoginAttempt(
        attempt_id=str(uuid.uuid4()),
        state=_secret(),
        nonce=_secret(),
        acr=level,
        return_to=return_to,
        expires_at=now + ATTEMPT_LIFETIME,
        browser_binding_sha256=binding_digest(binding),
    )


def authorization_url(
    endpoint: str, config: FranceConnectConfig, attempt: LoginAttempt, binding: str
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": config.redirect_uri,
            "scope": " ".join(config.scopes),
            "acr_values": attempt.acr,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": pkce_challenge(pkce_verifier(binding, attempt.state)),
            "code_challenge_method": "S256",
            "prompt": "login",
            # amr in the ID token, as FranceConnect documents it.
            "claims": json.dumps({"id_token": {"amr": {"essential": True}}}),
        }
    )
    return f"{endpoint}?{query}"


def check_callback_state(callback: Callback) -> None:
    if not callback.state:
        raise InvalidArgument("STATE_REQUIRED", "the callback carries no state")


def check_callback(
    callback: Callback, attempt: LoginAttempt | None, browser_binding: str, issuer: str
) -> LoginAttempt:
    """The attempt this callback may complete (already taken: whatever fails here, its state and
    nonce are spent)."""
    if attempt is None:
        raise FailedPrecondition("LOGIN_ATTEMPT_UNKNOWN", "unknown, expired or already used state")
    # Before anything the callback says: only the browser that started it may finish it.
    bound = isinstance(browser_binding, str) and _BINDING.fullmatch(browser_binding)
    if (
        not bound
        or not attempt.browser_binding_sha256
        or not hmac.compare_digest(binding_digest(browser_binding), attempt.browser_binding_sha256)
    ):
        raise Unauthenticated(
            "LOGIN_NOT_FROM_THIS_BROWSER",
            "this sign-in was started in another browser (or its cookie is gone)",
        )
    if callback.error:
        raise FailedPrecondition(
            "FRANCECONNECT_LOGIN_FAILED",
            f"FranceConnect answered {callback.error}",
            {"error": callback.error[:100]},
        )
    if callback.iss != issuer:
        raise Unauthenticated("CALLBACK_ISSUER_MISMATCH", "the callback is from another issuer")
    if not callback.code:
        raise InvalidArgument("CODE_REQUIRED", "the callback carries no code")
    return attempt


def token_request(
    config: FranceConnectConfig, callback: Callback, attempt: LoginAttempt, browser_binding: str
) -> dict[str, str]:
    """The code exchange's form (client_secret_post, PKCE)."""
    return {
        "grant_type": "authorization_code",
        "code": callback.code,
        "redirect_uri": config.redirect_uri,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "code_verifier": pkce_verifier(browser_binding, attempt.state),
    }


def code_rejected(refused: ProviderRefused) -> Unauthenticated:
    return Unauthenticated(
        "CODE_REJECTED", "FranceConnect refused the code", {"error": refused.error[:100]}
    )


def issued_tokens(tokens: Mapping[str, Any]) -> tuple[str, str]:
    """(ID token, access token) of the token response."""
    id_token, access_token = tokens.get("id_token"), tokens.get("access_token")
    if not isinstance(id_token, str) or not isinstance(access_token, str):
        raise Unauthenticated("TOKEN_RESPONSE_INVALID", "no ID token or access token")
    return id_token, access_token


def expected_claims(config: FranceConnectConfig, attempt: LoginAttempt) -> oidc.Expected:
    return oidc.Expected(
        issuer=config.issuer,
        client_id=config.client_id,
        nonce=attempt.nonce,
        acr=attempt.acr,
        leeway_seconds=config.leeway_seconds,
    )


def check_userinfo_type(content_type: str) -> None:
    if content_type.split(";", maxsplit=1)[0].strip().lower() != "application/jwt":
        raise Unauthenticated("USERINFO_NOT_SIGNED", "userinfo must be a signed JWT")


def new_session(player: Player, id_token: str) -> FranceConnectSession:
    return FranceConnectSession(str(uuid.uuid4()), player.player_id, id_token)


def check_session(session: FranceConnectSession | None) -> FranceConnectSession:
    if session is None:
        raise NotFound("SESSION_NOT_FOUND", "no such FranceConnect session")
    return session


def logout_state() -> str:
    return _secret()


def logout_url(
    endpoint: str, config: FranceConnectConfig, session: FranceConnectSession, state: str
) -> str:
    query = urlencode(
        {
            "id_token_hint": session.id_token,
            "state": state,
            "post_logout_redirect_uri": config.post_logout_redirect_uri,
        }
    )
    return f"{endpoint}?{query}"


def check_logout_state(state: str) -> None:
    if not state:
        raise InvalidArgument("STATE_REQUIRED", "the logout callback carries no state")


def logout_unknown() -> FailedPrecondition:
    return FailedPrecondition(
        "LOGOUT_STATE_UNKNOWN", "unknown, expired or already used logout state"
    )
