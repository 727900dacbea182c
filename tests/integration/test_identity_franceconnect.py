"""FranceConnect v2 login through the public gRPC API, against a real OpenID provider.

The provider is panva's oidc-provider configured like FranceConnect v2 (tests/oidc/), started as
a real process; the "browser" is httpx following its redirects and filling in its login form.
"""

from __future__ import annotations

import json
import secrets
import time
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

from service_runtime.events import Topic, stream_key
from service_runtime.tokens import TokenVerifier
from services.identity.app import build
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
from tests.support.grpc_helpers import rpc_error

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
    }


async def _serve_identity(environment: dict[str, str]) -> AsyncIterator[Stub]:
    host = build(IdentitySettings.from_env(environment))
    port = await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
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
