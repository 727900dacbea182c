"""The plain HTTP the protocols need: FranceConnect's browser redirects, KYC webhooks.

Both are answered by the identity service over gRPC (its login and webhook RPCs are open:
their callers have no betmesh token yet); the edge turns them into redirects and status codes.

Sign-in lands back on the app with the player's token in the URL fragment: a fragment is never
sent to a server, so the token is in no access log, proxy log or Referer; the app reads it and
removes it from the address bar at once (README.md, "Sign-in").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from urllib.parse import urlencode, urlsplit

import grpc
from aiohttp import web
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from opentelemetry.trace import Span, SpanKind

from gateway.edge.upstreams import Upstreams
from service_runtime.errors import DomainError, error_info, status_from_metadata
from service_runtime.telemetry import extract_context, tracer

log = logging.getLogger(__name__)
_tracer = tracer("gateway.edge")
IDENTITY_TIMEOUT_SECONDS = 10.0
# Webhook headers worth forwarding (signatures, timestamps, ids): not cookies or hop headers.
_HOP_HEADERS = frozenset(
    {"connection", "cookie", "host", "keep-alive", "transfer-encoding", "upgrade", "authorization"}
)
_WEBHOOK_STATUS = {
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 503,
}


def app_path(value: str | None) -> str | None:
    """A path on our own origin, or None: never an open redirect to somewhere else."""
    if not value:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 0x20 for c in value):
        return None
    return value


def _reason(exc: grpc.aio.AioRpcError) -> str:
    info = error_info(status_from_metadata(exc.trailing_metadata()))
    return str(info.reason) if info is not None else str(exc.code().name)


class IdentityRoutes:
    def __init__(self, upstreams: Upstreams, public_url: str) -> None:
        self.upstreams = upstreams
        self.public_url = public_url

    def _stub(self) -> identity_service_pb2_grpc.IdentityServiceStub:
        return identity_service_pb2_grpc.IdentityServiceStub(self.upstreams.channel("identity"))

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/auth/franceconnect/login", self.login),
            web.get("/auth/franceconnect/callback", self.callback),
            web.get("/auth/franceconnect/logout", self.logout),
            web.get("/auth/franceconnect/logout/callback", self.logout_callback),
            web.post("/webhooks/kyc/{provider}", self.kyc_webhook),
        ]

    def _back(self, fragment: dict[str, str], path: str = "/") -> web.HTTPSeeOther:
        response = web.HTTPSeeOther(f"{path}#{urlencode(fragment)}")
        response.headers["cache-control"] = "no-store"
        response.headers["referrer-policy"] = "no-referrer"
        return response

    @contextmanager
    def _refused_back_to_app(self, key: str) -> Iterator[None]:
        """Identity refusing (or unreachable) sends the browser back to the app, the reason in
        the fragment under `key`."""
        try:
            yield
        except grpc.aio.AioRpcError as exc:
            log.warning("identity refused a sign-in step", extra={"reason": _reason(exc)})
            raise self._back({key: _reason(exc)}) from None
        except DomainError as exc:
            raise self._back({key: exc.reason}) from None

    async def login(self, request: web.Request) -> web.StreamResponse:
        path = app_path(request.query.get("return_to"))
        if path is None:
            raise self._back({"login_error": "RETURN_TO_NOT_ALLOWED"})
        with _span("franceconnect login", request), self._refused_back_to_app("login_error"):
            started = await self._stub().StartFranceConnectLogin(
                pb.StartFranceConnectLoginRequest(return_to=self.public_url + path),
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        response = web.HTTPFound(started.authorization_url)
        response.headers["cache-control"] = "no-store"
        raise response

    async def callback(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        with _span("franceconnect callback", request), self._refused_back_to_app("login_error"):
            done = await self._stub().CompleteFranceConnectLogin(
                pb.CompleteFranceConnectLoginRequest(
                    code=query.get("code", ""),
                    state=query.get("state", ""),
                    iss=query.get("iss", ""),
                    error=query.get("error", ""),
                    error_description=query.get("error_description", ""),
                ),
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        raise self._back(
            {
                "access_token": done.access_token.token,
                "expires_at": str(done.access_token.expires_at.seconds),
                "player_id": done.player.player_id,
                "session_id": done.session_id,
            },
            self._own_path(done.return_to),
        )

    def _own_path(self, return_to: str) -> str:
        """Identity checked return_to against its allow-list; we land only on our origin."""
        target, ours = urlsplit(return_to), urlsplit(self.public_url)
        if (target.scheme, target.netloc) != (ours.scheme, ours.netloc):
            return "/"
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        return app_path(path) or "/"

    async def logout(self, request: web.Request) -> web.StreamResponse:
        with _span("franceconnect logout", request), self._refused_back_to_app("logout_error"):
            started = await self._stub().StartFranceConnectLogout(
                pb.StartFranceConnectLogoutRequest(session_id=request.query.get("session_id", "")),
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        raise web.HTTPFound(started.logout_url)

    async def logout_callback(self, request: web.Request) -> web.StreamResponse:
        with (
            _span("franceconnect logout callback", request),
            self._refused_back_to_app("logout_error"),
        ):
            await self._stub().CompleteFranceConnectLogout(
                pb.CompleteFranceConnectLogoutRequest(state=request.query.get("state", "")),
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        raise self._back({"logged_out": "1"})

    async def kyc_webhook(self, request: web.Request) -> web.StreamResponse:
        """Same answers as identity's own webhook endpoint: quick, and nothing to learn from."""
        provider = request.match_info["provider"]
        try:
            raw_body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "WEBHOOK_TOO_LARGE"}, status=413)
        headers = [
            pb.WebhookHeader(name=name.lower(), value=value)
            for name, value in request.headers.items()
            if name.lower() not in _HOP_HEADERS
        ]
        with _span("kyc webhook", request):
            try:
                handled = await self._stub().HandleKycWebhook(
                    pb.HandleKycWebhookRequest(
                        provider=provider, headers=headers, raw_body=raw_body
                    ),
                    timeout=IDENTITY_TIMEOUT_SECONDS,
                )
            except grpc.aio.AioRpcError as exc:
                status = _WEBHOOK_STATUS.get(exc.code(), 400)
                if status == 503 and exc.code() == grpc.StatusCode.UNAVAILABLE:
                    log.warning("kyc webhook: identity unavailable")
                return web.json_response({"error": _reason(exc)}, status=status)
            except DomainError as exc:
                return web.json_response({"error": exc.reason}, status=503)
        outcome = pb.WebhookOutcome.Name(handled.outcome).removeprefix("WEBHOOK_OUTCOME_")
        return web.json_response({"outcome": outcome})


def _span(name: str, request: web.Request) -> AbstractContextManager[Span]:
    parent = extract_context({k.lower(): v for k, v in request.headers.items()})
    return _tracer.start_as_current_span(
        name,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": request.method, "url.path": request.path},
    )
