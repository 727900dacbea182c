"""ID token and userinfo verification against crafted tokens: the OpenID conformance suite's
relying-party list of bad inputs, each refused with its own reason."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc import jwe, jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from joserfc.registry import HeaderParameter

from service_runtime.errors import Unauthenticated, Unavailable
from services.identity.domain import oidc

ISSUER = "https://fcp-low.integ01.dev-franceconnect.fr/api/v2"
CLIENT = "betmesh-client"
NONCE = "n" * 43
NOW = 1_800_000_000
SUB = "a" * 64 + "v1"
EXPECTED = oidc.Expected(issuer=ISSUER, client_id=CLIENT, nonce=NONCE, acr="eidas1")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Jwks:
    """The provider's JWKS endpoint: what it publishes can change between fetches."""

    def __init__(self, *keys: tuple[str | None, ECKey | RSAKey]) -> None:
        self.keys = list(keys)
        self.fetches = 0

    async def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        published = []
        for kid, key in self.keys:
            entry = dict(key.as_dict(private=False))
            if kid is not None:
                entry["kid"] = kid
            entry["use"] = "sig"
            published.append(entry)
        return {"keys": published}


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": SUB,
        "aud": CLIENT,
        "exp": NOW + 60,
        "iat": NOW,
        "nonce": NONCE,
        "acr": "eidas1",
        "amr": ["pwd"],
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _sign(claims: dict[str, Any], key: ECKey | RSAKey, kid: str | None, alg: str = "ES256") -> str:
    header: dict[str, Any] = {"alg": alg}
    if kid is not None:
        header["kid"] = kid
    return jwt.encode(header, claims, key, algorithms=[alg])


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256")


async def _id_token(
    token: str, cache: oidc.JwksCache, expected: oidc.Expected = EXPECTED
) -> dict[str, Any]:
    claims = await oidc.verify_signature(token, cache)
    oidc.check_id_token(claims, expected, NOW)
    return claims


async def _reason(token: str, cache: oidc.JwksCache, expected: oidc.Expected = EXPECTED) -> str:
    with pytest.raises(Unauthenticated) as refused:
        await _id_token(token, cache, expected)
    return refused.value.reason


async def test_a_good_id_token_passes(ec_key: ECKey) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    claims = await _id_token(_sign(_claims(), ec_key, "k1"), cache)
    assert claims["sub"] == SUB


async def test_rs256_is_accepted_too() -> None:
    rsa = RSAKey.generate_key(2048)
    cache = oidc.JwksCache(Jwks(("r1", rsa)))
    await _id_token(_sign(_claims(), rsa, "r1", "RS256"), cache)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://other.example/api/v2"}, "ID_TOKEN_ISSUER_INVALID"),
        ({"sub": None}, "ID_TOKEN_CLAIM_MISSING"),
        ({"sub": ""}, "ID_TOKEN_CLAIM_MISSING"),
        ({"aud": "someone-else"}, "ID_TOKEN_AUDIENCE_INVALID"),
        ({"aud": [CLIENT, "someone-else"]}, "ID_TOKEN_AZP_INVALID"),
        ({"aud": [CLIENT, "x"], "azp": "x"}, "ID_TOKEN_AZP_INVALID"),
        ({"iat": None}, "ID_TOKEN_CLAIM_MISSING"),
        ({"exp": None}, "ID_TOKEN_CLAIM_MISSING"),
        ({"exp": NOW - 31}, "ID_TOKEN_EXPIRED"),
        ({"iat": NOW + 31}, "ID_TOKEN_ISSUED_IN_FUTURE"),
        ({"exp": "soon"}, "ID_TOKEN_MALFORMED"),
        ({"nonce": "m" * 43}, "ID_TOKEN_NONCE_MISMATCH"),
        ({"nonce": None}, "ID_TOKEN_NONCE_MISMATCH"),
        ({"acr": None}, "ACR_TOO_LOW"),
        ({"acr": "eidas0"}, "ACR_TOO_LOW"),
    ],
)
async def test_bad_claims_are_refused(ec_key: ECKey, changes: dict[str, Any], reason: str) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    assert await _reason(_sign(_claims(**changes), ec_key, "k1"), cache) == reason


