"""FranceConnect v2 login through the public gRPC API, against a real OpenID provider.

The provider is panva's oidc-provider configured like FranceConnect v2 (tests/oidc/), started as
a real process; the "browser" is httpx following its redirects and filling in its login form.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import grpc
import pytest
import redis
import sqlalchemy as sa
from betmesh.common.v1 import money_pb2
from betmesh.events.v1 import events_pb2
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from google.protobuf.duration_pb2 import Duration
from joserfc.jwk import RSAKey

from service_runtime.auth import LOGIN_BINDING_HEADER, VISITOR_HEADER
from service_runtime.events import Topic, stream_key
from service_runtime.tokens import TokenVerifier
from services.identity.app import build
from services.identity.domain.franceconnect import pkce_challenge, pkce_verifier
from services.identity.settings import IdentitySettings
from tests.oidc.harness import (
    CLIENT_ID,
    PLUS_CLIENT_ID,
    POST_LOGOUT_REDIRECT_URI,
    REDIRECT_URI,
    Browser,
    Identity,
    RunningProvider,
    run_provider,
    years_ago,
)
from tests.support.grpc_helpers import operator_channel, operator_client, rpc_error
from tests.support.tcp_faults import FaultProxy

RETURN_TO = "https://app.betmesh.test/welcome"
ADULT = Identity("adult30", "Angela Claire", "DUBOIS", years_ago(30))
MINOR = Identity("minor17", "Kevin", "MARTIN", years_ago(17), gender="male")
EXCLUDED = Identity("excluded", "Hélène", "Lefèvre", years_ago(45))
SECOND = Identity("second", "Paul Marie", "LAMBERT", years_ago(52), gender="male", max_acr="eidas2")


@pytest.fixture(scope="module")
def encryption_key() -> RSAKey:
    """Ours, for FranceConnect+: the provider encrypts ID token and userinfo to its public half."""
    return RSAKey.generate_key(2048, parameters={"kid": "betmesh-enc-1", "use": "enc"})


@pytest.fixture(scope="module")
def provider(encryption_key: RSAKey) -> Iterator[RunningProvider]:
    secret = secrets.token_urlsafe(24)
    plus_client = {
        "client_id": PLUS_CLIENT_ID,
        "client_secret": secret,
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": [POST_LOGOUT_REDIRECT_URI],
        "metadata": {
            "jwks": {"keys": [{**encryption_key.as_dict(private=False), "alg": "RSA-OAEP"}]},
            "id_token_encrypted_response_alg": "RSA-OAEP",
            "id_token_encrypted_response_enc": "A256GCM",
            "userinfo_encrypted_response_alg": "RSA-OAEP",
            "userinfo_encrypted_response_enc": "A256GCM",
        },
    }
    with run_provider([ADULT, MINOR, EXCLUDED, SECOND], secret, [plus_client]) as running:
        yield running


@pytest.fixture(scope="module")
def exclusion_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("anj") / "exclusions.json"
    # Listed as the register would: upper case, no accents.
    path.write_text(
        json.dumps(
            [
                {
                    "family_name": "LEFEVRE",
                    "given_name": "HELENE",
                    "birthdate": str(EXCLUDED.birthdate),
                }
            ]
        )
    )
    return path


def _environment(
    provider: RunningProvider, database_url: str, redis_url: str, exclusion_file: Path
) -> dict[str, str]:
    return {
        "BETMESH_AUTH_MODE": "tokens",
        "BETMESH_IDENTITY_CLIENTS": json.dumps([operator_client()]),
        "BETMESH_PORT": "0",
        "BETMESH_DATABASE_URL": database_url,
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_IDENTITY_ISSUER": "betmesh-test-identity",
        "BETMESH_IDENTITY_FRANCECONNECT_ISSUER": provider.issuer,
        "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_ID": CLIENT_ID,
        "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_SECRET": provider.client_secret,
        "BETMESH_IDENTITY_FRANCECONNECT_REDIRECT_URI": REDIRECT_URI,
        "BETMESH_IDENTITY_FRANCECONNECT_POST_LOGOUT_REDIRECT_URI": POST_LOGOUT_REDIRECT_URI,
        # Rotation must be picked up at once in the test.
        "BETMESH_IDENTITY_FRANCECONNECT_JWKS_MIN_REFRESH_SECONDS": "0",
        "BETMESH_IDENTITY_RETURN_TO_ALLOWED": "https://app.betmesh.test/",
        "BETMESH_IDENTITY_EXCLUSION_FILE": str(exclusion_file),
        # Every sign-in of this module comes from one address; the limits have their own test.
        "BETMESH_IDENTITY_SIGNIN_STARTS_PER_MINUTE": "0",
        "BETMESH_IDENTITY_REGISTRATIONS_PER_HOUR": "0",
    }


async def _serve_identity(environment: dict[str, str]) -> AsyncIterator[Stub]:
    host = build(IdentitySettings.from_env(environment))
    port = await host.start()
    # Reads of accounts need a caller: these tests read them as an operator. The stub is one
    # browser: its sign-ins carry this browser's binding (what the edge takes from its cookie).
    channel = await operator_channel(
        f"127.0.0.1:{port}", extra=((LOGIN_BINDING_HEADER, BROWSER_BINDING),)
    )
    try:
        yield identity_service_pb2_grpc.IdentityServiceStub(channel)
    finally:
        await channel.close()
        await host.stop(0)


@pytest.fixture(scope="module")
async def identity(
    provider: RunningProvider, database_url: str, redis_url: str, exclusion_file: Path
) -> AsyncIterator[Stub]:
    async for stub in _serve_identity(
        _environment(provider, database_url, redis_url, exclusion_file)
    ):
        yield stub


@pytest.fixture(scope="module")
async def identity_plus(
    provider: RunningProvider,
    database_url: str,
    redis_url: str,
    exclusion_file: Path,
    encryption_key: RSAKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stub]:
    """The same service configured for FranceConnect+: eidas2, tokens encrypted to our key."""
    key_file = tmp_path_factory.mktemp("fcplus") / "decryption.pem"
    key_file.write_bytes(encryption_key.as_pem(private=True))
    environment = {
        **_environment(provider, database_url, redis_url, exclusion_file),
        "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_ID": PLUS_CLIENT_ID,
        "BETMESH_IDENTITY_FRANCECONNECT_ACR": "eidas2",
        "BETMESH_IDENTITY_FRANCECONNECT_DECRYPTION_KEY_FILE": str(key_file),
    }
    async for stub in _serve_identity(environment):
        yield stub


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    b = Browser()
    try:
        yield b
    finally:
        await b.close()


def _players(database_url: str) -> int:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("SELECT count(*) FROM identity.players")).scalar_one())
    engine.dispose()
    return count


async def _start(
    identity: Stub,
    level: int = pb.ASSURANCE_LEVEL_UNSPECIFIED,
) -> tuple[str, dict[str, list[str]]]:
    started = await identity.StartFranceConnectLogin(
        pb.StartFranceConnectLoginRequest(return_to=RETURN_TO, assurance_level=level)  # type: ignore[arg-type]
    )
    return started.authorization_url, parse_qs(urlsplit(started.authorization_url).query)


Stub = identity_service_pb2_grpc.IdentityServiceStub
# The secret the edge would put in this test browser's sign-in cookie.
BROWSER_BINDING = secrets.token_urlsafe(32)


async def _refusal(call: Callable[[], Awaitable[object]]) -> tuple[grpc.StatusCode, str]:
    code, info, _ = await rpc_error(call)
    return code, info.reason if info is not None else ""


async def _login(
    identity: Stub, browser: Browser, who: Identity, level: int = pb.ASSURANCE_LEVEL_UNSPECIFIED
) -> dict[str, str]:
    """Starts a login and plays the browser through it: the provider's callback parameters."""
    url, _ = await _start(identity, level)
    return await browser.login(url, who.login)


