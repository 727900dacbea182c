"""Identity's HTTP clients (the OpenID provider's, the KYC provider's) against a real HTTP server
that answers without end: the answer is cut at the cap, not read whole first.

httpx bounded each wait for bytes and identity the whole exchange (10 s), but the size cap was
checked after the body was read: a provider, or a proxy before it, streaming an endless answer
fast made identity hold as much of it in memory as it could send in ten seconds (on loopback,
gigabytes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from service_runtime.errors import Unavailable
from services.identity.adapters.oidc_http import MAX_BODY, HttpOidcTransport
from services.identity.adapters.ubble import UbbleProvider

CHUNK = 1024 * 1024
ENDLESS = 512  # chunks: half a gigabyte, far more than any answer we accept


class EndlessServer:
    """Answers every GET with 200 and a body that does not end; counts what it sent."""

    def __init__(self) -> None:
        self.sent = 0
        self.url = ""

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"issuer": "')
        block = b"a" * CHUNK
        try:
            for _ in range(ENDLESS):
                await response.write(block)
                self.sent += CHUNK
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: what we count is what it took
        return response

    async def declared(self, request: web.Request) -> web.Response:
        # A length far above the cap, announced before any byte of the body.
        self.sent += MAX_BODY + 1
        return web.Response(body=b"x" * (MAX_BODY + 1), content_type="application/json")


@pytest.fixture
async def server() -> AsyncIterator[EndlessServer]:
    endless = EndlessServer()
    app = web.Application()
    app.router.add_get("/endless", endless.endless)
    app.router.add_post("/endless/identifications/", endless.endless)
    app.router.add_get("/declared", endless.declared)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    endless.url = f"http://127.0.0.1:{port}"
    try:
        yield endless
    finally:
        await runner.cleanup()


async def test_an_endless_answer_is_cut_at_the_cap_not_read_whole(server: EndlessServer) -> None:
    transport = HttpOidcTransport()
    try:
        with pytest.raises(Unavailable) as refused:
            await transport.get_json(f"{server.url}/endless")
    finally:
        await transport.close()
    assert refused.value.reason == "FRANCECONNECT_RESPONSE_TOO_LARGE"
    # The server could push some megabytes into the sockets' buffers before it blocked; reading
    # the answer whole took all 512 (the test fails that way without the bounded read).
    assert server.sent < 64 * CHUNK


async def test_an_answer_declared_too_large_is_refused(server: EndlessServer) -> None:
    transport = HttpOidcTransport()
    try:
        with pytest.raises(Unavailable) as refused:
            await transport.get_json(f"{server.url}/declared")
    finally:
        await transport.close()
    assert refused.value.reason == "FRANCECONNECT_RESPONSE_TOO_LARGE"


async def test_an_endless_kyc_answer_is_cut_at_the_cap(server: EndlessServer) -> None:
    kyc = UbbleProvider(f"{server.url}/endless", "client", "secret", b"webhook", "http://back")
    try:
        with pytest.raises(Unavailable) as refused:
            await kyc.create_session("player-1")
    finally:
        await kyc.close()
    assert refused.value.reason == "KYC_PROVIDER_RESPONSE_TOO_LARGE"
    assert server.sent < 64 * CHUNK
