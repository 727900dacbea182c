"""The HTTP endpoint KYC providers call: POST /webhooks/kyc/{provider}.

The raw body is handed over untouched (the signature is over those exact bytes). Answers are
quick and carry nothing a caller could learn from: 200 once handled (or already handled), 401
for a bad signature or a stale timestamp, 400 for a malformed event, 503 when the provider's API
could not confirm the outcome (providers retry on 5xx).
"""

from __future__ import annotations

import logging

from aiohttp import web

from service_runtime.errors import DomainError, Unauthenticated, Unavailable
from services.identity.service_layer.kyc import PaidKyc

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024


class WebhookServer:
    def __init__(self, kyc: PaidKyc, host: str, port: int) -> None:
        self.kyc = kyc
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        application = web.Application(client_max_size=MAX_BODY_BYTES)
        application.router.add_post("/webhooks/kyc/{provider}", self._handle)
        return application

    async def _handle(self, request: web.Request) -> web.Response:
        provider = request.match_info["provider"]
        try:
            raw_body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "WEBHOOK_TOO_LARGE"}, status=413)
        try:
            result = await self.kyc.handle_webhook(provider, dict(request.headers), raw_body)
        except Unauthenticated as exc:
            log.warning("kyc webhook refused", extra={"provider": provider, "reason": exc.reason})
            return web.json_response({"error": exc.reason}, status=401)
        except Unavailable as exc:
            return web.json_response({"error": exc.reason}, status=503)
        except DomainError as exc:
            return web.json_response({"error": exc.reason}, status=400)
        return web.json_response({"outcome": result.value})

    async def start(self) -> int:
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        server = site._server  # aiohttp exposes the bound port only through the server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("kyc webhooks listening", extra={"port": self.port})
        return self.port

    async def start_hook(self) -> None:
        await self.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