def eur(amount: int) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount, currency="EUR")


def _complete(callback: dict[str, str]) -> pb.CompleteFranceConnectLoginRequest:
    return pb.CompleteFranceConnectLoginRequest(
        code=callback.get("code", ""),
        state=callback.get("state", ""),
        iss=callback.get("iss", ""),
        error=callback.get("error", ""),
        error_description=callback.get("error_description", ""),
    )


async def test_authorization_url_is_franceconnects(
    identity: Stub, provider: RunningProvider
) -> None:
    url, query = await _start(identity)
    assert url.startswith(f"{provider.issuer}/authorize?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["acr_values"] == ["eidas1"]
    assert set(query["scope"][0].split()) == {"openid", "identite_pivot"}
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["state"] != query["nonce"]
    _, again = await _start(identity)
    assert again["state"] != query["state"] and again["nonce"] != query["nonce"]


async def test_a_30_year_old_gets_a_verified_account_and_a_player_token(
    identity: Stub,
    browser: Browser,
    redis_url: str,
) -> None:
    url, _ = await _start(identity)
    callback = await browser.login(url, ADULT.login)
    done = await identity.CompleteFranceConnectLogin(_complete(callback))
    assert done.return_to == RETURN_TO
    assert done.player.kyc_status == pb.KYC_STATUS_VERIFIED
    assert done.player.kyc_method == pb.KYC_METHOD_FRANCECONNECT
    assert done.player.display_name == "Angela"
    assert list(done.player.restrictions) == []

    jwks = await identity.GetJwks(pb.GetJwksRequest())
    keys = [
        {k: getattr(key, k) for k in ("kty", "kid", "use", "alg", "crv", "x", "y")}
        for key in jwks.keys
    ]
    principal = TokenVerifier(keys, issuer="betmesh-test-identity", audience="betmesh.bets").verify(
        done.access_token.token
    )
    assert principal.subject == done.player.player_id
    assert principal.role == "player"
    assert principal.claims["kyc_status"] == "VERIFIED"

    fetched = await identity.GetPlayer(pb.GetPlayerRequest(player_id=done.player.player_id))
    assert fetched.player == done.player

    # Bets hears about the new verified player.
    client = redis.Redis.from_url(redis_url)
    try:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(  # type: ignore[assignment]
            stream_key(Topic.KYC_STATUS_CHANGED)
        )
    finally:
        client.close()
    announced = []
    for _, fields in entries:
        envelope = events_pb2.EventEnvelope.FromString(fields[b"envelope"])
        announced.append(envelope.kyc_status_changed)
    assert any(
        e.player_id == done.player.player_id and e.kyc_status == "KYC_STATUS_VERIFIED" and e.of_age
        for e in announced
    )

    # The same person logging in again is the same player.
    url, _ = await _start(identity)
    again = await identity.CompleteFranceConnectLogin(
        _complete(await browser.login(url, ADULT.login))
    )
    assert again.player.player_id == done.player.player_id
    assert again.session_id != done.session_id


async def test_logout_goes_through_the_provider_and_checks_state(
    identity: Stub, browser: Browser
) -> None:
    url, _ = await _start(identity)
    done = await identity.CompleteFranceConnectLogin(
        _complete(await browser.login(url, ADULT.login))
    )
    started = await identity.StartFranceConnectLogout(
        pb.StartFranceConnectLogoutRequest(session_id=done.session_id)
    )
    query = parse_qs(urlsplit(started.logout_url).query)
    assert query["post_logout_redirect_uri"] == [POST_LOGOUT_REDIRECT_URI]
    assert query["id_token_hint"] and len(query["state"][0]) >= 32
    back = await browser.logout(started.logout_url)
    assert back["state"] == query["state"][0]
    await identity.CompleteFranceConnectLogout(
        pb.CompleteFranceConnectLogoutRequest(state=back["state"])
    )
    # The state is single-use and the session is gone.
    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogout(
            pb.CompleteFranceConnectLogoutRequest(state=back["state"])
        )
    )
    assert (code, info and info.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "LOGOUT_STATE_UNKNOWN",
    )
    code, info, _ = await rpc_error(
        lambda: identity.StartFranceConnectLogout(
            pb.StartFranceConnectLogoutRequest(session_id=done.session_id)
        )
    )
    assert (code, info and info.reason) == (grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")


@pytest.mark.parametrize(
    ("who", "reason"),
    [(MINOR, "PLAYER_UNDER_AGE"), (EXCLUDED, "PLAYER_ON_EXCLUSION_REGISTER")],
)
async def test_anj_refusals_open_no_account(
    identity: Stub,
    browser: Browser,
    database_url: str,
    who: Identity,
    reason: str,
) -> None:
    before = _players(database_url)
    callback = await _login(identity, browser, who)
    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogin(_complete(callback))
    )
    assert (code, info and info.reason) == (grpc.StatusCode.FAILED_PRECONDITION, reason)
    assert _players(database_url) == before


