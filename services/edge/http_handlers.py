"""The edge's plain HTTP handlers: CORS (preflight and every answer's headers) and health."""

from __future__ import annotations

from aiohttp import web

from services.edge.domain.cors import PREFLIGHT_HEADERS, CorsPolicy


class Cors:
    def __init__(self, policy: CorsPolicy) -> None:
        self.policy = policy

    async def preflight(self, request: web.Request) -> web.StreamResponse:
        if not self.policy.allowed(request.headers.get("origin")):
            # No CORS headers: the browser's preflight fails and the call is never sent.
            return web.Response(status=403, text="origin not allowed\n")
        return web.Response(status=204, headers=PREFLIGHT_HEADERS)

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Runs before any response's headers go out, streamed ones included."""
        response.headers.add("vary", "origin")
        response.headers.update(self.policy.response_headers(request.headers.get("origin")))


async def health(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok\n", headers={"cache-control": "no-store"})
