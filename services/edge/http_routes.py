"""The plain HTTP the protocols need: FranceConnect's browser redirects, KYC webhooks.

Both are answered by the identity service over gRPC (its login and webhook RPCs are open:
their callers have no betmesh token yet); the edge turns them into redirects and status codes.

Sign-in lands back on the app with the player's token in the URL fragment: a fragment is never
sent to a server, so the token is in no access log, proxy log or Referer; the app reads it and
removes it from the address bar at once (README.md, "Sign-in").

A sign-in is bound to the browser that starts it: the login route makes a fresh secret, puts it
in an HttpOnly, SameSite=Lax cookie (Secure, and `__Host-`, when served over TLS) and hands it
to identity, which keeps its digest with the attempt and derives the PKCE verifier from it. The
callback completes only with that cookie: a callback URL opened in another browser (an
attacker's link, a leaked URL) is refused. Query parameters named twice are refused outright.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from urllib.parse import urlencode, urlsplit

import grpc
from aiohttp import web
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from opentelemetry.trace import Span, SpanKind

from service_runtime.auth import LOGIN_BINDING_HEADER, VISITOR_HEADER
from service_runtime.client_tokens import TokenSource
from service_runtime.errors import DomainError, error_info, status_from_metadata
from service_runtime.telemetry import extract_context, tracer
from services.edge.adapters.upstreams import Upstreams
from services.edge.domain.client_address import Network, client_address

log = logging.getLogger(__name__)
_tracer = tracer("services.edge")
IDENTITY_TIMEOUT_SECONDS = 10.0
# Webhook headers worth forwarding (signatures, timestamps, ids): not cookies or hop headers.
_HOP_HEADERS = frozenset(
    {"connection", "cookie", "host", "keep-alive", "transfer-encoding", "upgrade", "authorization"}
)
# Identity's attempt lifetime: the cookie is of no use after it.
SIGNIN_COOKIE_SECONDS = 600
Metadata = tuple[tuple[str, str], ...]
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


def _retry_after(exc: grpc.aio.AioRpcError) -> str:
    info = error_info(status_from_metadata(exc.trailing_metadata()))
    seconds = info.metadata.get("retry_after_seconds", "") if info is not None else ""
    return seconds if seconds.isascii() and seconds.isdigit() and len(seconds) < 8 else "60"


def _single(request: web.Request, names: Sequence[str] | None = None) -> bool:
    """No query parameter (of `names`, or any) given twice: `iss=good&iss=evil` has no one
    meaning, and which one a check and a later step would read is up to chance."""
    # items(), not keys(): a multidict's keys() names a repeated key once.
    keys = [key for key, _ in request.query.items()]
    watched = [k for k in keys if names is None or k in names]
    return len(watched) == len(set(watched))


class IdentityRoutes:
    def __init__(
        self,
        upstreams: Upstreams,
        public_url: str,
        *,
        public_tokens: TokenSource | None = None,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.upstreams = upstreams
        self.public_url = public_url
        # The edge's own credential: with it, identity believes the visitor's address we pass
        # (its per-address rate limits count visitors, not the edge).
        self.public_tokens = public_tokens
        self.trusted_proxies = tuple(trusted_proxies)

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def cookie_name(self) -> str:
        # __Host-: only ever set by this origin over TLS, for the whole origin, never by a
        # sibling subdomain (no cookie injection to fix a binding).
        return "__Host-betmesh_signin" if self.secure else "betmesh_signin"

    def _set_cookie(self, response: web.StreamResponse, value: str) -> None:
        response.set_cookie(
            self.cookie_name,
            value,
            max_age=SIGNIN_COOKIE_SECONDS,
            path="/" if self.secure else "/auth/franceconnect",
            secure=self.secure,
            httponly=True,
            # Lax: FranceConnect's redirect back is a top-level cross-site GET, which Lax lets
            # through (Strict would not); cross-site subrequests and POSTs never carry it.
            samesite="Lax",
        )

    def _clear_cookie(self, response: web.StreamResponse) -> None:
        self._set_cookie(response, "")
        response.cookies[self.cookie_name]["max-age"] = "0"

    async def _vouching(self, request: web.Request) -> Metadata:
        """The edge's token and the visitor's address, for identity's per-address limits."""
        if self.public_tokens is None:
            return ()
        visitor = client_address(
            request.remote, request.headers.get("x-forwarded-for"), self.trusted_proxies
        )
        try:
            token = await self.public_tokens.token("betmesh.identity", IDENTITY_TIMEOUT_SECONDS)
        except DomainError as exc:
            # Identity then counts the call against the edge's own address: stricter, not open.
            log.warning("no edge token for identity", extra={"reason": exc.reason})
            return ()
        return (("authorization", f"Bearer {token}"), (VISITOR_HEADER, visitor))

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

    def _back(
        self, fragment: dict[str, str], path: str = "/", *, clear_signin: bool = False
    ) -> web.HTTPSeeOther:
        response = web.HTTPSeeOther(f"{path}#{urlencode(fragment)}")
        response.headers["cache-control"] = "no-store"
        response.headers["referrer-policy"] = "no-referrer"
        if clear_signin:
            self._clear_cookie(response)
        return response

    @contextmanager
    def _refused_back_to_app(self, key: str, *, clear_signin: bool = False) -> Iterator[None]:
        """Identity refusing (or unreachable) sends the browser back to the app, the reason in
        the fragment under `key`; too many sign-ins from one address get 429 and a delay."""
        try:
            yield
        except grpc.aio.AioRpcError as exc:
            log.warning("identity refused a sign-in step", extra={"reason": _reason(exc)})
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                seconds = _retry_after(exc)
                raise web.HTTPTooManyRequests(
                    text=f"Too many sign-in attempts from this address: retry in {seconds} s.\n",
                    headers={"retry-after": seconds, "cache-control": "no-store"},
                ) from None
            raise self._back({key: _reason(exc)}, clear_signin=clear_signin) from None
        except DomainError as exc:
            raise self._back({key: exc.reason}, clear_signin=clear_signin) from None

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not _single(request):
            raise self._back({"login_error": "QUERY_PARAMETER_REPEATED"})
        path = app_path(request.query.get("return_to"))
        if path is None:
            raise self._back({"login_error": "RETURN_TO_NOT_ALLOWED"})
        # 256 bits, in the browser's cookie only: it binds this sign-in to this browser.
        binding = secrets.token_urlsafe(32)
        metadata = (*await self._vouching(request), (LOGIN_BINDING_HEADER, binding))
        with _span("franceconnect login", request), self._refused_back_to_app("login_error"):
            started = await self._stub().StartFranceConnectLogin(
                pb.StartFranceConnectLoginRequest(return_to=self.public_url + path),
                metadata=metadata,
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        response = web.HTTPFound(started.authorization_url)
        response.headers["cache-control"] = "no-store"
        self._set_cookie(response, binding)
        raise response

    async def callback(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if not _single(request):
            raise self._back({"login_error": "QUERY_PARAMETER_REPEATED"}, clear_signin=True)
        binding = request.cookies.get(self.cookie_name, "")
        if not binding:
            # Not the browser that started this sign-in (or its cookie expired): no token.
            # Identity is not asked, so the sign-in stays completable where it started.
            raise self._back({"login_error": "LOGIN_COOKIE_MISSING"})
        with (
            _span("franceconnect callback", request),
            self._refused_back_to_app("login_error", clear_signin=True),
        ):
            done = await self._stub().CompleteFranceConnectLogin(
                pb.CompleteFranceConnectLoginRequest(
                    code=query.get("code", ""),
                    state=query.get("state", ""),
                    iss=query.get("iss", ""),
                    error=query.get("error", ""),
                    error_description=query.get("error_description", ""),
                ),
                metadata=((LOGIN_BINDING_HEADER, binding),),
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
            clear_signin=True,
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
        if not _single(request):
            raise self._back({"logout_error": "QUERY_PARAMETER_REPEATED"})
        with _span("franceconnect logout", request), self._refused_back_to_app("logout_error"):
            started = await self._stub().StartFranceConnectLogout(
                pb.StartFranceConnectLogoutRequest(session_id=request.query.get("session_id", "")),
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        raise web.HTTPFound(started.logout_url)

    async def logout_callback(self, request: web.Request) -> web.StreamResponse:
        if not _single(request):
            raise self._back({"logout_error": "QUERY_PARAMETER_REPEATED"})
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
        try:
            headers = [
                pb.WebhookHeader(name=name.lower(), value=value)
                for name, value in request.headers.items()
                if name.lower() not in _HOP_HEADERS
            ]
        except ValueError:
            # A header that is not UTF-8 (it arrives surrogate-escaped) cannot be a string of
            # the contract: the sender's mistake, answered as identity answers a malformed one.
            return web.json_response({"error": "WEBHOOK_HEADER_INVALID"}, status=400)
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