async def test_several_audiences_with_our_azp_pass(ec_key: ECKey) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    await _id_token(_sign(_claims(aud=[CLIENT, "x"], azp=CLIENT), ec_key, "k1"), cache)


async def test_acr_must_reach_the_requested_level(ec_key: ECKey) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    wants_eidas2 = oidc.Expected(ISSUER, CLIENT, NONCE, "eidas2")
    token = _sign(_claims(acr="eidas1"), ec_key, "k1")
    assert await _reason(token, cache, wants_eidas2) == "ACR_TOO_LOW"
    await _id_token(_sign(_claims(acr="eidas3"), ec_key, "k1"), cache, wants_eidas2)


async def test_alg_none_is_refused(ec_key: ECKey) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    token = f"{_b64({'alg': 'none', 'kid': 'k1'})}.{_b64(_claims())}."
    assert await _reason(token, cache) == "TOKEN_ALGORITHM_NOT_ALLOWED"
    token = f"{_b64({'alg': 'none', 'kid': 'k1'})}.{_b64(_claims())}.c2ln"
    assert await _reason(token, cache) == "TOKEN_ALGORITHM_NOT_ALLOWED"


async def test_hmac_with_the_public_key_as_secret_is_refused(ec_key: ECKey) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    public_as_secret = OctKey.import_key(json.dumps(ec_key.as_dict(private=False)).encode())
    token = jwt.encode({"alg": "HS256", "kid": "k1"}, _claims(), public_as_secret)
    assert await _reason(token, cache) == "TOKEN_ALGORITHM_NOT_ALLOWED"


async def test_a_bad_signature_is_refused(ec_key: ECKey) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    forger = ECKey.generate_key("P-256")
    assert await _reason(_sign(_claims(), forger, "k1"), cache) == "TOKEN_SIGNATURE_INVALID"
    good = _sign(_claims(), ec_key, "k1")
    header, _, signature = good.split(".")
    tampered = f"{header}.{_b64(_claims(sub='b' * 64 + 'v1'))}.{signature}"
    assert await _reason(tampered, cache) == "TOKEN_SIGNATURE_INVALID"


async def test_kid_absent_with_one_key_or_several(ec_key: ECKey) -> None:
    one = oidc.JwksCache(Jwks(("k1", ec_key)))
    await _id_token(_sign(_claims(), ec_key, None), one)
    several = oidc.JwksCache(Jwks(("k1", ec_key), ("k2", ECKey.generate_key("P-256"))))
    assert await _reason(_sign(_claims(), ec_key, None), several) == "TOKEN_KEY_AMBIGUOUS"


async def test_signing_key_rotation_refetches_once_and_is_rate_limited(ec_key: ECKey) -> None:
    jwks = Jwks(("k1", ec_key))
    clock = FakeClock()
    cache = oidc.JwksCache(jwks, min_refresh_seconds=10, clock=clock)
    await _id_token(_sign(_claims(), ec_key, "k1"), cache)
    assert jwks.fetches == 1

    rotated = ECKey.generate_key("P-256")
    jwks.keys.insert(0, ("k2", rotated))
    clock.now = 11
    await _id_token(_sign(_claims(), rotated, "k2"), cache)  # unknown kid: one re-fetch
    assert jwks.fetches == 2

    # Made-up kids do not make us hammer the provider.
    clock.now = 12
    for _ in range(5):
        assert await _reason(_sign(_claims(), rotated, "made-up"), cache) == "TOKEN_KEY_UNKNOWN"
    assert jwks.fetches == 2


