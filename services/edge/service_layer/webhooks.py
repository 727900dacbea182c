"""KYC providers' webhooks, relayed to identity (HandleKycWebhook, open: the provider signs
its request, identity checks the signature). Same answers as identity's own webhook endpoint:
quick, and nothing to learn from."""

from __future__ import annotations

import logging

from google.rpc import code_pb2

from service_runtime.errors import DomainError
from services.edge.domain.forwarding import UpstreamFailed
from services.edge.domain.signin import WEBHOOK_STATUS, webhook_headers
from services.edge.service_layer.commands import RelayKycWebhook, WebhookAnswer
from services.edge.service_layer.ports import IdentityRelay

log = logging.getLogger(__name__)


class KycWebhooks:
    def __init__(self, identity: IdentityRelay) -> None:
        self.identity = identity

    async def relay(self, command: RelayKycWebhook) -> WebhookAnswer:
        headers = webhook_headers(command.headers)
        if headers is None:
            # Answered as identity answers a malformed one.
            return WebhookAnswer(400, {"error": "WEBHOOK_HEADER_INVALID"})
        try:
            outcome = await self.identity.handle_kyc_webhook(
                command.provider, headers, command.raw_body
            )
        except UpstreamFailed as exc:
            if exc.code == code_pb2.UNAVAILABLE:
                log.warning("kyc webhook: identity unavailable")
            return WebhookAnswer(WEBHOOK_STATUS.get(exc.code, 400), {"error": exc.reason()})
        except DomainError as exc:
            return WebhookAnswer(503, {"error": exc.reason})
        return WebhookAnswer(200, {"outcome": outcome})
