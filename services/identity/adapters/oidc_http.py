"""The OpenID provider over HTTP (httpx): discovery, JWKS, token and userinfo endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from service_runtime.errors import Unavailable
from services.identity.adapters.bounded_http import Answer, send_bounded
from services.identity.domain.franceconnect import ProviderRefused

# FranceConnect answers in well under a second; a stuck provider must not hold our callers.
TIMEOUT = httpx.Timeout(5.0)
# The whole exchange, not one read: httpx's timeout bounds each wait for bytes, so a provider
# (or a proxy before it) trickling its answer a byte at a time held a sign-in for as long as it
# liked, past the caller's deadline (DEADLINE_EXCEEDED, which says nothing of why).
TOTAL_SECONDS = 10.0
MAX_BODY = 256 * 1024


class HttpOidcTransport:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        # Redirects are never followed: an endpoint that redirects is misconfigured or hostile.
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)

    async def _send(self, request: httpx.Request) -> Answer:
        try:
            async with asyncio.timeout(TOTAL_SECONDS):
                answer = await send_bounded(self.client, request, MAX_BODY)
        except (httpx.HTTPError, TimeoutError) as exc:
            raise Unavailable(
                "FRANCECONNECT_UNREACHABLE", f"FranceConnect unreachable: {type(exc).__name__}"
            ) from None
        if answer is None:
            raise Unavailable("FRANCECONNECT_RESPONSE_TOO_LARGE", "oversized provider answer")
        return answer

    async def get_json(self, url: str) -> Mapping[str, Any]:
        response = await self._send(self.client.build_request("GET", url))
        if response.status_code != 200:
            raise Unavailable(
                "FRANCECONNECT_UNAVAILABLE", f"{url} answered HTTP {response.status_code}"
            )
        try:
            body = response.json()
        except ValueError:
            raise Unavailable("FRANCECONNECT_UNAVAILABLE", f"{url} did not answer JSON") from None
        if not isinstance(body, dict):
            raise Unavailable("FRANCECONNECT_UNAVAILABLE", f"{url} did not answer an object")
        return body

    async def post_form(self, url: str, form: Mapping[str, str]) -> Mapping[str, Any]:
        response = await self._send(
            self.client.build_request(
                "POST", url, data=dict(form), headers={"accept": "application/json"}
            )
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict):
            return body
        if 400 <= response.status_code < 500 and isinstance(body, dict) and "error" in body:
            raise ProviderRefused(str(body["error"]))
        raise Unavailable(
            "FRANCECONNECT_UNAVAILABLE", f"token endpoint answered HTTP {response.status_code}"
        )

    async def get_with_bearer(self, url: str, token: str) -> tuple[str, str]:
        response = await self._send(
            self.client.build_request("GET", url, headers={"authorization": f"Bearer {token}"})
        )
        if response.status_code != 200:
            raise Unavailable(
                "FRANCECONNECT_UNAVAILABLE", f"userinfo answered HTTP {response.status_code}"
            )
        return response.headers.get("content-type", ""), response.text

    async def close(self) -> None:
        await self.client.aclose()
