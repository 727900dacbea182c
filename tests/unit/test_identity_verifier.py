"""The token verifier against good tokens and every kind of bad one."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from service_runtime.errors import Unauthenticated
from services.identity.domain.clients import Client, ClientRegistry, ClientRole
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.tokens import TokenIssuer, TokenRequest
from services.identity.domain.verifier import TokenVerifier

NOW = 1_700_000_000
ISSUER = "betmesh-identity"
AUDIENCE = "betmesh.bets"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing(SigningKey.generate())


def _issuer(keys: KeyRing, now: float = NOW, ttl: int = 300) -> TokenIssuer:
    client = Client(
        client_id="bets",
        secret_sha256=hashlib.sha256(b"s3cret").digest(),
        role=ClientRole.SERVICE,
        audiences=frozenset({AUDIENCE, "betmesh.oracle"}),
        scopes=frozenset({"bets:settle", "odds:read"}),
    )
    return TokenIssuer(ClientRegistry([client]), keys, ISSUER, ttl, clock=lambda: now)


def _verifier(keys: KeyRing, now: float = NOW, audience: str = AUDIENCE) -> TokenVerifier:
    return TokenVerifier(keys.public_jwks(), issuer=ISSUER, audience=audience, clock=lambda: now)


def _token(keys: KeyRing, audience: str = AUDIENCE, now: float = NOW) -> str:
    request = TokenRequest("bets", "s3cret", audience, ["odds:read", "bets:settle"])
    return _issuer(keys, now).issue(request).token


def _reason(call: Callable[[], object]) -> str:
    with pytest.raises(Unauthenticated) as caught:
        call()
    return caught.value.reason


def test_a_good_token_names_the_caller(keys: KeyRing) -> None:
    principal = _verifier(keys).verify(_token(keys))
    assert principal.subject == "bets"
    assert principal.role == "service"
    assert principal.scopes == {"odds:read", "bets:settle"}
    assert principal.claims["iss"] == ISSUER
    assert principal.claims["exp"] == NOW + 300


def test_small_clock_skew_is_tolerated(keys: KeyRing) -> None:
    # Issued 10 s "in the future" from the verifier's view; expired 10 s ago.
    _verifier(keys, now=NOW - 10).verify(_token(keys))
    _verifier(keys, now=NOW + 300 + 10).verify(_token(keys))


def test_expired(keys: KeyRing) -> None:
    assert (
        _reason(lambda: _verifier(keys, now=NOW + 300 + 31).verify(_token(keys))) == "TOKEN_EXPIRED"
    )


def test_issued_in_the_future(keys: KeyRing) -> None:
    assert (
        _reason(lambda: _verifier(keys, now=NOW - 120).verify(_token(keys)))
        == "TOKEN_NOT_YET_VALID"
    )


def test_wrong_audience(keys: KeyRing) -> None:
    token = _token(keys, audience="betmesh.oracle")
    assert _reason(lambda: _verifier(keys).verify(token)) == "TOKEN_AUDIENCE_INVALID"


def test_wrong_issuer(keys: KeyRing) -> None:
    token = _token(keys)
    verifier = TokenVerifier(
        keys.public_jwks(), issuer="someone", audience=AUDIENCE, clock=lambda: NOW
    )
    assert _reason(lambda: verifier.verify(token)) == "TOKEN_ISSUER_INVALID"


def test_key_not_in_the_jwks(keys: KeyRing) -> None:
    stranger = KeyRing(SigningKey.generate())
    assert _reason(lambda: _verifier(keys).verify(_token(stranger))) == "TOKEN_KEY_UNKNOWN"


def test_another_key_under_our_kid(keys: KeyRing) -> None:
    impostor = SigningKey.generate()
    header = {"typ": "at+jwt", "alg": "ES256", "kid": keys.active.kid}
    claims = jwt.decode(_token(keys), keys.active.key).claims
    forged = jwt.encode(header, claims, impostor.key, algorithms=["ES256"])
    assert _reason(lambda: _verifier(keys).verify(forged)) == "TOKEN_SIGNATURE_INVALID"


def test_alg_none(keys: KeyRing) -> None:
    claims = jwt.decode(_token(keys), keys.active.key).claims
    unsigned = (
        _b64({"typ": "at+jwt", "alg": "none", "kid": keys.active.kid}) + "." + _b64(claims) + "."
    )
    assert _reason(lambda: _verifier(keys).verify(unsigned)) == "TOKEN_ALGORITHM_NOT_ALLOWED"


def test_hmac_with_the_public_key_as_secret(keys: KeyRing) -> None:
    claims = jwt.decode(_token(keys), keys.active.key).claims
    public = json.dumps(keys.active.public_jwk()).encode()
    header = {"typ": "at+jwt", "alg": "HS256", "kid": keys.active.kid}
    token = jwt.encode(header, claims, OctKey.import_key(public), algorithms=["HS256"])
    assert _reason(lambda: _verifier(keys).verify(token)) == "TOKEN_ALGORITHM_NOT_ALLOWED"


def test_tampered_payload(keys: KeyRing) -> None:
    header, payload, signature = _token(keys).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "operator"
    tampered = f"{header}.{_b64(claims)}.{signature}"
    assert _reason(lambda: _verifier(keys).verify(tampered)) == "TOKEN_SIGNATURE_INVALID"


def test_not_an_access_token(keys: KeyRing) -> None:
    claims = jwt.decode(_token(keys), keys.active.key).claims
    header = {"typ": "JWT", "alg": "ES256", "kid": keys.active.kid}
    token = jwt.encode(header, claims, keys.active.key, algorithms=["ES256"])
    assert _reason(lambda: _verifier(keys).verify(token)) == "TOKEN_TYPE_INVALID"


def test_missing_claims(keys: KeyRing) -> None:
    claims = jwt.decode(_token(keys), keys.active.key).claims
    del claims["exp"]
    header = {"typ": "at+jwt", "alg": "ES256", "kid": keys.active.kid}
    token = jwt.encode(header, claims, keys.active.key, algorithms=["ES256"])
    assert _reason(lambda: _verifier(keys).verify(token)) == "TOKEN_CLAIM_MISSING"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "!!!.???.###", "e30.e30.", "bnVsbA.e30.sig"])
def test_garbage(keys: KeyRing, garbage: str) -> None:
    assert _reason(lambda: _verifier(keys).verify(garbage)) in {
        "TOKEN_MALFORMED",
        "TOKEN_TYPE_INVALID",
    }


def test_rotation_keeps_old_tokens_valid_until_retired(keys: KeyRing) -> None:
    old_token = _token(keys)
    following = SigningKey.generate()
    keys.publish(following)
    verifier = _verifier(keys)  # refreshed JWKS: both keys
    keys.activate(following.kid)
    new_token = _token(keys)
    assert verifier.verify(old_token).subject == "bets"
    assert verifier.verify(new_token).subject == "bets"
    keys.retire(_header_kid(old_token))
    verifier.replace_keys(keys.public_jwks())
    assert _reason(lambda: verifier.verify(old_token)) == "TOKEN_KEY_UNKNOWN"
    assert verifier.verify(new_token).subject == "bets"


def test_a_key_signs_only_once_published(keys: KeyRing) -> None:
    with pytest.raises(KeyError):
        keys.activate(SigningKey.generate().kid)
    with pytest.raises(ValueError, match="active"):
        keys.retire(keys.active.kid)


def _header_kid(token: str) -> str:
    segment = token.split(".", maxsplit=1)[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return str(header["kid"])