async def test_replayed_state_and_code_are_refused(
    identity: Stub, browser: Browser, database_url: str
) -> None:
    callback = await _login(identity, browser, SECOND)
    await identity.CompleteFranceConnectLogin(_complete(callback))
    before = _players(database_url)

    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogin(_complete(callback))
    )
    assert (code, info and info.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "LOGIN_ATTEMPT_UNKNOWN",
    )

    # The same code under a fresh, valid state: the provider refuses a used code.
    _, query = await _start(identity)
    replay = {**callback, "state": query["state"][0]}
    code, info, _ = await rpc_error(lambda: identity.CompleteFranceConnectLogin(_complete(replay)))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert info is not None and info.reason == "CODE_REJECTED"
    assert info.metadata["error"] == "invalid_grant"
    assert _players(database_url) == before


async def test_issuer_mix_up_is_refused_and_spends_the_state(
    identity: Stub, browser: Browser, database_url: str
) -> None:
    before = _players(database_url)
    callback = await _login(identity, browser, SECOND)
    forged = {**callback, "iss": "https://idp.attacker.test/api/v2"}
    code, info, _ = await rpc_error(lambda: identity.CompleteFranceConnectLogin(_complete(forged)))
    assert (code, info and info.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "CALLBACK_ISSUER_MISMATCH",
    )
    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogin(_complete(callback))
    )
    assert info is not None and info.reason == "LOGIN_ATTEMPT_UNKNOWN"
    missing = {k: v for k, v in callback.items() if k != "iss"}
    _, query = await _start(identity)
    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogin(
            _complete({**missing, "state": query["state"][0]})
        )
    )
    assert info is not None and info.reason == "CALLBACK_ISSUER_MISMATCH"
    assert _players(database_url) == before


