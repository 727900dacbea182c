"""Access tokens for the client-credentials grant: JWTs per RFC 9068, signed ES256."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from joserfc import jwt

from service_runtime.errors import InvalidArgument
from services.identity.domain.clients import ClientRegistry, ClientRole
from services.identity.domain.keys import ALGORITHM, KeyRing

TOKEN_TYPE = "at+jwt"
# RFC 6749 section 3.3 scope-token characters.
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


@dataclass(frozen=True)
class TokenRequest:
    client_id: str
    client_secret: str
    audience: str
    scopes: Sequence[str] = ()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int  # seconds since the epoch
    role: ClientRole


def _validate(request: TokenRequest) -> list[str]:
    missing = [
        (name, reason)
        for name, reason, value in (
            ("client_id", "CLIENT_ID_REQUIRED", request.client_id),
            ("client_secret", "CLIENT_SECRET_REQUIRED", request.client_secret),
            ("audience", "AUDIENCE_REQUIRED", request.audience),
        )
        if not value
    ]
    if missing:
        names = ", ".join(name for name, _ in missing)
        raise InvalidArgument(missing[0][1], f"required: {names}", {"fields": names})
    bad = [s for s in request.scopes if not _SCOPE_TOKEN.match(s)]
    if bad:
        raise InvalidArgument("SCOPE_INVALID", f"malformed scopes: {bad!r}")
    return list(dict.fromkeys(request.scopes))


class TokenIssuer:
    def __init__(
        self,
        clients: ClientRegistry,
        keys: KeyRing,
        issuer: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = clients
        self.keys = keys
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def issue(self, request: TokenRequest) -> IssuedToken:
        scopes = _validate(request)
        client = self.clients.authenticate(request.client_id, request.client_secret)
        self.clients.authorise(client, request.audience, scopes)
        now = int(self.clock())
        expires_at = now + self.ttl_seconds
        signing = self.keys.active
        header = {"typ": TOKEN_TYPE, "alg": ALGORITHM, "kid": signing.kid}
        claims = {
            "iss": self.issuer,
            "aud": request.audience,
            "sub": client.client_id,
            "client_id": client.client_id,
            "role": client.role.value,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": expires_at,
            "jti": str(uuid.uuid4()),
        }
        token = jwt.encode(header, claims, signing.key, algorithms=[ALGORITHM])
        return IssuedToken(token=token, expires_at=expires_at, role=client.role)


@dataclass(frozen=True)
class PlayerToken:
    token: str
    expires_at: int


def issue_player_token(
    issuer: TokenIssuer,
    player_id: str,
    kyc_status: str,
    audiences: Sequence[str],
    scopes: Sequence[str] = (),
) -> PlayerToken:
    """A player's access token after a verified login: role player and the KYC level, which
    bets checks before taking stakes or paying out."""
    now = int(issuer.clock())
    expires_at = now + issuer.ttl_seconds
    signing = issuer.keys.active
    claims = {
        "iss": issuer.issuer,
        "aud": list(audiences),
        "sub": player_id,
        "role": "player",
        "scope": " ".join(scopes),
        "kyc_status": kyc_status,
        "iat": now,
        "exp": expires_at,
        "jti": str(uuid.uuid4()),
    }
    header = {"typ": TOKEN_TYPE, "alg": ALGORITHM, "kid": signing.kid}
    return PlayerToken(jwt.encode(header, claims, signing.key, algorithms=[ALGORITHM]), expires_at)
