"""Public odds through the edge: an anonymous browser's StreamOdds goes upstream with the edge's
own public-role token; nothing else does, and live refuses that role anywhere but StreamOdds.
Real identity (PostgreSQL), live (Redis, the event bus) and edge, in tokens mode."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.bets.v1 import bet_service_pb2 as bpb
from betmesh.identity.v1 import identity_service_pb2 as ipb
from betmesh.identity.v1 import identity_service_pb2_grpc
from betmesh.live.v1 import live_odds_service_pb2 as lpb
from betmesh.live.v1 import live_odds_service_pb2_grpc, match_event_pb2

from service_runtime.events import EventPublisher
from service_runtime.server import ServiceHost
from services.edge.app import Edge, build
from tests.integration.test_edge_grpc_web import (
    edge_settings,
    new_fixture,
    only,
    start_identity,
    start_live,
)
from tests.integration.test_live_stream import LIVE, publish_prices
from tests.support.grpc_helpers import rpc_error
from tests.support.grpc_web import GrpcWebClient, WebResult

UNAUTHENTICATED, RESOURCE_EXHAUSTED = 16, 8
STREAM_ODDS = "/betmesh.live.v1.LiveOddsService/StreamOdds"
EDGE_CLIENT, EDGE_SECRET = "svc-edge", "edge-secret-for-tests"
PARTNER_CLIENT, PARTNER_SECRET = "partner-1", "partner-secret"
CLIENTS = [
    {
        "client_id": EDGE_CLIENT,
        "secret_sha256": hashlib.sha256(EDGE_SECRET.encode()).hexdigest(),
        "role": "public",
        # Identity too: the edge vouches for visitors' addresses on sign-ups.
        "audiences": ["betmesh.live", "betmesh.identity"],
    },
    {
        "client_id": PARTNER_CLIENT,
        "secret_sha256": hashlib.sha256(PARTNER_SECRET.encode()).hexdigest(),
        "role": "partner",
        "audiences": ["betmesh.live"],
    },
]


@dataclass
class PublicMesh:
    live: ServiceHost
    live_stub: live_odds_service_pb2_grpc.LiveOddsServiceStub
    identity_stub: identity_service_pb2_grpc.IdentityServiceStub
    edge: Edge
    web: GrpcWebClient
    bus: EventPublisher

    async def token(self, client_id: str, secret: str, audience: str = "betmesh.live") -> str:
        issued = await self.identity_stub.IssueToken(
            ipb.IssueTokenRequest(client_id=client_id, client_secret=secret, audience=audience),
            timeout=10,
        )
        return str(issued.access_token.token)


@pytest.fixture(scope="module")
async def mesh(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PublicMesh]:
    folder = tmp_path_factory.mktemp("edge-public")
    secret_file = folder / "edge.secret"
    secret_file.write_text(EDGE_SECRET + "\n")
    os.chmod(secret_file, 0o600)
    identity, identity_port = await start_identity(
        folder, database_url, redis_url, CLIENTS, BETMESH_IDENTITY_REGISTRATIONS_PER_HOUR="2"
    )
    # Live's per-subscriber limit, below the edge's: anonymous visitors share the edge's token
    # subject, so it must count per visitor or they would share it.
    live = await start_live(redis_url, identity_port, "edgepub", max_per_partner=2)
    edge = build(
        edge_settings(
            {"identity": identity_port, "live": live.port},
            identity_port,
            BETMESH_EDGE_MAX_STREAMS_PER_CLIENT="2",
            BETMESH_EDGE_TRUSTED_PROXIES="127.0.0.1",
            BETMESH_CLIENT_ID=EDGE_CLIENT,
            BETMESH_CLIENT_SECRET_FILE=str(secret_file),
        )
    )
    await edge.start()
    session = aiohttp.ClientSession()
    redis_client = aioredis.Redis.from_url(redis_url)
    live_channel = grpc.aio.insecure_channel(f"127.0.0.1:{live.port}")
    identity_channel = grpc.aio.insecure_channel(f"127.0.0.1:{identity_port}")
    try:
        yield PublicMesh(
            live,
            live_odds_service_pb2_grpc.LiveOddsServiceStub(live_channel),
            identity_service_pb2_grpc.IdentityServiceStub(identity_channel),
            edge,
            GrpcWebClient(session, edge.url),
            EventPublisher(redis_client, "betmesh.gateway"),
        )
    finally:
        await session.close()
        await edge.stop()
        await live_channel.close()
        await identity_channel.close()
        await redis_client.aclose()  # type: ignore[attr-defined]
        await live.stop(0)
        await identity.stop(0)


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
async def test_an_anonymous_browser_receives_odds(mesh: PublicMesh, text: bool) -> None:
    fixture = new_fixture()
    prices: list[lpb.FixtureOdds] = []
    async for result, raw in mesh.web.stream(STREAM_ODDS, only(fixture), text=text):
        assert raw is not None, result.trailers  # no token, yet not refused
        message = lpb.StreamOddsResponse.FromString(raw)
        kind = message.WhichOneof("payload")
        if kind == "full_image":
            await publish_prices(mesh.bus, fixture, LIVE, 21000)
        elif kind == "deltas":
            prices += [u.odds_change for u in message.deltas.updates if u.HasField("odds_change")]
            if prices:
                break
    assert prices[0].fixture.fixture_id == fixture
    assert prices[0].markets[0].selections[0].odds_e4 > 0


async def test_anonymous_calls_to_anything_else_are_refused_as_before(mesh: PublicMesh) -> None:
    refused = {
        "/betmesh.bets.v1.BetService/PlaceBet": bpb.PlaceBetRequest(),
        "/betmesh.live.v1.LiveOddsService/GetGameState": lpb.GetGameStateRequest(fixture_id="f"),
        "/betmesh.live.v1.LiveOddsService/UpdateSubscription": lpb.UpdateSubscriptionRequest(),
        "/betmesh.identity.v1.IdentityService/GetPlayer": ipb.GetPlayerRequest(player_id="p"),
    }
    for path, message in refused.items():
        result = await mesh.web.unary(path, message)
        assert (result.code, result.reason) == (UNAUTHENTICATED, "TOKEN_MISSING"), path
    # A browser that sends a token gets it checked, never swapped for the edge's.
    async for result, raw in mesh.web.stream(STREAM_ODDS, only(new_fixture()), token="bad"):
        assert raw is None and result.trailers_only
        assert result.code == UNAUTHENTICATED and (result.reason or "").startswith("TOKEN_")


async def test_a_players_token_is_still_forwarded_on_the_stream(mesh: PublicMesh) -> None:
    # Signed up through the edge from an address of its own: identity's per-address limit
    # counts in Redis for the whole test session, and 127.0.0.1 is every other test's too.
    visitor = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    answer = await mesh.web.unary(
        REGISTER,
        ipb.RegisterPlayerRequest(display_name="Signed in"),
        headers={"x-forwarded-for": visitor},
    )
    assert answer.code == 0, answer.trailers
    token = ipb.RegisterPlayerResponse.FromString(answer.messages[0]).access_token.token
    stream = mesh.web.stream(STREAM_ODDS, only(new_fixture()), token=token)
    result, raw = await anext(stream)
    assert raw is not None, result.trailers
    await stream.aclose()


async def test_the_public_role_is_refused_by_live_everywhere_but_stream_odds(
    mesh: PublicMesh,
) -> None:
    token = await mesh.token(EDGE_CLIENT, EDGE_SECRET)
    auth = [("authorization", f"Bearer {token}")]
    event = match_event_pb2.MatchEvent(fixture_id=new_fixture(), sequence=1)
    calls = {
        "IngestMatchEvent": lambda: mesh.live_stub.IngestMatchEvent(
            lpb.IngestMatchEventRequest(event=event), metadata=auth, timeout=10
        ),
        "UpdateSubscription": lambda: mesh.live_stub.UpdateSubscription(
            lpb.UpdateSubscriptionRequest(stream_id="s"), metadata=auth, timeout=10
        ),
        "GetGameState": lambda: mesh.live_stub.GetGameState(
            lpb.GetGameStateRequest(fixture_id="f"), metadata=auth, timeout=10
        ),
    }
    for name, call in calls.items():
        code, info, _ = await rpc_error(call)
        assert (code, info and info.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "ROLE_NOT_ALLOWED",
        ), name
    stream = mesh.live_stub.StreamOdds(only(new_fixture()), metadata=auth, timeout=10)
    first = await stream.read()
    assert isinstance(first, lpb.StreamOddsResponse)
    stream.cancel()
    # The edge's credential gets tokens for live only.
    code, info, _ = await rpc_error(
        lambda: mesh.token(EDGE_CLIENT, EDGE_SECRET, audience="betmesh.bets")
    )
    assert (code, info and info.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "AUDIENCE_NOT_ALLOWED",
    )


async def test_a_partner_still_needs_its_own_token_on_the_native_port(mesh: PublicMesh) -> None:
    code, info, _ = await rpc_error(
        lambda: anext(aiter(mesh.live_stub.StreamOdds(only(new_fixture()), timeout=10)))
    )
    assert (code, info and info.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    token = await mesh.token(PARTNER_CLIENT, PARTNER_SECRET)
    stream = mesh.live_stub.StreamOdds(
        only(new_fixture()), metadata=[("authorization", f"Bearer {token}")], timeout=10
    )
    assert isinstance(await stream.read(), lpb.StreamOddsResponse)
    stream.cancel()


async def test_public_streams_count_per_browser_address(mesh: PublicMesh) -> None:
    """The edge's per-client limit (2 here) applies to anonymous streams like any other, and
    live counts them per visitor, not all together under the edge's one token subject."""
    opened = []
    for browser in ("203.0.113.10", "203.0.113.11"):
        headers = {"x-forwarded-for": browser}
        for _ in range(2):
            stream = mesh.web.stream(STREAM_ODDS, only(new_fixture()), headers=headers)
            result, raw = await anext(stream)
            assert raw is not None, (browser, result.trailers)
            opened.append(stream)
        result, raw = await anext(
            mesh.web.stream(STREAM_ODDS, only(new_fixture()), headers=headers)
        )
        assert (result.code, result.reason) == (RESOURCE_EXHAUSTED, "EDGE_TOO_MANY_STREAMS")
    for stream in opened:
        await stream.aclose()


REGISTER = "/betmesh.identity.v1.IdentityService/RegisterPlayer"


async def test_sign_ups_through_the_edge_are_limited_per_visitor(mesh: PublicMesh) -> None:
    """The edge vouches for each visitor's address (its token, x-betmesh-public-client):
    identity's per-address limit holds one visitor back, not every browser behind the edge."""
    # Fresh documentation-range addresses: the limit's window outlives one test run.
    one, other = (f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}" for _ in range(2))
    request = ipb.RegisterPlayerRequest(display_name="Visiteur")

    async def sign_up(visitor: str) -> WebResult:
        return await mesh.web.unary(REGISTER, request, headers={"x-forwarded-for": visitor})

    for _ in range(2):
        assert (await sign_up(one)).code == 0
    refused = await sign_up(one)
    assert (refused.code, refused.reason) == (RESOURCE_EXHAUSTED, "RATE_LIMITED")
    assert (await sign_up(other)).code == 0