async def test_provider_error_on_the_callback(identity: Stub, database_url: str) -> None:
    _, query = await _start(identity)
    callback = {"error": "access_denied", "state": query["state"][0], "iss": "ignored"}
    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogin(_complete(callback))
    )
    assert (code, info and info.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "FRANCECONNECT_LOGIN_FAILED",
    )
    assert info is not None and info.metadata["error"] == "access_denied"


async def test_a_level_below_the_requested_one_is_refused(
    identity: Stub, browser: Browser, database_url: str
) -> None:
    before = _players(database_url)
    # ADULT's account only reaches eidas1.
    callback = await _login(identity, browser, ADULT, pb.ASSURANCE_LEVEL_EIDAS2)
    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogin(_complete(callback))
    )
    assert (code, info and info.reason) == (grpc.StatusCode.UNAUTHENTICATED, "ACR_TOO_LOW")
    assert _players(database_url) == before
    # SECOND's reaches eidas2.
    url, _ = await _start(identity, pb.ASSURANCE_LEVEL_EIDAS2)
    done = await identity.CompleteFranceConnectLogin(
        _complete(await browser.login(url, SECOND.login))
    )
    assert done.player.kyc_status == pb.KYC_STATUS_VERIFIED


async def test_provider_key_rotation_is_followed(
    identity: Stub,
    browser: Browser,
    provider: RunningProvider,
) -> None:
    url, _ = await _start(identity)
    await identity.CompleteFranceConnectLogin(_complete(await browser.login(url, ADULT.login)))
    provider.rotate_key()
    # Signed with a kid we have never seen: we re-fetch the JWKS instead of failing.
    url, _ = await _start(identity)
    done = await identity.CompleteFranceConnectLogin(
        _complete(await browser.login(url, ADULT.login))
    )
    assert done.player.kyc_status == pb.KYC_STATUS_VERIFIED


async def test_a_key_replaced_under_the_same_kid_is_followed(
    identity: Stub,
    browser: Browser,
    provider: RunningProvider,
) -> None:
    """Issue 17: a provider that rotates its key under the same kid locked every login out
    until identity restarted (the JWKS was fetched again only for an unknown kid)."""
    url, _ = await _start(identity)
    await identity.CompleteFranceConnectLogin(_complete(await browser.login(url, ADULT.login)))
    provider.replace_key()
    # A known kid, a signature its cached key refuses: the JWKS is fetched again.
    url, _ = await _start(identity)
    done = await identity.CompleteFranceConnectLogin(
        _complete(await browser.login(url, ADULT.login))
    )
    assert done.player.kyc_status == pb.KYC_STATUS_VERIFIED


