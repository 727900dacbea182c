"""The plain HTTP the protocols need, as aiohttp handlers: FranceConnect's browser redirects
and KYC webhooks (service_layer/sign_in.py and webhooks.py relay them to identity), CORS
(domain/cors.py decides) and the health check.

Translation only: a request becomes a command (query names, cookie, the browser's address),
the use case's answer becomes a redirect, a cookie or a status code.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from urllib.parse import urlencode

from aiohttp import web
from opentelemetry.trace import Span, SpanKind

from service_runtime.telemetry import extract_context, tracer
from services.edge.domain.client_address import Network, client_address
from services.edge.domain.cors import PREFLIGHT_HEADERS, CorsPolicy
from services.edge.domain.signin import SIGNIN_COOKIE_SECONDS, cookie_name, cookie_path
from services.edge.service_layer.commands import (
    BackToApp,
    CompleteSignIn,
    CompleteSignOut,
    RelayKycWebhook,
    SignInAnswer,
    SlowDown,
    StartSignIn,
    StartSignOut,
)
from services.edge.service_layer.sign_in import SignIn
from services.edge.service_layer.webhooks import KycWebhooks

_tracer = tracer("services.edge")


class IdentityRoutes:
    def __init__(
        self,
        sign_in: SignIn,
        webhooks: KycWebhooks,
        *,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.sign_in = sign_in
        self.webhooks = webhooks
        self.trusted_proxies = tuple(trusted_proxies)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/auth/franceconnect/login", self.login),
            web.get("/auth/franceconnect/callback", self.callback),
            web.get("/auth/franceconnect/logout", self.logout),
            web.get("/auth/franceconnect/logout/callback", self.logout_callback),
            web.post("/webhooks/kyc/{provider}", self.kyc_webhook),
        ]

    @property
    def cookie_name(self) -> str:
        return cookie_name(self.sign_in.secure)

    async def login(self, request: web.Request) -> web.StreamResponse:
        command = StartSignIn(
            _keys(request),
            request.query.get("return_to"),
            client_address(
                request.remote, request.headers.get("x-forwarded-for"), self.trusted_proxies
            ),
        )
        with _span("franceconnect login", request):
            raise self._answer(await self.sign_in.login(command))

    async def callback(self, request: web.Request) -> web.StreamResponse:
        command = CompleteSignIn(
            _keys(request), request.query, request.cookies.get(self.cookie_name, "")
        )
        with _span("franceconnect callback", request):
            raise self._answer(await self.sign_in.callback(command))

    async def logout(self, request: web.Request) -> web.StreamResponse:
        command = StartSignOut(_keys(request), request.query.get("session_id", ""))
        with _span("franceconnect logout", request):
            raise self._answer(await self.sign_in.logout(command))

    async def logout_callback(self, request: web.Request) -> web.StreamResponse:
        command = CompleteSignOut(_keys(request), request.query.get("state", ""))
        with _span("franceconnect logout callback", request):
            raise self._answer(await self.sign_in.logout_callback(command))

    async def kyc_webhook(self, request: web.Request) -> web.StreamResponse:
        try:
            raw_body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "WEBHOOK_TOO_LARGE"}, status=413)
        command = RelayKycWebhook(
            request.match_info["provider"], tuple(request.headers.items()), raw_body
        )
        with _span("kyc webhook", request):
            answer = await self.webhooks.relay(command)
        return web.json_response(dict(answer.body), status=answer.status)

    def _answer(self, answer: SignInAnswer) -> web.HTTPException:
        if isinstance(answer, BackToApp):
            back = web.HTTPSeeOther(f"{answer.path}#{urlencode(answer.fragment)}")
            back.headers["cache-control"] = "no-store"
            back.headers["referrer-policy"] = "no-referrer"
            if answer.clear_signin:
                self._set_cookie(back, "")
                back.cookies[self.cookie_name]["max-age"] = "0"
            return back
        if isinstance(answer, SlowDown):
            return web.HTTPTooManyRequests(
                text=f"Too many sign-in attempts from this address: retry in "
                f"{answer.retry_after} s.\n",
                headers={"retry-after": answer.retry_after, "cache-control": "no-store"},
            )
        found = web.HTTPFound(answer.url)
        if answer.binding is not None:
            found.headers["cache-control"] = "no-store"
            self._set_cookie(found, answer.binding)
        return found

    def _set_cookie(self, response: web.StreamResponse, value: str) -> None:
        secure = self.sign_in.secure
        response.set_cookie(
            self.cookie_name,
            value,
            max_age=SIGNIN_COOKIE_SECONDS,
            path=cookie_path(secure),
            secure=secure,
            httponly=True,
            # Lax: FranceConnect's redirect back is a top-level cross-site GET, which Lax lets
            # through (Strict would not); cross-site subrequests and POSTs never carry it.
            samesite="Lax",
        )


def _keys(request: web.Request) -> tuple[str, ...]:
    # items(), not keys(): a multidict's keys() names a repeated key once.
    return tuple(key for key, _ in request.query.items())


def _span(name: str, request: web.Request) -> AbstractContextManager[Span]:
    parent = extract_context({k.lower(): v for k, v in request.headers.items()})
    return _tracer.start_as_current_span(
        name,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": request.method, "url.path": request.path},
    )


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
