"""CORS by allow-list, for a web app served from another origin (e.g. Vite's dev server).

The app the edge serves itself is same-origin and needs none of this. An origin not on the
list gets no CORS header at all, so the browser refuses to hand the answer to its script;
the request may still reach us (CORS protects readers, it is not authentication: tokens are).
"""

from __future__ import annotations

from collections.abc import Collection

EXPOSED_HEADERS = "grpc-status, grpc-message, grpc-status-details-bin"
ALLOWED_HEADERS = (
    "content-type, x-grpc-web, x-user-agent, grpc-timeout, authorization, traceparent, "
    "tracestate, connect-protocol-version, connect-timeout-ms"
)
ALLOWED_METHODS = "POST, GET, OPTIONS"
# Browsers cap this (Chromium at 2 h); a day is the usual ask.
MAX_AGE_SECONDS = "86400"
PREFLIGHT_HEADERS = {
    "access-control-allow-methods": ALLOWED_METHODS,
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-max-age": MAX_AGE_SECONDS,
}


class CorsPolicy:
    def __init__(self, origins: Collection[str]) -> None:
        self.origins = frozenset(origins)

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and origin in self.origins

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """The CORS headers of any answer to `origin` (none for an origin not on the list)."""
        if origin is None or not self.allowed(origin):
            return {}
        return {
            "access-control-allow-origin": origin,
            "access-control-expose-headers": EXPOSED_HEADERS,
        }
