"""The edge's plain HTTP routes against real parts: FranceConnect sign-in through the test
OpenID provider (a real process, tests/oidc/provider.mjs) and identity, ending on the app with a
token that then works through the edge; KYC webhooks forwarded to identity (Ubble sandbox)."""

from __future__ import annotations

import html
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp
import grpc
import httpx
import pytest
from aiohttp import web
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc

from launcher.embedded import free_port
from services.edge.app import Edge, build
from services.edge.settings import EdgeSettings
from services.identity.adapters.ubble import sign
from services.identity.app import assemble
from services.identity.app import build as build_identity
from services.identity.settings import IdentitySettings
from tests.integration.test_identity_kyc import (
    CLIENT_ID,
    CLIENT_SECRET,
    WEBHOOK_SECRET,
    SandboxUbble,
)
from tests.oidc.harness import Identity, RunningProvider, run_provider, years_ago
from tests.support.grpc_web import GrpcWebClient

ADULT = Identity("edge-adult", "Camille", "ROUSSEAU", years_ago(34))
EDGE_CLIENT_ID = "betmesh-edge-client"
GET_PLAYER = "/betmesh.identity.v1.IdentityService/GetPlayer"


@dataclass
class SignIn:
    edge: Edge
    provider: RunningProvider


@pytest.fixture(scope="module")
def edge_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def provider(edge_port: int) -> Iterator[RunningProvider]:
    secret = secrets.token_urlsafe(24)
    edge_client = {
        "client_id": EDGE_CLIENT_ID,
        "client_secret": secret,
        "redirect_uris": [f"http://127.0.0.1:{edge_port}/auth/franceconnect/callback"],
        "post_logout_redirect_uris": [
            f"http://127.0.0.1:{edge_port}/auth/franceconnect/logout/callback"
        ],
    }
    with run_provider([ADULT], secret, [edge_client]) as running:
        yield running


@pytest.fixture(scope="module")
async def signin(
    provider: RunningProvider, edge_port: int, database_url: str, redis_url: str
) -> AsyncIterator[SignIn]:
    origin = f"http://127.0.0.1:{edge_port}"
    identity = build_identity(
        IdentitySettings.from_env(
            {
                "BETMESH_PORT": "0",
                "BETMESH_AUTH_MODE": "tokens",
                "BETMESH_DATABASE_URL": database_url,
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_IDENTITY_SWEEP_INTERVAL_SECONDS": "0",
                "BETMESH_IDENTITY_FRANCECONNECT_ISSUER": provider.issuer,
                "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_ID": EDGE_CLIENT_ID,
                "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_SECRET": provider.client_secret,
                "BETMESH_IDENTITY_FRANCECONNECT_REDIRECT_URI": (
                    f"{origin}/auth/franceconnect/callback"
                ),
                "BETMESH_IDENTITY_FRANCECONNECT_POST_LOGOUT_REDIRECT_URI": (
                    f"{origin}/auth/franceconnect/logout/callback"
                ),
                "BETMESH_IDENTITY_RETURN_TO_ALLOWED": f"{origin}/",
                # Counted per address (all 127.0.0.1 here): the limit has a test of its own.
                "BETMESH_IDENTITY_SIGNIN_STARTS_PER_MINUTE": "0",
            }
        )
    )
    identity_port = await identity.start()
    edge = build(
        EdgeSettings.from_env(
            {
                "BETMESH_EDGE_PORT": str(edge_port),
                "BETMESH_AUTH_MODE": "tokens",
                "BETMESH_IDENTITY_ADDRESS": f"127.0.0.1:{identity_port}",
            }
        )
    )
    await edge.start()
    try:
        yield SignIn(edge, provider)
    finally:
        await edge.stop()
        await identity.stop(0)


async def _browse(
    client: httpx.AsyncClient, url: str, login: str, origin: str, *, until: str = ""
) -> str:
    """Follows redirects as a browser would, filling in the provider's login form (and its
    self-submitting forms), until the browser lands back on the app: our origin, outside
    /auth/ (or, with `until`, is sent to that path of ours). Returns that URL."""
    response = await client.get(url)
    for _ in range(30):
        location = response.headers.get("location")
        if response.status_code in (302, 303) and location is not None:
            target = urljoin(str(response.url), location)
            path = urlsplit(target).path
            if target.startswith(origin) and (path == until or not path.startswith("/auth/")):
                return str(target)
            response = await client.get(target)
            continue
        assert response.status_code == 200, (response.status_code, response.text[:300])
        action = re.search(r'action="([^"]+)"', response.text)
        assert action is not None, response.text[:300]
        target = urljoin(str(response.url), html.unescape(action.group(1)))
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', response.text)
        if xsrf is not None:  # the provider's logout confirmation
            response = await client.post(target, data={"xsrf": xsrf.group(1), "logout": "yes"})
        elif "document.forms[0].submit()" in response.text:
            hidden = re.findall(
                r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text
            )
            response = await client.post(target, data=dict(hidden))
        else:
            response = await client.post(target, data={"login": login, "password": "123"})
    raise AssertionError("redirect loop")


