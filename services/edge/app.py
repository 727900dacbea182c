"""Wires the edge: the gRPC-web handler on the forwarding use case, identity's HTTP routes,
CORS, the web app, health."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from service_runtime.channels import credential_token_source
from service_runtime.client_tokens import TokenSource
from service_runtime.tls import server_ssl_context
from services.edge.adapters.identity import IdentityClient
from services.edge.adapters.static_site import StaticSite
from services.edge.adapters.tokens import EdgeAuthenticator
from services.edge.adapters.upstreams import Upstreams
from services.edge.domain.cors import CorsPolicy
from services.edge.domain.methods import exposed_methods
from services.edge.grpc_web import GrpcWebHandler, internal_error_response
from services.edge.http_routes import Cors, IdentityRoutes, health
from services.edge.service_layer.forwarding import Forwarding
from services.edge.service_layer.sign_in import SignIn
from services.edge.service_layer.webhooks import KycWebhooks
from services.edge.settings import EdgeSettings

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Webhook bodies and gRPC-web requests both stay under this (each route checks its own limit).
_BODY_FLOOR = 64 * 1024


@dataclass
class Edge:
    """A running edge; `port` is the bound one (settings may ask for 0)."""

    settings: EdgeSettings
    forwarding: Forwarding
    upstreams: Upstreams
    app: web.Application
    sign_in: SignIn
    edge_tokens: TokenSource | None = None
    port: int = 0
    _runner: web.AppRunner | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls.serving else "http"
        return self.settings.public_url or f"{scheme}://{self.settings.host}:{self.port}"

    def _ssl(self) -> ssl.SSLContext | None:
        # Renewed certificate files are served to new connections without a restart, as on
        # every gRPC port (service_runtime.tls).
        return server_ssl_context(self.settings.tls) if self.settings.tls.serving else None

    async def start(self) -> int:
        # handler_cancellation: a browser that goes away cancels its handler, which cancels
        # the upstream call (a stream must not outlive its reader).
        quiet_request_bytes()
        # shutdown_timeout: open streams get the grace period, then are cut (the launcher and
        # Kubernetes kill after theirs).
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self.settings.grace_seconds,
        )
        await runner.setup()
        site: web.BaseSite
        if self.settings.listen_fd is not None:
            inherited = socket.socket(fileno=self.settings.listen_fd)
            site = web.SockSite(runner, inherited, ssl_context=self._ssl())
            self.port = int(inherited.getsockname()[1])
        else:
            site = web.TCPSite(
                runner, self.settings.host, self.settings.port, ssl_context=self._ssl()
            )
        await site.start()
        self._runner = runner
        if self.settings.listen_fd is None:
            sockets = getattr(site._server, "sockets", None) or []  # the bound port is only there
            self.port = int(sockets[0].getsockname()[1]) if sockets else self.settings.port
        self.sign_in.public_url = self.url
        log.info("edge listening", extra={"port": self.port, "url": self.url})
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.upstreams.close()
        if self.edge_tokens is not None:
            await self.edge_tokens.close()


@web.middleware
async def _no_internals(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("edge bug", extra={"path": request.path})
        if request.headers.get("content-type", "").startswith("application/grpc-web"):
            return internal_error_response(request.headers["content-type"])
        return web.Response(status=500, text="internal error\n")


class _NoRequestBytes(logging.Filter):
    """aiohttp logs a malformed request with its first bytes, which may hold a bearer token:
    keep the fact, drop the bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "malformed HTTP request refused (%s)", (error.code,)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_request_bytes() -> None:
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _NoRequestBytes) for f in logger.filters):
        logger.addFilter(_NoRequestBytes())


def public_token_source(settings: EdgeSettings) -> TokenSource | None:
    """The edge's own tokens for anonymous visitors' public calls (tokens mode with a client
    credential only; without one, those calls are refused UNAUTHENTICATED as any other)."""
    if settings.auth_mode != "tokens" or not settings.client_id:
        return None
    return credential_token_source(
        settings.identity_address, settings.client_id, settings.client_secret_file
    )


def build(settings: EdgeSettings) -> Edge:
    upstreams = Upstreams(settings.upstreams)
    authenticator = (
        EdgeAuthenticator.for_identity(settings.identity_address, settings.identity_issuer)
        if settings.auth_mode == "tokens"
        else None
    )
    public_tokens = public_token_source(settings)
    if settings.auth_mode == "tokens" and public_tokens is None:
        log.warning("no edge credential (BETMESH_CLIENT_ID): anonymous visitors get no odds")
    forwarding = Forwarding(
        exposed_methods(),
        upstreams,
        authenticator,
        max_streams_per_client=settings.max_streams_per_client,
        default_unary_deadline_seconds=settings.default_unary_deadline_seconds,
        edge_tokens=public_tokens,
    )
    grpc_web = GrpcWebHandler(
        forwarding,
        max_request_bytes=settings.max_request_bytes,
        trusted_proxies=settings.trusted_proxies,
    )
    cors = Cors(CorsPolicy(settings.cors_origins))
    identity = IdentityClient(upstreams)
    sign_in = SignIn(
        identity,
        settings.public_url or f"http://{settings.host}:{settings.port}",
        edge_tokens=public_tokens,
    )
    identity_routes = IdentityRoutes(
        sign_in, KycWebhooks(identity), trusted_proxies=settings.trusted_proxies
    )
    site = StaticSite(settings.web_root)
    app = web.Application(
        client_max_size=max(settings.max_request_bytes, _BODY_FLOOR),
        middlewares=[_no_internals],
    )
    app.on_response_prepare.append(cors.on_prepare)
    app.router.add_get("/healthz", health)
    app.router.add_routes(identity_routes.routes())
    # gRPC-web paths are /<package>.<Service>/<Method>: a dot in the first segment.
    app.router.add_post(r"/{service:[A-Za-z_][\w]*(?:\.[\w]+)+}/{method:\w+}", grpc_web.handle)
    app.router.add_route("OPTIONS", "/{tail:.*}", cors.preflight)
    app.router.add_get("/{tail:.*}", site.handle)
    return Edge(settings, forwarding, upstreams, app, sign_in, public_tokens)


async def serve(settings: EdgeSettings) -> None:
    edge = build(settings)
    await edge.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("edge stopping")
    await asyncio.wait_for(edge.stop(), settings.grace_seconds + 5)