async def test_a_provider_unreachable_at_the_last_fetch_is_an_outage_not_a_bad_token(
    ec_key: ECKey,
) -> None:
    """The fetch that failed counts against the rate limit (a provider that is down is not
    hammered), and until the next fetch is allowed, a token whose key we do not hold is refused
    UNAVAILABLE, as the fetch was: never UNAUTHENTICATED TOKEN_KEY_UNKNOWN, which says the token
    is forged, for a sign-in the provider vouched for while we could not reach it."""
    jwks = Jwks(("k1", ec_key))
    clock = FakeClock()
    cache = oidc.JwksCache(jwks, min_refresh_seconds=10, clock=clock)
    unreachable = Unavailable("FRANCECONNECT_UNREACHABLE", "FranceConnect unreachable")

    async def down() -> dict[str, Any]:
        raise unreachable

    cache._fetch = down
    token = _sign(_claims(), ec_key, "k1")
    for _ in range(3):  # the failed fetch, then twice inside its window
        with pytest.raises(Unavailable) as refused:
            await _id_token(token, cache)
        assert refused.value.reason == "FRANCECONNECT_UNREACHABLE"
    cache._fetch = jwks
    clock.now = 5  # back, but the window is not over: still the outage, nothing fetched
    with pytest.raises(Unavailable):
        await _id_token(token, cache)
    assert jwks.fetches == 0
    clock.now = 11  # fetched again: the key is found
    assert (await _id_token(token, cache))["sub"] == SUB
    assert jwks.fetches == 1
    # A fetch that succeeded clears the outage: a made-up kid is the token's fault again.
    assert await _reason(_sign(_claims(), ec_key, "made-up"), cache) == "TOKEN_KEY_UNKNOWN"


async def test_userinfo_about_someone_else_is_refused(ec_key: ECKey) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    info = {
        "iss": ISSUER,
        "aud": CLIENT,
        "exp": NOW + 60,
        "sub": "c" * 64 + "v1",
        "given_name": "X",
    }
    claims = await oidc.verify_signature(_sign(info, ec_key, "k1"), cache)
    with pytest.raises(Unauthenticated) as refused:
        oidc.check_userinfo(claims, EXPECTED, SUB, NOW)
    assert refused.value.reason == "USERINFO_SUBJECT_MISMATCH"
    ours = {**info, "sub": SUB}
    assert oidc.check_userinfo(ours, EXPECTED, SUB, NOW)["given_name"] == "X"
    with pytest.raises(Unauthenticated) as refused:
        oidc.check_userinfo({**ours, "iss": "https://evil.example"}, EXPECTED, SUB, NOW)
    assert refused.value.reason == "USERINFO_ISSUER_INVALID"
    with pytest.raises(Unauthenticated) as refused:
        oidc.check_userinfo({**ours, "aud": "other"}, EXPECTED, SUB, NOW)
    assert refused.value.reason == "USERINFO_AUDIENCE_INVALID"


@pytest.mark.parametrize("missing", ["exp", "iss", "aud"])
def test_userinfo_without_exp_iss_or_aud_is_refused(missing: str) -> None:
    info = {"iss": ISSUER, "aud": CLIENT, "exp": NOW + 60, "sub": SUB}
    del info[missing]
    with pytest.raises(Unauthenticated) as refused:
        oidc.check_userinfo(info, EXPECTED, SUB, NOW)
    assert refused.value.reason == "USERINFO_CLAIM_MISSING"


def test_expired_userinfo_is_refused() -> None:
    info = {"iss": ISSUER, "aud": CLIENT, "exp": NOW - 31, "sub": SUB}
    with pytest.raises(Unauthenticated) as refused:
        oidc.check_userinfo(info, EXPECTED, SUB, NOW)
    assert refused.value.reason == "USERINFO_EXPIRED"
    with pytest.raises(Unauthenticated) as refused:
        oidc.check_userinfo({**info, "exp": "tomorrow"}, EXPECTED, SUB, NOW)
    assert refused.value.reason == "USERINFO_MALFORMED"