async def test_franceconnect_sign_in_lands_on_the_app_with_a_working_token(
    signin: SignIn,
) -> None:
    origin = signin.edge.url
    async with httpx.AsyncClient(follow_redirects=False, timeout=15) as browser:
        login = f"{origin}/auth/franceconnect/login?return_to=/bets?tab=open"
        start = await browser.get(login)
        assert start.status_code == 302
        assert start.headers["location"].startswith(signin.provider.issuer)
        landed = await _browse(browser, login, ADULT.login, origin)
    where = urlsplit(landed)
    assert (where.path, where.query) == ("/bets", "tab=open")
    fragment = dict(parse_qsl(where.fragment))
    assert set(fragment) == {"access_token", "expires_at", "player_id", "session_id"}
    assert int(fragment["expires_at"]) > time.time()
    # The token works through the edge for the player's own account.
    async with aiohttp.ClientSession() as session:
        read = await GrpcWebClient(session, origin).unary(
            GET_PLAYER,
            pb.GetPlayerRequest(player_id=fragment["player_id"]),
            token=fragment["access_token"],
        )
    assert read.code == 0, read.trailers
    (player,) = read.parsed(pb.GetPlayerResponse)
    assert player.player.kyc_status == pb.KYC_STATUS_VERIFIED
    assert player.player.kyc_method == pb.KYC_METHOD_FRANCECONNECT
    # Sign-out ends the provider's session too, and lands back on the app.
    async with httpx.AsyncClient(follow_redirects=False, timeout=15) as browser:
        logout = f"{origin}/auth/franceconnect/logout?session_id={fragment['session_id']}"
        started = await browser.get(logout)
        assert started.status_code == 302
        assert started.headers["location"].startswith(signin.provider.issuer)
        back = await _browse(browser, logout, ADULT.login, origin)
    assert urlsplit(back).fragment == "logged_out=1"


async def test_sign_in_refuses_foreign_return_targets_and_reports_provider_errors(
    signin: SignIn,
) -> None:
    origin = signin.edge.url
    async with httpx.AsyncClient(follow_redirects=False, timeout=15) as browser:
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            refused = await browser.get(
                f"{origin}/auth/franceconnect/login", params={"return_to": target}
            )
            assert refused.status_code == 303
            assert refused.headers["location"] == "/#login_error=RETURN_TO_NOT_ALLOWED"
        # The provider (or a forger) calls back with an error or an unknown state.
        for query in (
            {"error": "access_denied", "state": "never-issued"},
            {"code": "abc", "state": "never-issued", "iss": signin.provider.issuer},
        ):
            back = await browser.get(f"{origin}/auth/franceconnect/callback", params=query)
            assert back.status_code == 303
            location = back.headers["location"]
            assert location.startswith("/#login_error="), location
            assert "access_token" not in location


@dataclass
class Kyc:
    identity: identity_service_pb2_grpc.IdentityServiceStub
    sandbox: SandboxUbble
    edge: Edge
    # Identity's own webhook endpoint (the edge forwards to the RPC instead).
    identity_webhooks: str = ""