@pytest.mark.parametrize(
    ("return_to", "reason"),
    [
        ("https://evil.test/welcome", "RETURN_TO_NOT_ALLOWED"),
        ("https://app.betmesh.test.evil.test/", "RETURN_TO_NOT_ALLOWED"),
        ("//evil.test/", "RETURN_TO_NOT_ALLOWED"),
        ("", "RETURN_TO_NOT_ALLOWED"),
    ],
)
async def test_return_to_must_be_on_the_allow_list(
    identity: Stub, return_to: str, reason: str
) -> None:
    code, info, _ = await rpc_error(
        lambda: identity.StartFranceConnectLogin(
            pb.StartFranceConnectLoginRequest(return_to=return_to)
        )
    )
    assert (code, info and info.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


async def test_unknown_state_and_missing_fields(
    identity: Stub,
) -> None:
    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogin(pb.CompleteFranceConnectLoginRequest(code="x"))
    )
    assert (code, info and info.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "STATE_REQUIRED")
    code, info, _ = await rpc_error(
        lambda: identity.CompleteFranceConnectLogin(
            pb.CompleteFranceConnectLoginRequest(code="x", state="y" * 43, iss="z")
        )
    )
    assert (code, info and info.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "LOGIN_ATTEMPT_UNKNOWN",
    )


async def test_limits_and_self_exclusion_for_a_verified_player(
    identity: Stub, browser: Browser, redis_url: str
) -> None:
    done = await identity.CompleteFranceConnectLogin(
        _complete(await _login(identity, browser, ADULT))
    )
    player_id = done.player.player_id

    first = await identity.SetResponsibleGamblingLimits(
        pb.SetResponsibleGamblingLimitsRequest(
            player_id=player_id, deposit_cap_7d=eur(50_000), stake_cap_7d=eur(20_000)
        )
    )
    assert first.limits.deposit_cap_7d.amount_minor == 50_000
    assert first.limits.stake_cap_7d.amount_minor == 20_000
    # A raise waits 48 hours; a cut applies at once.
    changed = await identity.SetResponsibleGamblingLimits(
        pb.SetResponsibleGamblingLimitsRequest(
            player_id=player_id, deposit_cap_7d=eur(90_000), stake_cap_7d=eur(10_000)
        )
    )
    limits = changed.limits
    assert limits.deposit_cap_7d.amount_minor == 50_000
    assert limits.pending_deposit_cap_7d.amount_minor == 90_000
    hours = (limits.pending_deposit_cap_effective_at.seconds - time.time()) / 3600
    assert 47 < hours <= 48
    assert limits.stake_cap_7d.amount_minor == 10_000
    assert not limits.HasField("pending_stake_cap_7d")
    read = await identity.GetResponsibleGamblingLimits(
        pb.GetResponsibleGamblingLimitsRequest(player_id=player_id)
    )
    assert read.limits == limits

    bad = pb.SetResponsibleGamblingLimitsRequest(player_id=player_id, stake_cap_7d=eur(-1))
    assert await _refusal(lambda: identity.SetResponsibleGamblingLimits(bad)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "LIMIT_AMOUNT_INVALID",
    )
    usd = pb.SetResponsibleGamblingLimitsRequest(
        player_id=player_id, stake_cap_7d=money_pb2.Money(amount_minor=1, currency="USD")
    )
    assert await _refusal(lambda: identity.SetResponsibleGamblingLimits(usd)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "CURRENCY_MISMATCH",
    )

    too_short = pb.SelfExcludeRequest(player_id=player_id, duration=Duration(seconds=3600))
    assert await _refusal(lambda: identity.SelfExclude(too_short)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "SELF_EXCLUSION_DURATION_INVALID",
    )
    week = await identity.SelfExclude(
        pb.SelfExcludeRequest(player_id=player_id, duration=Duration(seconds=7 * 86400))
    )
    assert list(week.player.restrictions) == [pb.ACCOUNT_RESTRICTION_SELF_EXCLUDED]
    until = week.player.self_excluded_until.seconds
    # Shorter than what is in force: the exclusion stays as long as it was.
    day = await identity.SelfExclude(
        pb.SelfExcludeRequest(player_id=player_id, duration=Duration(seconds=86400))
    )
    assert day.player.self_excluded_until.seconds == until

    client = redis.Redis.from_url(redis_url)
    try:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(  # type: ignore[assignment]
            stream_key(Topic.LIMITS_CHANGED)
        )
    finally:
        client.close()
    announced = [
        events_pb2.EventEnvelope.FromString(f[b"envelope"]).responsible_gambling_limits_changed
        for _, f in entries
    ]
    ours = [e for e in announced if e.player_id == player_id]
    # Three changes in force now (two sets) and one raise announced for its effective time.
    assert [e.stake_cap_7d.amount_minor for e in ours if e.HasField("stake_cap_7d")][:2] == [
        20_000,
        10_000,
    ]
    assert any(
        e.deposit_cap_7d.amount_minor == 90_000 and e.effective_at.seconds > time.time() + 47 * 3600
        for e in ours
    )


