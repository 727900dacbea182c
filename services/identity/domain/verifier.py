"""Verifies betmesh access tokens against a JWKS: the check behind every authenticated RPC.

Everything the header says is distrusted until checked against our own expectations: the
algorithm must be on the allow-list (no "none", no HMAC with a public key as secret), the key
must be one of ours by kid (never one the token carries), the type must be at+jwt so an ID
token or another JWT cannot pass as an access token (RFC 9068 section 4).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey

from service_runtime.auth import Principal
from service_runtime.errors import Unauthenticated

ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
# betmesh.identity.v1.Role, lower case; players' tokens come with FranceConnect login.
KNOWN_ROLES = frozenset({"player", "partner", "operator", "service"})


def _fail(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(reason, message)


def _b64_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _is_int(value: object) -> bool:
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
            header = _b64_json(parts[0])
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
        if not _is_int(exp) or not _is_int(iat):
            raise _fail("TOKEN_MALFORMED", "exp and iat must be integers")
        now = self.clock()
        if now >= exp + self.leeway_seconds:
            raise _fail("TOKEN_EXPIRED", "the token has expired")
        if iat > now + self.leeway_seconds:
            raise _fail("TOKEN_NOT_YET_VALID", "the token is issued in the future")
        nbf = claims.get("nbf")
        if nbf is not None and (not _is_int(nbf) or nbf > now + self.leeway_seconds):
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