@pytest.fixture(scope="module")
async def kyc(database_url: str, redis_url: str) -> AsyncIterator[Kyc]:
    """Identity with the Ubble sandbox (as tests/integration/test_identity_kyc.py runs it),
    and an edge in front of its gRPC port."""
    sandbox = SandboxUbble()
    app = web.Application()
    app.router.add_post("/identifications/", sandbox.create)
    app.router.add_get("/identifications/{id}/", sandbox.read)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    sandbox.port = runner.addresses[0][1]
    process = assemble(
        IdentitySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "tokens",
                "BETMESH_IDENTITY_REGISTRATIONS_PER_HOUR": "0",
                "BETMESH_PORT": "0",
                "BETMESH_DATABASE_URL": database_url,
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_IDENTITY_KYC_PROVIDER": "ubble",
                "BETMESH_IDENTITY_UBBLE_API_URL": f"http://127.0.0.1:{sandbox.port}",
                "BETMESH_IDENTITY_UBBLE_CLIENT_ID": CLIENT_ID,
                "BETMESH_IDENTITY_UBBLE_CLIENT_SECRET": CLIENT_SECRET,
                "BETMESH_IDENTITY_UBBLE_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),
                "BETMESH_IDENTITY_UBBLE_REDIRECT_URL": "https://app.betmesh.test/kyc-done",
            }
        )
    )
    port = await process.host.start()
    edge = build(
        EdgeSettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_EDGE_PORT": "0",
                "BETMESH_EDGE_UPSTREAMS": f"identity=127.0.0.1:{port}",
            }
        )
    )
    await edge.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        assert process.webhooks is not None
        yield Kyc(
            identity_service_pb2_grpc.IdentityServiceStub(channel),
            sandbox,
            edge,
            f"http://127.0.0.1:{process.webhooks.port}/webhooks/kyc/ubble",
        )
    finally:
        await channel.close()
        await edge.stop()
        await process.host.stop(0)
        await runner.cleanup()


async def test_kyc_webhooks_reach_identity_through_the_edge(kyc: Kyc) -> None:
    registered = await kyc.identity.RegisterPlayer(pb.RegisterPlayerRequest(display_name="Inès"))
    player_id = registered.player.player_id
    # The new player's own token: an account is read by its player (or an operator).
    player = (("authorization", f"Bearer {registered.access_token.token}"),)
    started = await kyc.identity.StartKycVerification(
        pb.StartKycVerificationRequest(player_id=player_id), metadata=player
    )
    identification = started.verification_session_id
    kyc.sandbox.complete(identification, years_ago(30))
    body = json.dumps({"identification_id": identification, "status": "processed"}).encode()
    signature = sign(WEBHOOK_SECRET, int(time.time()), body)
    url = f"{kyc.edge.url}/webhooks/kyc/ubble"
    async with httpx.AsyncClient(timeout=15) as client:
        tampered = await client.post(
            url, content=body + b" ", headers={"Ubble-Signature": signature}
        )
        assert tampered.status_code == 401
        unsigned = await client.post(url, content=body)
        assert unsigned.status_code == 401
        huge = await client.post(url, content=b"x" * 200_000)
        assert huge.status_code == 413
        applied = await client.post(url, content=body, headers={"Ubble-Signature": signature})
        assert (applied.status_code, applied.json()) == (200, {"outcome": "APPLIED"})
        again = await client.post(url, content=body, headers={"Ubble-Signature": signature})
        assert (again.status_code, again.json()) == (200, {"outcome": "DUPLICATE"})
    got = await kyc.identity.GetPlayer(pb.GetPlayerRequest(player_id=player_id), metadata=player)
    assert got.player.kyc_status == pb.KYC_STATUS_VERIFIED


CALLBACK = "/auth/franceconnect/callback"


def _login_error(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:200])
    location = response.headers["location"]
    assert "access_token" not in location
    fragment = dict(parse_qsl(urlsplit(location).fragment))
    return fragment.get("login_error", "")


async def test_a_callback_opened_in_another_browser_gets_no_token(signin: SignIn) -> None:
    """The login-binding attack through the edge: the victim starts a sign-in; the callback URL
    (code, state, iss) is opened in another browser session, with no cookie or one of its own.
    No token, a clear reason, and the attempt is spent."""
    origin = signin.edge.url
    login = f"{origin}/auth/franceconnect/login?return_to=/"
    async with httpx.AsyncClient(follow_redirects=False, timeout=15) as victim:
        started = await victim.get(login)
        cookie = started.headers["set-cookie"]
        # The binding cookie: HttpOnly, SameSite=Lax, short-lived, scoped to the sign-in routes
        # (no Secure over plain http: a browser would drop it).
        assert cookie.startswith("betmesh_signin=")
        attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
        assert {"httponly", "samesite", "max-age", "path"} <= attributes
        assert "samesite=lax" in cookie.lower() and "secure" not in attributes
        callback = await _browse(victim, login, ADULT.login, origin, until=CALLBACK)
        assert urlsplit(callback).path == CALLBACK
        async with httpx.AsyncClient(follow_redirects=False, timeout=15) as attacker:
            assert _login_error(await attacker.get(callback)) == "LOGIN_COOKIE_MISSING"
            attacker.cookies.set("betmesh_signin", secrets.token_urlsafe(32))
            assert _login_error(await attacker.get(callback)) == "LOGIN_NOT_FROM_THIS_BROWSER"
        # That refusal spent the attempt: the victim signs in again, nobody got a token.
        assert _login_error(await victim.get(callback)) == "LOGIN_ATTEMPT_UNKNOWN"
        landed = await _browse(victim, login, ADULT.login, origin)
    assert "access_token" in dict(parse_qsl(urlsplit(landed).fragment))


