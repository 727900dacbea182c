"""Verifying betmesh access tokens: the check behind every authenticated RPC of every service.

`TokenVerifier` checks one token against a key set. Everything the header says is distrusted until
checked against our own expectations: the algorithm must be on the allow-list (no "none", no HMAC
with a public key as secret), the key must be one of ours by kid (never one the token carries),
the type must be at+jwt so an ID token or another JWT cannot pass as an access token (RFC 9068
section 4).

`TokenAuthenticator` is the `service_runtime.auth.Authenticator` services run with when
BETMESH_AUTH_MODE=tokens: it reads `authorization: Bearer <jwt>`, keeps the identity service's
JWKS (GetJwks at BETMESH_IDENTITY_ADDRESS), re-fetches it on a schedule and, rate-limited, when a
token names a kid it does not know (the identity service publishes a key before signing with it)
or fails its signature (a key replaced under the same kid), checks the audience is this service,
then the role the method declares in its contract (service_runtime.method_rules).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey
from opentelemetry import trace

from service_runtime.auth import Principal
from service_runtime.errors import PermissionDenied, Unauthenticated, Unavailable
from service_runtime.method_rules import (
    KNOWN_ROLES,
    PUBLIC_ROLE,
    MethodRule,
    UndeclaredMethod,
    rule_for,
)
from service_runtime.settings import ServerSettings

log = logging.getLogger(__name__)

ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
__all__ = ["ACCEPTED_TYPES", "KNOWN_ROLES", "PUBLIC_ROLE", "TokenAuthenticator", "TokenVerifier"]
# Retried once after a re-fetch of the key set: a key we do not have yet, or one the identity
# service replaced under the same kid.
_STALE_KEY_REASONS = frozenset({"TOKEN_KEY_UNKNOWN", "TOKEN_SIGNATURE_INVALID"})


def _fail(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(reason, message)


def jwt_segment(segment: str) -> Any:
    """A JWT header or payload, decoded without verifying anything (to pick the key)."""
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def is_json_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class TokenVerifier:
    def __init__(
        self,
        jwks: Iterable[Mapping[str, str]],
        *,
        issuer: str,
        audience: str,
        algorithms: Collection[str] = ("ES256",),
        leeway_seconds: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.algorithms = frozenset(algorithms)
        self.leeway_seconds = leeway_seconds
        self.clock = clock
        self._keys: dict[str, tuple[str, ECKey]] = {}
        self.replace_keys(jwks)

    def replace_keys(self, jwks: Iterable[Mapping[str, str]]) -> None:
        """Swaps in a freshly fetched key set (rotation publishes new keys before use)."""
        keys: dict[str, tuple[str, ECKey]] = {}
        for jwk in jwks:
            kid, alg = jwk.get("kid"), jwk.get("alg")
            if not kid or jwk.get("kty") != "EC" or jwk.get("use", "sig") != "sig":
                continue
            if alg not in self.algorithms:
                continue
            public: dict[str, str | list[str]] = {
                k: jwk[k] for k in ("kty", "crv", "x", "y") if k in jwk
            }
            try:
                keys[kid] = (alg, ECKey.import_key(public))
            except (JoseError, ValueError, TypeError):
                continue  # one malformed entry must not take the others down
        self._keys = keys

    def verify(self, token: str) -> Principal:
        """The caller the token names; UNAUTHENTICATED with a TOKEN_* reason otherwise."""
        header = self._header(token)
        if str(header.get("typ", "")).lower() not in ACCEPTED_TYPES:
            raise _fail("TOKEN_TYPE_INVALID", "not an access token (typ must be at+jwt)")
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise _fail("TOKEN_ALGORITHM_NOT_ALLOWED", f"algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        known = self._keys.get(kid) if isinstance(kid, str) else None
        if known is None:
            raise _fail("TOKEN_KEY_UNKNOWN", "the token's signing key is not one of ours")
        key_alg, key = known
        if key_alg != alg:
            raise _fail("TOKEN_ALGORITHM_NOT_ALLOWED", "algorithm does not match the key")
        try:
            decoded = jwt.decode(token, key, algorithms=[key_alg])
        except BadSignatureError:
            raise _fail("TOKEN_SIGNATURE_INVALID", "bad signature") from None
        except (JoseError, ValueError):
            raise _fail("TOKEN_MALFORMED", "not a valid JWT") from None
        return self._principal(decoded.claims)

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or not all(parts[:2]):
            raise _fail("TOKEN_MALFORMED", "not a compact JWS")
        try:
            header = jwt_segment(parts[0])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise _fail("TOKEN_MALFORMED", "unreadable header") from None
        if not isinstance(header, dict):
            raise _fail("TOKEN_MALFORMED", "header is not an object")
        return header

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        missing = [
            name
            for name in ("iss", "aud", "sub", "exp", "iat", "jti", "role")
            if name not in claims
        ]
        if missing:
            raise _fail("TOKEN_CLAIM_MISSING", "missing claims: " + ", ".join(missing))
        if claims["iss"] != self.issuer:
            raise _fail("TOKEN_ISSUER_INVALID", "issued by someone else")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if self.audience not in audiences:
            raise _fail("TOKEN_AUDIENCE_INVALID", f"not a token for {self.audience}")
        exp, iat = claims["exp"], claims["iat"]
        if not is_json_int(exp) or not is_json_int(iat):
            raise _fail("TOKEN_MALFORMED", "exp and iat must be integers")
        now = self.clock()
        if now >= exp + self.leeway_seconds:
            raise _fail("TOKEN_EXPIRED", "the token has expired")
        if iat > now + self.leeway_seconds:
            raise _fail("TOKEN_NOT_YET_VALID", "the token is issued in the future")
        nbf = claims.get("nbf")
        if nbf is not None and (not is_json_int(nbf) or nbf > now + self.leeway_seconds):
            raise _fail("TOKEN_NOT_YET_VALID", "the token is not valid yet")
        role = claims["role"]
        if role not in KNOWN_ROLES:
            raise _fail("TOKEN_ROLE_INVALID", "unknown role")
        sub, scope = claims["sub"], claims.get("scope", "")
        if not isinstance(sub, str) or not sub or not isinstance(scope, str):
            raise _fail("TOKEN_MALFORMED", "sub and scope must be strings")
        return Principal(
            subject=sub, role=role, scopes=frozenset(scope.split()), claims=dict(claims)
        )


JwksFetcher = Callable[[], Awaitable[list[dict[str, str]]]]
# Method path (e.g. "/betmesh.oracle.v1.OracleService/PublishResult") -> its declared rule.
RuleLookup = Callable[[str], MethodRule]


def grpc_jwks_fetcher(address: str) -> JwksFetcher:
    """Fetches the identity service's public keys with its GetJwks RPC."""
    import grpc
    from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc

    from service_runtime.channels import ChannelPool

    pool = ChannelPool(tokens=None)  # GetJwks is open; no token to get one

    async def fetch() -> list[dict[str, str]]:
        stub = identity_service_pb2_grpc.IdentityServiceStub(pool.get(address))
        try:
            answer = await stub.GetJwks(identity_service_pb2.GetJwksRequest(), timeout=5.0)
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(
                "IDENTITY_UNAVAILABLE", f"cannot fetch signing keys: {exc.code().name}"
            ) from None
        fields = ("kty", "kid", "use", "alg", "crv", "x", "y")
        return [{f: getattr(key, f) for f in fields} for key in answer.keys]

    return fetch


