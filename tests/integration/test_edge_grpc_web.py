"""The edge in front of real services: identity (tokens, PostgreSQL) and live (Redis, the event
bus), called with the test gRPC-web client in binary and text, unary and streaming."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import market_pb2
from betmesh.identity.v1 import identity_service_pb2 as ipb
from betmesh.identity.v1 import identity_service_pb2_grpc
from betmesh.live.v1 import live_odds_service_pb2 as lpb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from joserfc.jwk import ECKey

from service_runtime.events import EventPublisher
from service_runtime.server import ServiceHost
from services.edge.app import Edge, build
from services.edge.settings import EdgeSettings
from services.identity.app import build as build_identity
from services.identity.settings import IdentitySettings
from services.live.app import build as build_live
from services.live.settings import LiveSettings
from tests.integration.test_live_stream import LIVE, publish_prices, publish_status
from tests.support.grpc_helpers import rpc_error
from tests.support.grpc_web import GrpcWebClient, WebResult

OK, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, PERMISSION_DENIED = 0, 3, 4, 5, 7
RESOURCE_EXHAUSTED, UNIMPLEMENTED, UNAVAILABLE, UNAUTHENTICATED = 8, 12, 14, 16
ALLOWED_ORIGIN = "http://app.example.test:5173"
STREAM_ODDS = "/betmesh.live.v1.LiveOddsService/StreamOdds"
GET_PLAYER = "/betmesh.identity.v1.IdentityService/GetPlayer"
REGISTER = "/betmesh.identity.v1.IdentityService/RegisterPlayer"
CLIENTS = [
    {
        "client_id": "ops",
        "secret_sha256": hashlib.sha256(b"ops-secret").hexdigest(),
        "role": "operator",
        "audiences": ["betmesh.live", "betmesh.bets"],
    }
]


@dataclass
class Mesh:
    identity: ServiceHost
    live: ServiceHost
    live_channel: grpc.aio.Channel
    identity_stub: identity_service_pb2_grpc.IdentityServiceStub
    edge: Edge
    web: GrpcWebClient
    session: aiohttp.ClientSession
    bus: EventPublisher
    web_root: Path

    async def player(self) -> tuple[str, str]:
        registered = await self.identity_stub.RegisterPlayer(
            ipb.RegisterPlayerRequest(display_name="Edge"), timeout=10
        )
        return registered.player.player_id, registered.access_token.token

    def live_stub(self) -> live_odds_service_pb2_grpc.LiveOddsServiceStub:
        return live_odds_service_pb2_grpc.LiveOddsServiceStub(self.live_channel)


async def start_identity(
    folder: Path,
    database_url: str,
    redis_url: str,
    clients: Sequence[Mapping[str, object]],
    **env: str,
) -> tuple[ServiceHost, int]:
    """Identity in tokens mode with `clients`, signing with a key made for the test."""
    (folder / "key.pem").write_bytes(ECKey.generate_key("P-256").as_pem(private=True))
    identity = build_identity(
        IdentitySettings.from_env(
            {
                "BETMESH_PORT": "0",
                "BETMESH_AUTH_MODE": "tokens",
                "BETMESH_DATABASE_URL": database_url,
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_IDENTITY_CLIENTS": json.dumps(clients),
                "BETMESH_IDENTITY_SIGNING_KEY_FILE": str(folder / "key.pem"),
                "BETMESH_IDENTITY_SWEEP_INTERVAL_SECONDS": "0",
                # Every test browser signs up from 127.0.0.1; the limits have their own tests.
                "BETMESH_IDENTITY_REGISTRATIONS_PER_HOUR": "0",
                **env,
            }
        )
    )
    return identity, await identity.start()


async def start_live(
    redis_url: str, identity_port: int, name: str, max_per_partner: int
) -> ServiceHost:
    """Live in tokens mode on streams of its own (`name` keeps test modules apart)."""
    live = build_live(
        LiveSettings.from_env(
            {
                "BETMESH_PORT": "0",
                "BETMESH_GRACE_SECONDS": "0.2",
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_AUTH_MODE": "tokens",
                "BETMESH_IDENTITY_ADDRESS": f"127.0.0.1:{identity_port}",
                "BETMESH_LIVE_STREAM_PREFIX": f"test:{name}:{uuid.uuid4().hex[:8]}",
                "BETMESH_LIVE_STREAM_TOKEN_KEY": f"{name}-test-" + uuid.uuid4().hex,
                "BETMESH_LIVE_STREAM_LEASE_SECONDS": "1",
                "BETMESH_LIVE_STREAM_MAX_PER_PARTNER": str(max_per_partner),
            }
        )
    )
    await live.start()
    return live


def edge_settings(upstreams: Mapping[str, int], identity_port: int, **env: str) -> EdgeSettings:
    return EdgeSettings.from_env(
        {
            "BETMESH_EDGE_PORT": "0",
            "BETMESH_EDGE_UPSTREAMS": ";".join(f"{a}=127.0.0.1:{p}" for a, p in upstreams.items()),
            "BETMESH_AUTH_MODE": "tokens",
            "BETMESH_IDENTITY_ADDRESS": f"127.0.0.1:{identity_port}",
            "BETMESH_EDGE_CORS_ORIGINS": ALLOWED_ORIGIN,
            **env,
        }
    )


@pytest.fixture(scope="module")
async def mesh(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Mesh]:
    folder = tmp_path_factory.mktemp("edge")
    identity, identity_port = await start_identity(folder, database_url, redis_url, CLIENTS)
    live = await start_live(redis_url, identity_port, "edge", max_per_partner=1)
    web_root = folder / "dist"
    (web_root / "assets").mkdir(parents=True)
    (web_root / "index.html").write_text("<!doctype html><title>betmesh app</title>")
    (web_root / "assets" / "app-3f2a.js").write_text("console.log('betmesh')")
    edge = build(
        edge_settings(
            {"identity": identity_port, "live": live.port},
            identity_port,
            BETMESH_EDGE_WEB_ROOT=str(web_root),
            BETMESH_EDGE_MAX_STREAMS_PER_CLIENT="3",
            # The test's client is "the load balancer": its X-Forwarded-For names the browser.
            BETMESH_EDGE_TRUSTED_PROXIES="127.0.0.1",
            BETMESH_EDGE_MAX_REQUEST_BYTES="4096",
        )
    )
    await edge.start()
    session = aiohttp.ClientSession()
    redis_client = aioredis.Redis.from_url(redis_url)
    live_channel = grpc.aio.insecure_channel(f"127.0.0.1:{live.port}")
    identity_channel = grpc.aio.insecure_channel(f"127.0.0.1:{identity_port}")
    try:
        yield Mesh(
            identity,
            live,
            live_channel,
            identity_service_pb2_grpc.IdentityServiceStub(identity_channel),
            edge,
            GrpcWebClient(session, edge.url),
            session,
            EventPublisher(redis_client, "betmesh.gateway"),
            web_root,
        )
    finally:
        await session.close()
        await edge.stop()
        await live_channel.close()
        await identity_channel.close()
        await redis_client.aclose()  # type: ignore[attr-defined]
        await live.stop(0)
        await identity.stop(0)


def only(fixture_id: str, **fields: object) -> lpb.StreamOddsRequest:
    return lpb.StreamOddsRequest(
        filter=lpb.SubscriptionFilter(fixture_ids=[fixture_id]),
        **fields,  # type: ignore[arg-type]
    )


def new_fixture() -> str:
    return f"edge-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
async def test_unary_calls_reach_identity_and_come_back_intact(mesh: Mesh, text: bool) -> None:
    registered = await mesh.web.unary(
        REGISTER, ipb.RegisterPlayerRequest(display_name="Zoé Ω"), text=text
    )
    assert registered.http_status == 200 and not registered.trailers_only
    assert registered.headers["content-type"].startswith(
        "application/grpc-web-text" if text else "application/grpc-web"
    )
    assert registered.code == OK
    (answer,) = registered.parsed(ipb.RegisterPlayerResponse)
    assert answer.player.display_name == "Zoé Ω" and answer.access_token.token
    # The player's own account, with the token the edge forwarded.
    read = await mesh.web.unary(
        GET_PLAYER,
        ipb.GetPlayerRequest(player_id=answer.player.player_id),
        text=text,
        token=answer.access_token.token,
    )
    assert read.code == OK, read.trailers
    (player,) = read.parsed(ipb.GetPlayerResponse)
    assert player.player.player_id == answer.player.player_id
    assert player.player.kyc_status == ipb.KYC_STATUS_PROVISIONAL


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
async def test_an_upstream_error_keeps_its_code_message_and_reason(mesh: Mesh, text: bool) -> None:
    _, token = await mesh.player()
    other, _ = await mesh.player()
    refused = await mesh.web.unary(
        GET_PLAYER, ipb.GetPlayerRequest(player_id=other), text=text, token=token
    )
    # Before any message: trailers-only, the status in the HTTP headers, no body.
    assert refused.trailers_only and refused.http_status == 200
    assert (refused.code, refused.reason) == (PERMISSION_DENIED, "NOT_YOUR_ACCOUNT")
    assert refused.message  # percent-decoded by the client; present and human-readable
    status = refused.status
    assert status is not None and status.code == PERMISSION_DENIED


async def test_missing_and_bad_tokens_are_refused_at_the_edge(mesh: Mesh) -> None:
    request = ipb.GetPlayerRequest(player_id="anyone")
    missing = await mesh.web.unary(GET_PLAYER, request)
    assert (missing.code, missing.reason) == (UNAUTHENTICATED, "TOKEN_MISSING")
    bad = await mesh.web.unary(GET_PLAYER, request, token="not.a.jwt")
    assert bad.code == UNAUTHENTICATED and (bad.reason or "").startswith("TOKEN_")
    streaming = await anext(mesh.web.stream(STREAM_ODDS, only(new_fixture())))
    assert streaming[0].trailers_only
    assert (streaming[0].code, streaming[0].reason) == (UNAUTHENTICATED, "TOKEN_MISSING")


async def test_methods_not_on_the_allow_list_never_reach_a_service(mesh: Mesh) -> None:
    _, token = await mesh.player()
    for path in (
        "/betmesh.live.v1.LiveOddsService/IngestMatchEvent",
        "/betmesh.identity.v1.IdentityService/HandleKycWebhook",
        "/betmesh.nothing.v1.NoService/Nothing",
    ):
        result = await mesh.web.unary(path, ipb.GetJwksRequest(), token=token)
        assert (result.code, result.reason) == (UNIMPLEMENTED, "EDGE_METHOD_NOT_EXPOSED"), path


async def test_a_players_token_does_not_reach_operator_methods(mesh: Mesh) -> None:
    _, token = await mesh.player()
    # The bets upstream is not even configured here: the role check answers first.
    report = await mesh.web.unary(
        "/betmesh.bets.v1.BetService/GetExposureReport", ipb.GetJwksRequest(), token=token
    )
    assert (report.code, report.reason) == (PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
async def test_stream_odds_image_then_live_deltas(mesh: Mesh, text: bool) -> None:
    _, token = await mesh.player()
    fixture = new_fixture()
    received: list[lpb.StreamOddsResponse] = []
    stream = mesh.web.stream(STREAM_ODDS, only(fixture), text=text, token=token)
    async for result, raw in stream:
        assert not result.trailers_only, result.trailers
        assert raw is not None
        message = lpb.StreamOddsResponse.FromString(raw)
        if message.WhichOneof("payload") == "heartbeat":
            continue
        received.append(message)
        if len(received) == 1:
            assert message.WhichOneof("payload") == "full_image"
            await publish_prices(mesh.bus, fixture, LIVE, 21000)
            await publish_status(mesh.bus, fixture, market_pb2.MARKET_STATUS_SUSPENDED)
        updates = [u for m in received[1:] for u in m.deltas.updates]
        if len(updates) >= 2:
            break
    assert [u.WhichOneof("update") for u in updates[:2]] == ["odds_change", "bet_stop"]
    assert updates[0].odds_change.fixture.fixture_id == fixture
    assert updates[1].bet_stop.status == market_pb2.MARKET_STATUS_SUSPENDED
    assert [m.sequence for m in received] == sorted(m.sequence for m in received)


async def test_a_stream_refused_upstream_is_trailers_only_with_its_reason(mesh: Mesh) -> None:
    _, token = await mesh.player()
    bad = lpb.StreamOddsRequest(max_batch_size=501)
    async for result, raw in mesh.web.stream(STREAM_ODDS, bad, token=token, text=True):
        assert raw is None and result.trailers_only
        assert (result.code, result.reason) == (INVALID_ARGUMENT, "BATCH_SIZE_OUT_OF_RANGE")


async def test_grpc_timeout_is_the_upstream_deadline(mesh: Mesh) -> None:
    _, token = await mesh.player()
    final: WebResult | None = None
    async for result, _ in mesh.web.stream(
        STREAM_ODDS,
        only(new_fixture(), heartbeat_interval_ms=500),
        token=token,
        headers={"grpc-timeout": "1500m"},
    ):
        final = result
    # The stream would run forever (heartbeats); the browser's deadline ended it.
    assert final is not None and final.messages and final.code == DEADLINE_EXCEEDED
    malformed = await mesh.web.unary(
        REGISTER, ipb.RegisterPlayerRequest(), headers={"grpc-timeout": "soon"}
    )
    assert (malformed.code, malformed.reason) == (INVALID_ARGUMENT, "EDGE_BAD_TIMEOUT")


async def test_the_largest_grpc_timeout_is_bounded_and_zero_is_already_expired(
    mesh: Mesh,
) -> None:
    """99999999H (the most the header's format allows) overflowed grpc's deadline and the call
    failed at once with DEADLINE_EXCEEDED; it now gets the edge's bound and the service's own
    answer. 0n is a deadline already passed, not "no deadline"."""
    plain = await mesh.web.unary(REGISTER, ipb.RegisterPlayerRequest())
    largest = await mesh.web.unary(
        REGISTER, ipb.RegisterPlayerRequest(), headers={"grpc-timeout": "99999999H"}
    )
    assert largest.code != DEADLINE_EXCEEDED
    assert (largest.code, largest.reason) == (plain.code, plain.reason)
    _, token = await mesh.player()
    results = [
        result
        async for result, _ in mesh.web.stream(
            STREAM_ODDS,
            only(new_fixture(), heartbeat_interval_ms=500),
            token=token,
            headers={"grpc-timeout": "0n"},
        )
    ]
    assert results and results[-1].code == DEADLINE_EXCEEDED


async def test_a_browser_going_away_cancels_the_upstream_stream(mesh: Mesh) -> None:
    """Live allows each subscriber one stream here: the slot frees only when the edge cancels."""
    _, token = await mesh.player()
    auth = [("authorization", f"Bearer {token}")]
    async with aiohttp.ClientSession() as browser:
        web = GrpcWebClient(browser, mesh.edge.url)
        # No heartbeat for 30 s: nothing but the edge's cancellation can end it sooner.
        stream = web.stream(
            STREAM_ODDS, only(new_fixture(), heartbeat_interval_ms=30_000), token=token
        )
        result, raw = await anext(stream)
        assert raw is not None, result.trailers  # the image arrived: the stream is open upstream
        code, info, _ = await rpc_error(
            lambda: anext(aiter(mesh.live_stub().StreamOdds(only(new_fixture()), metadata=auth)))
        )
        assert (code, info and info.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "STREAM_LIMIT")
        await stream.aclose()  # the browser's tab closes
    # The browser's connection is closed; the same subscriber may stream again once live saw
    # its stream cancelled (polled, no timing asserted).
    for _ in range(100):
        call = mesh.live_stub().StreamOdds(only(new_fixture()), metadata=auth, timeout=10)
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            await asyncio.sleep(0.05)
            continue
        assert isinstance(first, lpb.StreamOddsResponse)
        assert first.WhichOneof("payload") == "full_image"
        call.cancel()
        break
    else:
        raise AssertionError("the upstream stream outlived the browser's connection")
    assert mesh.edge.forwarding.streams.total == 0


async def test_streams_per_client_and_request_size_are_bounded(mesh: Mesh) -> None:
    # Live allows one stream per player here: a token per stream.
    tokens = [(await mesh.player())[1] for _ in range(8)]
    opened = []
    for token in tokens[:3]:
        stream = mesh.web.stream(STREAM_ODDS, only(new_fixture()), token=token)
        result, raw = await anext(stream)
        assert raw is not None, result.trailers
        opened.append(stream)
    result, raw = await anext(mesh.web.stream(STREAM_ODDS, only(new_fixture()), token=tokens[3]))
    assert (result.code, result.reason) == (RESOURCE_EXHAUSTED, "EDGE_TOO_MANY_STREAMS")
    # Behind the balancer, each browser has its own allowance: the one it forwards for counts,
    # and a browser cannot borrow another's by writing its own X-Forwarded-For first.
    browser = {"x-forwarded-for": "203.0.113.9"}
    for n in (4, 5, 6):
        more = mesh.web.stream(STREAM_ODDS, only(new_fixture()), token=tokens[n], headers=browser)
        result, raw = await anext(more)
        assert raw is not None, result.trailers
        opened.append(more)
    spoofed = {"x-forwarded-for": "198.51.100.1, 203.0.113.9"}
    result, raw = await anext(
        mesh.web.stream(STREAM_ODDS, only(new_fixture()), token=tokens[7], headers=spoofed)
    )
    assert (result.code, result.reason) == (RESOURCE_EXHAUSTED, "EDGE_TOO_MANY_STREAMS")
    for stream in opened:
        await stream.aclose()
    # Over the edge's 4 KiB here, under the webhooks' 64 KiB the HTTP server itself allows.
    huge = ipb.RegisterPlayerRequest(display_name="x" * 5_000)
    too_large = await mesh.web.unary(REGISTER, huge)
    assert (too_large.code, too_large.reason) == (RESOURCE_EXHAUSTED, "EDGE_REQUEST_TOO_LARGE")


async def test_malformed_bodies_are_invalid_arguments(mesh: Mesh) -> None:
    headers = {"content-type": "application/grpc-web+proto"}
    for body, reason in (
        (b"\x00\x00\x00\x00\x09abc", "EDGE_BAD_FRAME"),
        (b"", "EDGE_BAD_FRAME"),
        (b"\x01\x00\x00\x00\x01x", "EDGE_COMPRESSION_UNSUPPORTED"),
    ):
        async with mesh.session.post(mesh.edge.url + REGISTER, data=body, headers=headers) as r:
            assert r.headers["grpc-status"] == str(INVALID_ARGUMENT)
            assert await r.read() == b""
            refused = WebResult(
                r.status,
                {},
                trailers={"grpc-status-details-bin": r.headers["grpc-status-details-bin"]},
            )
            assert refused.reason == reason
    async with mesh.session.post(
        mesh.edge.url + REGISTER,
        data=b"!!!",
        headers={"content-type": "application/grpc-web-text"},
    ) as r:
        assert r.headers["grpc-status"] == str(INVALID_ARGUMENT)
    async with mesh.session.post(
        mesh.edge.url + REGISTER, data=b"{}", headers={"content-type": "application/json"}
    ) as r:
        assert r.status == 415


async def test_cors_answers_allowed_origins_only(mesh: Mesh) -> None:
    preflight_headers = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,x-user-agent,authorization",
    }
    async with mesh.session.options(
        mesh.edge.url + REGISTER, headers={"origin": ALLOWED_ORIGIN, **preflight_headers}
    ) as allowed:
        assert allowed.status == 204
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        requested = {"content-type", "x-grpc-web", "x-user-agent", "authorization"}
        offered = {h.strip() for h in allowed.headers["access-control-allow-headers"].split(",")}
        assert requested | {"grpc-timeout", "traceparent"} <= offered
    async with mesh.session.options(
        mesh.edge.url + REGISTER, headers={"origin": "http://evil.example", **preflight_headers}
    ) as denied:
        assert not any(h.lower().startswith("access-control-") for h in denied.headers)
    # The actual calls: exposed headers for the allowed origin, nothing for another.
    call = await mesh.web.unary(
        REGISTER, ipb.RegisterPlayerRequest(), headers={"origin": ALLOWED_ORIGIN}
    )
    assert call.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = {h.strip() for h in call.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"grpc-status", "grpc-message", "grpc-status-details-bin"}
    other = await mesh.web.unary(
        REGISTER, ipb.RegisterPlayerRequest(), headers={"origin": "http://evil.example"}
    )
    assert not any(h.lower().startswith("access-control-") for h in other.headers)


async def test_the_web_app_is_served_with_spa_fallback_and_cache_rules(mesh: Mesh) -> None:
    base = mesh.edge.url
    async with mesh.session.get(base + "/") as index:
        assert index.status == 200 and "betmesh app" in await index.text()
        assert index.headers["cache-control"] == "no-cache"
    async with mesh.session.get(base + "/bets/open") as route:
        assert route.status == 200 and "betmesh app" in await route.text()
    async with mesh.session.get(base + "/assets/app-3f2a.js") as asset:
        assert asset.status == 200 and "immutable" in asset.headers["cache-control"]
    async with mesh.session.get(base + "/assets/gone-1234.js") as missing:
        assert missing.status == 404
    async with mesh.session.get(base + "/healthz") as health:
        assert health.status == 200


async def test_without_a_built_app_the_edge_says_how_to_build_it(
    mesh: Mesh, tmp_path: Path
) -> None:
    edge = build(
        edge_settings(
            {"live": mesh.live.port},
            0,
            BETMESH_EDGE_WEB_ROOT=str(tmp_path / "absent"),
            BETMESH_AUTH_MODE="anonymous",
        )
    )
    await edge.start()
    try:
        async with mesh.session.get(edge.url + "/") as page:
            assert page.status == 404
            assert "npm run build" in await page.text()
    finally:
        await edge.stop()


async def test_a_malformed_request_is_logged_without_its_bytes(
    mesh: Mesh, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp would log the request's first bytes; a bearer token must not reach the logs."""
    secret = "Bearer eyJ-not-to-be-logged"
    reader, writer = await asyncio.open_connection("127.0.0.1", mesh.edge.port)
    # A header line without its colon: aiohttp quotes the offending line in its error.
    writer.write(f"POST /x HTTP/1.1\r\nauthorization {secret}\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read(1024)
    writer.close()
    assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    logged = "\n".join(
        r.getMessage() + (r.exc_text or "") + str(r.exc_info or "") for r in caplog.records
    )
    assert "malformed HTTP request refused" in logged
    assert "not-to-be-logged" not in logged


async def test_a_service_not_behind_this_edge_is_unavailable_with_a_reason(mesh: Mesh) -> None:
    player_id, token = await mesh.player()
    wallet = await mesh.web.unary(
        "/betmesh.bets.v1.BetService/GetWallet",
        ipb.GetPlayerRequest(player_id=player_id),
        token=token,
    )
    assert (wallet.code, wallet.reason) == (UNAVAILABLE, "EDGE_UPSTREAM_NOT_CONFIGURED")