async def test_unknown_players(identity: Stub) -> None:
    for player_id, expected in (
        ("", (grpc.StatusCode.INVALID_ARGUMENT, "PLAYER_ID_REQUIRED")),
        ("not-a-uuid", (grpc.StatusCode.NOT_FOUND, "PLAYER_NOT_FOUND")),
        ("00000000-0000-0000-0000-000000000000", (grpc.StatusCode.NOT_FOUND, "PLAYER_NOT_FOUND")),
    ):
        request = pb.GetPlayerRequest(player_id=player_id)
        assert await _refusal(lambda r=request: identity.GetPlayer(r)) == expected  # type: ignore[misc]


async def test_franceconnect_plus_tokens_are_decrypted_then_verified(
    identity_plus: Stub, browser: Browser
) -> None:
    url, query = await _start(identity_plus)
    assert query["client_id"] == [PLUS_CLIENT_ID] and query["acr_values"] == ["eidas2"]
    done = await identity_plus.CompleteFranceConnectLogin(
        _complete(await browser.login(url, SECOND.login))
    )
    assert done.player.kyc_status == pb.KYC_STATUS_VERIFIED
    # An eidas1-only identity cannot pass FranceConnect+.
    url, _ = await _start(identity_plus)
    callback = await browser.login(url, ADULT.login)
    assert await _refusal(
        lambda: identity_plus.CompleteFranceConnectLogin(_complete(callback))
    ) == (grpc.StatusCode.UNAUTHENTICATED, "ACR_TOO_LOW")


# ---- bound to the browser (issue #17) ------------------------------------------------------


async def test_a_callback_opened_in_another_browser_is_refused(
    identity: Stub, browser: Browser, database_url: str
) -> None:
    """The login-binding attack: the callback URL (code, state, iss) of a sign-in this browser
    started, opened by another browser (an attacker's link, a leaked URL). Its binding is not
    ours: refused before the code is exchanged, and the attempt is spent."""
    players = _players(database_url)
    for other in ("", secrets.token_urlsafe(32)):
        callback = await _login(identity, browser, ADULT)
        code, info, _ = await rpc_error(
            lambda o=other, c=callback: identity.CompleteFranceConnectLogin(  # type: ignore[misc]
                _complete(c), metadata=((LOGIN_BINDING_HEADER, o),)
            )
        )
        assert (code, info and info.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "LOGIN_NOT_FROM_THIS_BROWSER",
        )
    # The refusal spent the attempt: not even the right browser completes it now.
    assert await _refusal(lambda: identity.CompleteFranceConnectLogin(_complete(callback))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "LOGIN_ATTEMPT_UNKNOWN",
    )
    assert _players(database_url) == players
    # The same flow in the browser that started it completes.
    done = await identity.CompleteFranceConnectLogin(
        _complete(await _login(identity, browser, ADULT))
    )
    assert done.access_token.token


async def test_a_sign_in_needs_a_binding_and_sends_pkce(identity: Stub) -> None:
    for binding in ("", "short", "x" * 500, "not base64url!" * 4):
        code, info, _ = await rpc_error(
            lambda b=binding: identity.StartFranceConnectLogin(  # type: ignore[misc]
                pb.StartFranceConnectLoginRequest(return_to=RETURN_TO),
                metadata=((LOGIN_BINDING_HEADER, b),),
            )
        )
        assert (code, info and info.reason) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "BROWSER_BINDING_REQUIRED",
        )
    _, query = await _start(identity)
    assert query["code_challenge_method"] == ["S256"]
    # The verifier is derived from this browser's secret and the state, and never stored.
    verifier = pkce_verifier(BROWSER_BINDING, query["state"][0])
    assert query["code_challenge"] == [pkce_challenge(verifier)]
    assert 43 <= len(verifier) <= 128