async def test_repeated_query_parameters_are_refused(signin: SignIn) -> None:
    origin = signin.edge.url
    login = f"{origin}/auth/franceconnect/login?return_to=/"
    async with httpx.AsyncClient(follow_redirects=False, timeout=15) as browser:
        callback = await _browse(browser, login, ADULT.login, origin, until=CALLBACK)
        for extra in ("&iss=https://evil.example", "&code=other", "&state=other"):
            refused = await browser.get(callback + extra)
            assert _login_error(refused) == "QUERY_PARAMETER_REPEATED"
        repeated = await browser.get(f"{origin}/auth/franceconnect/login?return_to=/&return_to=/x")
        assert _login_error(repeated) == "QUERY_PARAMETER_REPEATED"
        assert "set-cookie" not in repeated.headers
        logout = await browser.get(f"{origin}/auth/franceconnect/logout/callback?state=a&state=b")
        assert logout.headers["location"] == "/#logout_error=QUERY_PARAMETER_REPEATED"


async def test_too_many_sign_in_starts_from_one_address_get_429(
    provider: RunningProvider, edge_port: int, database_url: str, redis_url: str
) -> None:
    """Identity counts sign-in starts per address; the edge answers 429 with Retry-After."""
    identity = build_identity(
        IdentitySettings.from_env(
            {
                "BETMESH_PORT": "0",
                "BETMESH_DATABASE_URL": database_url,
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_IDENTITY_SWEEP_INTERVAL_SECONDS": "0",
                "BETMESH_IDENTITY_FRANCECONNECT_ISSUER": provider.issuer,
                "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_ID": EDGE_CLIENT_ID,
                "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_SECRET": provider.client_secret,
                "BETMESH_IDENTITY_FRANCECONNECT_REDIRECT_URI": "http://127.0.0.1:1/cb",
                "BETMESH_IDENTITY_FRANCECONNECT_POST_LOGOUT_REDIRECT_URI": "http://127.0.0.1:1/o",
                "BETMESH_IDENTITY_RETURN_TO_ALLOWED": "http://127.0.0.1/",
                "BETMESH_IDENTITY_SIGNIN_STARTS_PER_MINUTE": "1",
            }
        )
    )
    port = await identity.start()
    edge = build(
        EdgeSettings.from_env(
            {
                "BETMESH_EDGE_PORT": "0",
                "BETMESH_EDGE_PUBLIC_URL": "http://127.0.0.1",
                "BETMESH_IDENTITY_ADDRESS": f"127.0.0.1:{port}",
            }
        )
    )
    await edge.start()
    try:
        async with httpx.AsyncClient(follow_redirects=False, timeout=15) as browser:
            # One start a minute: of three in a row, at least the last two share a window.
            answers = [
                await browser.get(f"http://127.0.0.1:{edge.port}/auth/franceconnect/login")
                for _ in range(3)
            ]
    finally:
        await edge.stop()
        await identity.stop(0)
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    for answer in limited:
        assert 1 <= int(answer.headers["retry-after"]) <= 60
        assert "set-cookie" not in answer.headers
    assert all(a.status_code in (302, 429) for a in answers)


async def test_malformed_webhook_headers_are_400_without_internals(kyc: Kyc) -> None:
    body = json.dumps({"identification_id": "x", "status": "processed"}).encode()
    identity_url = kyc.identity_webhooks
    async with httpx.AsyncClient(timeout=15) as client:
        for url in (f"{kyc.edge.url}/webhooks/kyc/ubble", identity_url):
            for signature in (
                b"ts=\xb2,v1=" + b"0" * 64,  # not UTF-8
                "ts=²,v1=".encode() + b"0" * 64,  # a digit to str.isdigit, not to int()
                b"ts=" + b"9" * 5000 + b",v1=" + b"0" * 64,  # int() refuses 5,000 digits
                b"ts=12,v1=not-hex",
            ):
                answer = await client.post(
                    url, content=body, headers={b"Ubble-Signature": signature}
                )
                assert answer.status_code == 400, (url, signature[:20], answer.text[:200])
                assert answer.json()["error"] in {
                    "WEBHOOK_HEADER_INVALID",
                    "WEBHOOK_SIGNATURE_MALFORMED",
                }
                assert "Traceback" not in answer.text
