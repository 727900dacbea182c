"""CORS by allow-list, for a web app served from another origin (e.g. Vite's dev server).

The app the edge serves itself is same-origin and needs none of this. An origin not on the
list gets no CORS header at all, so the browser refuses to hand the answer to its script;
the request may still reach us (CORS protects readers, it is not authentication: tokens are).
"""

from __future__ import annotations

from collections.abc import Collection

from aiohttp import web

EXPOSED_HEADERS = "grpc-status, grpc-message, grpc-status-details-bin"
ALLOWED_HEADERS = (
    "content-type, x-grpc-web, x-user-agent, grpc-timeout, authorization, traceparent, "
    "tracestate, connect-protocol-version, connect-timeout-ms"
)
ALLOWED_METHODS = "POST, GET, OPTIONS"
# Browsers cap this (Chromium at 2 h); a day is the usual ask.
MAX_AGE_SECONDS = "86400"


class Cors:
    def __init__(self, origins: Collection[str]) -> None:
        self.origins = frozenset(origins)

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and origin in self.origins

    async def preflight(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("origin")
        if not self.allowed(origin):
            # No CORS headers: the browser's preflight fails and the call is never sent.
            return web.Response(status=403, text="origin not allowed\n")
        return web.Response(
            status=204,
            headers={
                "access-control-allow-methods": ALLOWED_METHODS,
                "access-control-allow-headers": ALLOWED_HEADERS,
                "access-control-max-age": MAX_AGE_SECONDS,
            },
        )

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Runs before any response's headers go out, streamed ones included."""
        origin = request.headers.get("origin")
        response.headers.add("vary", "origin")
        if not self.allowed(origin):
            return
        assert origin is not None
        response.headers["access-control-allow-origin"] = origin
        response.headers["access-control-expose-headers"] = EXPOSED_HEADERS