async def test_the_provider_refuses_a_code_without_the_browsers_verifier(
    identity: Stub, browser: Browser, provider: RunningProvider
) -> None:
    """PKCE end to end against the real provider (it requires S256 here): the code of a
    sign-in, exchanged without the verifier only the bound browser's secret gives, is refused
    by the provider itself."""
    import httpx

    callback = await _login(identity, browser, ADULT)
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(
            f"{provider.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": REDIRECT_URI,
                "client_id": CLIENT_ID,
                "client_secret": provider.client_secret,
            },
        )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.fixture(scope="module")
async def limited(
    provider: RunningProvider, database_url: str, redis_url: str, exclusion_file: Path
) -> AsyncIterator[tuple[Stub, str]]:
    """Identity with small per-address limits, and an edge-like client whose token lets it
    vouch for the visitor's address."""
    edge_secret = secrets.token_urlsafe(24)
    edge_client = {
        "client_id": "edge-test",
        "secret_sha256": hashlib.sha256(edge_secret.encode()).hexdigest(),
        "role": "public",
        "audiences": ["betmesh.identity"],
    }
    environment = {
        **_environment(provider, database_url, redis_url, exclusion_file),
        "BETMESH_IDENTITY_CLIENTS": json.dumps([operator_client(), edge_client]),
        "BETMESH_IDENTITY_SIGNIN_STARTS_PER_MINUTE": "3",
        "BETMESH_IDENTITY_REGISTRATIONS_PER_HOUR": "2",
    }
    async for stub in _serve_identity(environment):
        issued = await stub.IssueToken(
            pb.IssueTokenRequest(
                client_id="edge-test", client_secret=edge_secret, audience="betmesh.identity"
            )
        )
        yield stub, issued.access_token.token


