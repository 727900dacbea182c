"""Verification of what an OpenID provider signs: ID tokens and userinfo JWTs.

Nothing in a token is trusted before its signature checks out against a key we fetched from the
provider's JWKS ourselves: the algorithm comes from an allow-list (never "none", never HMAC, so
a public key can never be used as a shared secret), the key is looked up by kid. The key set is
re-fetched when it is older than its maximum age (a key the provider removed stops being
trusted), and, rate-limited, when a token names a kid we do not know or fails its signature
(the provider rotated its keys, possibly under the same kid), then the token is tried once more.
Then every claim the relying party depends on is checked (OIDC Core 3.1.3.7).
"""

from __future__ import annotations

import asyncio
import binascii
import hmac
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwe, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.registry import HeaderParameter

from service_runtime.errors import Unauthenticated, Unavailable
from service_runtime.tokens import is_json_int, jwt_segment

ALLOWED_ALGORITHMS = frozenset({"ES256", "RS256"})
_KEY_TYPES = {"ES256": "EC", "RS256": "RSA"}
ACR_LEVELS = ("eidas1", "eidas2", "eidas3")
# FranceConnect+ encrypts with RSA-OAEP or ECDH-ES and A256GCM; nothing weaker is accepted.
ENCRYPTION_ALGORITHMS = ("RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "A256GCM")
# oidc-provider (FranceConnect's software) copies iss and aud into the JWE header; joserfc
# refuses header members it does not know, so these two are declared.
_JWE_REGISTRY = jwe.JWERegistry(
    header_registry={
        "iss": HeaderParameter("Issuer", "str"),
        "aud": HeaderParameter("Audience", "str"),
        "cty": HeaderParameter("Content type", "str"),
    },
    algorithms=list(ENCRYPTION_ALGORITHMS),
)

Key = ECKey | RSAKey
JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


def _refuse(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(reason, message)


def acr_rank(acr: object) -> int:
    """0 for an unknown level, so that it never satisfies a request."""
    return ACR_LEVELS.index(acr) + 1 if isinstance(acr, str) and acr in ACR_LEVELS else 0


def _import_keys(jwks: Mapping[str, Any]) -> list[tuple[str | None, str, Key]]:
    """(kid, kty, key) for each usable signing key; malformed entries are skipped."""
    found: list[tuple[str | None, str, Key]] = []
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kty = entry.get("kty")
        public = {k: v for k, v in entry.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        try:
            key: Key
            if kty == "EC":
                key = ECKey.import_key(public)
            elif kty == "RSA":
                key = RSAKey.import_key(public)
            else:
                continue
        except (JoseError, ValueError, TypeError):
            continue
        kid = entry.get("kid")
        found.append((kid if isinstance(kid, str) else None, str(kty), key))
    return found


class JwksCache:
    """The provider's signing keys: fetched at first use, again once older than
    `max_age_seconds`, and on demand (an unknown kid, a bad signature).

    On-demand re-fetches are rate-limited so that tokens with made-up kids or signatures cannot
    make us hammer the provider (or be used to amplify traffic towards it). Each fetch replaces
    the whole set: removed keys go, a key replaced under the same kid is the new one.
    """

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        min_refresh_seconds: float = 10.0,
        max_age_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.min_refresh_seconds = min_refresh_seconds
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._keys: list[tuple[str | None, str, Key]] = []
        self._fetched_at: float | None = None
        # Why the last fetch failed (the provider unreachable), until one succeeds.
        self._failure: Unavailable | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def refresh(self, *, expired: bool = False) -> bool:
        """Fetches the key set: on demand unless the last fetch is under min_refresh_seconds
        old; `expired`, unless another caller has just replaced the expired set."""
        async with self._lock:
            now, last = self._clock(), self._fetched_at
            limit = self.max_age_seconds if expired else self.min_refresh_seconds
            if last is not None and now - last < limit:
                return False
            self._fetched_at = now
            self.fetches += 1
            try:
                jwks = await self._fetch()
            except Unavailable as exc:
                self._failure = exc
                raise
            self._failure = None
            self._keys = _import_keys(jwks)
            return True

    async def _current(self) -> None:
        """Keys never fetched or past their maximum age are fetched before use."""
        last = self._fetched_at
        if last is None or self._clock() - last >= self.max_age_seconds:
            await self.refresh(expired=True)

    def _find(self, kid: str | None, kty: str) -> Key | None:
        typed = [(k, key) for k, t, key in self._keys if t == kty]
        if kid is None:
            # Without a kid the choice is only unambiguous with a single candidate key.
            return typed[0][1] if len(typed) == 1 else None
        return next((key for k, key in typed if k == kid), None)

    async def key_for(self, kid: str | None, kty: str) -> Key:
        await self._current()
        key = self._find(kid, kty)
        if key is None and await self.refresh():
            key = self._find(kid, kty)
        if key is None:
            failure = self._failure
            if failure is not None:
                # Not the token's fault: the provider did not answer our last fetch, which
                # counts against the rate limit (a provider that is down is not hammered
                # either). Unknown to us only because we could not ask: the outage again,
                # never a forged-looking UNAUTHENTICATED for a sign-in the provider vouched for.
                raise Unavailable(failure.reason, failure.message, failure.metadata)
            if kid is None:
                raise _refuse("TOKEN_KEY_AMBIGUOUS", "no kid and not exactly one candidate key")
            raise _refuse("TOKEN_KEY_UNKNOWN", "the signing key is not in the provider's JWKS")
        return key


def decrypt(token: str, key: Key | None) -> str:
    """The signed JWT inside a FranceConnect+ JWE; with no key (FranceConnect), the token as is.

    Either mode refuses the other's tokens: an unencrypted token where encryption was agreed
    means someone other than FranceConnect+ produced it (or a downgrade).
    """
    encrypted = isinstance(token, str) and token.count(".") == 4
    if key is None:
        if encrypted:
            raise _refuse("TOKEN_ENCRYPTION_UNEXPECTED", "encrypted token, no decryption key")
        return token
    if not encrypted:
        raise _refuse("TOKEN_NOT_ENCRYPTED", "FranceConnect+ tokens must be encrypted to us")
    try:
        # The registry carries the algorithm allow-list (passing `algorithms` too would make
        # joserfc build a fresh registry without the header declarations).
        plain = jwe.decrypt_compact(token, key, registry=_JWE_REGISTRY)
    except (JoseError, ValueError, TypeError):
        raise _refuse("TOKEN_DECRYPTION_FAILED", "cannot decrypt the token with our key") from None
    if plain.plaintext is None:
        raise _refuse("TOKEN_DECRYPTION_FAILED", "empty encrypted token")
    return plain.plaintext.decode("utf-8", errors="replace")


async def verify_signature(
    token: str, keys: JwksCache, algorithms: Collection[str] = ALLOWED_ALGORITHMS
) -> dict[str, Any]:
    """The claims of a compact JWS signed by one of the provider's keys."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise _refuse("TOKEN_MALFORMED", "not a compact JWS")
    try:
        header = jwt_segment(parts[0])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _refuse("TOKEN_MALFORMED", "unreadable header") from None
    if not isinstance(header, dict):
        raise _refuse("TOKEN_MALFORMED", "header is not an object")
    alg = header.get("alg")
    if alg not in algorithms or alg not in ALLOWED_ALGORITHMS:
        raise _refuse("TOKEN_ALGORITHM_NOT_ALLOWED", f"algorithm {alg!r} is not accepted")
    if "crit" in header:
        raise _refuse("TOKEN_MALFORMED", "critical header extensions are not supported")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _refuse("TOKEN_MALFORMED", "kid must be a string")
    key = await keys.key_for(kid, _KEY_TYPES[alg])
    try:
        return _decode(token, key, alg)
    except Unauthenticated as exc:
        # The provider may have replaced the key under the same kid: re-fetch (rate-limited)
        # and try once more with what it publishes now.
        if exc.reason != "TOKEN_SIGNATURE_INVALID" or not await keys.refresh():
            raise
    return _decode(token, await keys.key_for(kid, _KEY_TYPES[alg]), alg)


def _decode(token: str, key: Key, alg: str) -> dict[str, Any]:
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
    except BadSignatureError:
        raise _refuse("TOKEN_SIGNATURE_INVALID", "bad signature") from None
    except (JoseError, ValueError, TypeError):
        raise _refuse("TOKEN_MALFORMED", "not a valid JWT") from None
    return dict(decoded.claims)


@dataclass(frozen=True)
class Expected:
    issuer: str
    client_id: str
    nonce: str
    acr: str
    leeway_seconds: int = 30


def check_id_token(claims: Mapping[str, Any], expected: Expected, now: float) -> None:
    """OIDC Core 3.1.3.7 checks on a signature-verified ID token."""
    missing = [n for n in ("iss", "sub", "aud", "exp", "iat") if n not in claims]
    if missing:
        raise _refuse("ID_TOKEN_CLAIM_MISSING", "missing claims: " + ", ".join(missing))
    _check_issuer_and_audience(claims, expected, "ID_TOKEN")
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub:
        raise _refuse("ID_TOKEN_CLAIM_MISSING", "sub must be a non-empty string")
    exp, iat = claims["exp"], claims["iat"]
    if not is_json_int(exp) or not is_json_int(iat):
        raise _refuse("ID_TOKEN_MALFORMED", "exp and iat must be integers")
    if now >= exp + expected.leeway_seconds:
        raise _refuse("ID_TOKEN_EXPIRED", "the ID token has expired")
    if iat > now + expected.leeway_seconds:
        raise _refuse("ID_TOKEN_ISSUED_IN_FUTURE", "the ID token is issued in the future")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(
        nonce.encode(), expected.nonce.encode()
    ):
        raise _refuse("ID_TOKEN_NONCE_MISMATCH", "the nonce is not the one we sent")
    if acr_rank(claims.get("acr")) < acr_rank(expected.acr):
        raise _refuse(
            "ACR_TOO_LOW", f"authentication level {claims.get('acr')!r} is below {expected.acr}"
        )


def check_userinfo(
    claims: Mapping[str, Any], expected: Expected, id_token_sub: str, now: float
) -> dict[str, Any]:
    """A signature-verified userinfo JWT: ours, for us, current, and about the same person as
    the ID token. Without iss, aud and exp a signed userinfo could be replayed from another
    client or another day."""
    missing = [n for n in ("iss", "aud", "exp") if n not in claims]
    if missing:
        raise _refuse("USERINFO_CLAIM_MISSING", "missing claims: " + ", ".join(missing))
    _check_issuer_and_audience(claims, expected, "USERINFO")
    exp = claims["exp"]
    if not is_json_int(exp):
        raise _refuse("USERINFO_MALFORMED", "exp must be an integer")
    if now >= exp + expected.leeway_seconds:
        raise _refuse("USERINFO_EXPIRED", "the userinfo JWT has expired")
    if claims.get("sub") != id_token_sub:
        raise _refuse("USERINFO_SUBJECT_MISMATCH", "userinfo is about someone else")
    return dict(claims)


def _check_issuer_and_audience(claims: Mapping[str, Any], expected: Expected, what: str) -> None:
    if claims.get("iss") != expected.issuer:
        raise _refuse(f"{what}_ISSUER_INVALID", "issued by another provider")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if expected.client_id not in audiences:
        raise _refuse(f"{what}_AUDIENCE_INVALID", "not issued for this client")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != expected.client_id:
        raise _refuse(f"{what}_AZP_INVALID", "authorized party is not this client")