async def test_a_key_rotated_under_the_same_kid_is_picked_up(ec_key: ECKey) -> None:
    jwks = Jwks(("k1", ec_key))
    clock = FakeClock()
    cache = oidc.JwksCache(jwks, min_refresh_seconds=10, clock=clock)
    await _id_token(_sign(_claims(), ec_key, "k1"), cache)
    # The provider replaces k1's key but keeps the kid.
    replaced = ECKey.generate_key("P-256")
    jwks.keys = [("k1", replaced)]
    clock.now = 11
    await _id_token(_sign(_claims(), replaced, "k1"), cache)  # bad signature: one re-fetch
    assert jwks.fetches == 2
    # Forged signatures under a known kid do not make us hammer the provider either.
    forger = ECKey.generate_key("P-256")
    for _ in range(5):
        assert await _reason(_sign(_claims(), forger, "k1"), cache) == "TOKEN_SIGNATURE_INVALID"
    assert jwks.fetches == 2


async def test_a_key_the_provider_removed_stops_being_trusted(ec_key: ECKey) -> None:
    jwks = Jwks(("k1", ec_key), ("k2", ECKey.generate_key("P-256")))
    clock = FakeClock()
    cache = oidc.JwksCache(jwks, min_refresh_seconds=10, max_age_seconds=300, clock=clock)
    await _id_token(_sign(_claims(), ec_key, "k1"), cache)
    jwks.keys = [k for k in jwks.keys if k[0] != "k1"]  # k1 retired (or compromised)
    clock.now = 299
    await _id_token(_sign(_claims(), ec_key, "k1"), cache)  # still within the key set's age
    clock.now = 300
    # Past its maximum age the set is fetched again before use: k1 is gone.
    assert await _reason(_sign(_claims(), ec_key, "k1"), cache) == "TOKEN_KEY_UNKNOWN"
    assert jwks.fetches == 2


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!!.e30.x", "e30.e30.x", "W10.e30.x"])
async def test_garbage_is_malformed(ec_key: ECKey, token: str) -> None:
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    assert await _reason(token, cache) in {"TOKEN_MALFORMED", "TOKEN_ALGORITHM_NOT_ALLOWED"}


def _encrypt(inner: str, key: RSAKey | OctKey, alg: str = "RSA-OAEP", **header: Any) -> str:
    protected = {"alg": alg, "enc": "A256GCM", "cty": "JWT", **header}
    registry = jwe.JWERegistry(
        header_registry={
            "iss": HeaderParameter("Issuer", "str"),
            "aud": HeaderParameter("Audience", "str"),
        },
        algorithms=[alg, "A256GCM"],
    )
    return jwe.encrypt_compact(protected, inner.encode(), key, registry=registry)


async def test_franceconnect_plus_tokens_are_decrypted_then_verified(ec_key: ECKey) -> None:
    ours = RSAKey.generate_key(2048)
    cache = oidc.JwksCache(Jwks(("k1", ec_key)))
    signed = _sign(_claims(), ec_key, "k1")
    # oidc-provider copies iss and aud into the JWE header.
    token = _encrypt(signed, ours, iss=ISSUER, aud=CLIENT)
    assert (await _id_token(oidc.decrypt(token, ours), cache))["sub"] == SUB


def _decrypt_reason(token: str, key: RSAKey | None) -> str:
    with pytest.raises(Unauthenticated) as refused:
        oidc.decrypt(token, key)
    return refused.value.reason


def test_encryption_is_all_or_nothing(ec_key: ECKey) -> None:
    ours = RSAKey.generate_key(2048)
    signed = _sign(_claims(), ec_key, "k1")
    assert oidc.decrypt(signed, None) == signed
    # FranceConnect+ agreed encryption: a bare JWS is a downgrade.
    assert _decrypt_reason(signed, ours) == "TOKEN_NOT_ENCRYPTED"
    assert _decrypt_reason(_encrypt(signed, ours), None) == "TOKEN_ENCRYPTION_UNEXPECTED"
    assert _decrypt_reason(_encrypt(signed, RSAKey.generate_key(2048)), ours) == (
        "TOKEN_DECRYPTION_FAILED"
    )
    symmetric = OctKey.generate_key(256)
    assert _decrypt_reason(_encrypt(signed, symmetric, "A256KW"), ours) == (
        "TOKEN_DECRYPTION_FAILED"
    )