def _vouched(token: str, visitor: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"), (VISITOR_HEADER, visitor))


async def test_sign_in_starts_are_limited_per_client_address(
    limited: tuple[Stub, str],
) -> None:
    stub, edge_token = limited
    visitor, neighbour = f"198.51.100.{secrets.randbelow(250)}-{uuid.uuid4()}", str(uuid.uuid4())
    request = pb.StartFranceConnectLoginRequest(return_to=RETURN_TO)
    for _ in range(3):
        await stub.StartFranceConnectLogin(request, metadata=_vouched(edge_token, visitor))
    code, info, status = await rpc_error(
        lambda: stub.StartFranceConnectLogin(request, metadata=_vouched(edge_token, visitor))
    )
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info is not None and info.reason == "RATE_LIMITED"
    assert 1 <= int(info.metadata["retry_after_seconds"]) <= 60
    assert _retry_delay(status) == int(info.metadata["retry_after_seconds"])
    # Another visitor behind the same edge is not held back by this one.
    await stub.StartFranceConnectLogin(request, metadata=_vouched(edge_token, neighbour))


async def test_account_creation_is_limited_per_client_address(
    limited: tuple[Stub, str], database_url: str
) -> None:
    stub, edge_token = limited
    visitor = str(uuid.uuid4())
    for name in ("Un", "Deux"):
        await stub.RegisterPlayer(
            pb.RegisterPlayerRequest(display_name=name), metadata=_vouched(edge_token, visitor)
        )
    players = _players(database_url)
    code, info, status = await rpc_error(
        lambda: stub.RegisterPlayer(
            pb.RegisterPlayerRequest(display_name="Trois"), metadata=_vouched(edge_token, visitor)
        )
    )
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info is not None and info.reason == "RATE_LIMITED"
    assert 1 <= _retry_delay(status) <= 3600
    assert _players(database_url) == players  # nothing stored for the refused call


def _retry_delay(status: object) -> int:
    from google.rpc import error_details_pb2

    for detail in getattr(status, "details", ()):
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            return int(retry.retry_delay.seconds)
    raise AssertionError("no RetryInfo")


def _completing(identity: Stub, callback: dict[str, str]) -> Callable[[], Awaitable[object]]:
    # A deadline far above identity's own bound on the provider (5 s a request).
    return lambda: identity.CompleteFranceConnectLogin(_complete(callback), timeout=60)


async def test_a_provider_whose_key_endpoint_hangs_is_an_outage_not_a_forged_token(
    provider: RunningProvider,
    database_url: str,
    redis_url: str,
    exclusion_file: Path,
    browser: Browser,
) -> None:
    """The provider's JWKS endpoint accepts the connection and never answers (the token endpoint
    still does). The sign-in that fetches the keys is refused UNAVAILABLE within our bound on the
    provider, not held for the caller's deadline; the next one, the endpoint answering again but
    inside the rate limit's window (the failed fetch counts: a provider that is down is not
    hammered), is refused UNAVAILABLE too, as an outage to retry, never UNAUTHENTICATED
    TOKEN_KEY_UNKNOWN, which says the provider's own token is forged."""
    environment = {
        **_environment(provider, database_url, redis_url, exclusion_file),
        # Wide enough that both sign-ins fall inside it, whatever the machine's load.
        "BETMESH_IDENTITY_FRANCECONNECT_JWKS_MIN_REFRESH_SECONDS": "120",
    }
    async for fresh in _serve_identity(environment):  # its own key cache: never fetched
        first = await _login(fresh, browser, ADULT)
        other = Browser()  # a second sign-in in the same browser would spend the first's code
        try:
            second = await _login(fresh, other, SECOND)
        finally:
            await other.close()
        provider.jwks_silent(True)
        try:
            code, reason = await _refusal(_completing(fresh, first))
            assert (code, reason) == (grpc.StatusCode.UNAVAILABLE, "FRANCECONNECT_UNREACHABLE")
        finally:
            provider.jwks_silent(False)
        code, reason = await _refusal(_completing(fresh, second))
        assert (code, reason) == (grpc.StatusCode.UNAVAILABLE, "FRANCECONNECT_UNREACHABLE")


async def test_sign_ins_started_while_the_provider_is_blackholed_are_refused_together(
    provider: RunningProvider, database_url: str, redis_url: str, exclusion_file: Path
) -> None:
    """A fresh identity (the provider's discovery document never fetched) whose provider
    accepts connections and answers nothing: sign-ins started together are all refused
    UNAVAILABLE within our bound on the provider (5 s a request), not each after waiting out
    the fetches of those queued before it (the fifth after 25 s: DEADLINE_EXCEEDED for a caller
    allowing 15)."""
    async with FaultProxy("127.0.0.1", provider.port) as proxy:
        environment = {
            **_environment(provider, database_url, redis_url, exclusion_file),
            "BETMESH_IDENTITY_FRANCECONNECT_ISSUER": f"http://127.0.0.1:{proxy.port}/api/v2",
        }
        proxy.blackhole()
        async for fresh in _serve_identity(environment):
            refusals = await asyncio.gather(
                *(
                    _refusal(
                        lambda: fresh.StartFranceConnectLogin(  # noqa: B023 (awaited here)
                            pb.StartFranceConnectLoginRequest(return_to=RETURN_TO), timeout=15
                        )
                    )
                    for _ in range(5)
                )
            )
            assert set(refusals) == {(grpc.StatusCode.UNAVAILABLE, "FRANCECONNECT_UNREACHABLE")}
            # Healed, the next sign-in asks the provider again (its answer names the issuer
            # behind the proxy, which our configured one is not: refused for that, as it must).
            proxy.heal()
            assert await _refusal(
                lambda: fresh.StartFranceConnectLogin(  # noqa: B023 (awaited here)
                    pb.StartFranceConnectLoginRequest(return_to=RETURN_TO), timeout=15
                )
            ) == (grpc.StatusCode.FAILED_PRECONDITION, "FRANCECONNECT_DISCOVERY_ISSUER_MISMATCH")


async def test_a_provider_that_trickles_its_answers_is_refused_within_our_bound(
    provider: RunningProvider, database_url: str, redis_url: str, exclusion_file: Path
) -> None:
    """Each byte of the provider's answer comes within the read timeout, the whole answer
    would take minutes: the sign-in is refused UNAVAILABLE at identity's bound on the whole
    exchange, well inside a caller's deadline, not DEADLINE_EXCEEDED after it."""
    async with FaultProxy("127.0.0.1", provider.port) as proxy:
        environment = {
            **_environment(provider, database_url, redis_url, exclusion_file),
            "BETMESH_IDENTITY_FRANCECONNECT_ISSUER": f"http://127.0.0.1:{proxy.port}/api/v2",
        }
        proxy.trickle(0.1)  # the discovery document, a few kB: minutes
        async for fresh in _serve_identity(environment):
            assert await _refusal(
                lambda: fresh.StartFranceConnectLogin(  # noqa: B023 (awaited here)
                    pb.StartFranceConnectLoginRequest(return_to=RETURN_TO), timeout=60
                )
            ) == (grpc.StatusCode.UNAVAILABLE, "FRANCECONNECT_UNREACHABLE")