class TokenAuthenticator:
    """Bearer tokens checked against the identity service's keys; see the module docstring."""

    def __init__(
        self,
        *,
        audience: str,
        issuer: str,
        fetch_jwks: JwksFetcher,
        rules: RuleLookup = rule_for,
        min_refresh_seconds: float = 10.0,
        max_key_age_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audience = audience
        self.rules = rules
        self.min_refresh_seconds = min_refresh_seconds
        # Keys older than this are re-fetched at the next call: retired keys stop being trusted.
        self.max_key_age_seconds = max_key_age_seconds
        self._fetch = fetch_jwks
        self._monotonic = monotonic
        self._verifier = TokenVerifier([], issuer=issuer, audience=audience, clock=clock)
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def _refresh(self) -> bool:
        """Re-fetches the key set unless that happened less than min_refresh_seconds ago."""
        async with self._lock:
            now = self._monotonic()
            if self._fetched_at is not None and now - self._fetched_at < self.min_refresh_seconds:
                return False
            self._verifier.replace_keys(await self._fetch())
            self._fetched_at = self._monotonic()
            self.fetches += 1
            return True

    def rule(self, method: str) -> MethodRule:
        try:
            return self.rules(method)
        except UndeclaredMethod:
            # Registration refuses these; one reached anyway (a generic handler) is nobody's.
            raise PermissionDenied(
                "METHOD_ROLE_UNDECLARED", "this method declares no role that may call it"
            ) from None

    async def authenticate(self, method: str, metadata: Mapping[str, str]) -> Principal | None:
        rule = self.rule(method)
        header = metadata.get("authorization", "")
        if rule.allow_anonymous and not header:
            return None
        scheme, _, token = header.partition(" ")
        if not header:
            raise _fail("TOKEN_MISSING", "this call needs authorization: Bearer <token>")
        if scheme.lower() != "bearer" or not token.strip():
            raise _fail("TOKEN_MALFORMED", "authorization must be Bearer <token>")
        stale = (
            self._fetched_at is None
            or self._monotonic() - self._fetched_at >= self.max_key_age_seconds
        )
        if stale:
            await self._refresh()
        try:
            principal = self._verifier.verify(token.strip())
        except Unauthenticated as exc:
            if exc.reason not in _STALE_KEY_REASONS or not await self._refresh():
                raise
            principal = self._verifier.verify(token.strip())
        # The RPC's server span records who called (a subject and role, never the token).
        span = trace.get_current_span()
        span.set_attribute("betmesh.caller.subject", principal.subject)
        span.set_attribute("betmesh.caller.role", principal.role)
        # An anonymous method needs no token, but one that is sent must be good: the caller is
        # then known (the edge vouching for a visitor's address, service_runtime.auth).
        if not rule.allow_anonymous and not rule.admits(principal.role):
            raise PermissionDenied(
                "ROLE_NOT_ALLOWED",
                f"role {principal.role} may not call {method}",
                {"role": principal.role},
            )
        return principal


def token_authenticator(service: str, settings: ServerSettings) -> TokenAuthenticator:
    """The authenticator a service runs with under BETMESH_AUTH_MODE=tokens."""
    if not settings.identity_address:
        raise RuntimeError(
            "BETMESH_AUTH_MODE=tokens (the default) needs BETMESH_IDENTITY_ADDRESS; "
            "BETMESH_AUTH_MODE=anonymous runs without authentication"
        )
    return TokenAuthenticator(
        audience=service,
        issuer=settings.identity_issuer,
        fetch_jwks=grpc_jwks_fetcher(settings.identity_address),
    )
