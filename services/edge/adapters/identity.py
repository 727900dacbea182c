"""Identity's open sign-in and webhook RPCs over its gRPC channel (the IdentityRelay port):
protobuf in, plain values out, a refusal as the domain's UpstreamFailed."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import TypeVar

import grpc
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc

from service_runtime.auth import LOGIN_BINDING_HEADER
from services.edge.adapters.upstreams import Upstreams, upstream_failed
from services.edge.domain.forwarding import Metadata
from services.edge.domain.signin import IDENTITY_TIMEOUT_SECONDS, CompletedSignIn

T = TypeVar("T")


class IdentityClient:
    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams

    def _stub(self) -> identity_service_pb2_grpc.IdentityServiceStub:
        return identity_service_pb2_grpc.IdentityServiceStub(self.upstreams.channel("identity"))

    async def start_login(self, return_to: str, metadata: Metadata) -> str:
        started = await _answer(
            self._stub().StartFranceConnectLogin(
                pb.StartFranceConnectLoginRequest(return_to=return_to),
                metadata=metadata,
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        )
        return str(started.authorization_url)

    async def complete_login(self, query: Mapping[str, str], binding: str) -> CompletedSignIn:
        done = await _answer(
            self._stub().CompleteFranceConnectLogin(
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
        )
        return CompletedSignIn(
            access_token=done.access_token.token,
            expires_at=done.access_token.expires_at.seconds,
            player_id=done.player.player_id,
            session_id=done.session_id,
            return_to=done.return_to,
        )

    async def start_logout(self, session_id: str) -> str:
        started = await _answer(
            self._stub().StartFranceConnectLogout(
                pb.StartFranceConnectLogoutRequest(session_id=session_id),
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        )
        return str(started.logout_url)

    async def complete_logout(self, state: str) -> None:
        await _answer(
            self._stub().CompleteFranceConnectLogout(
                pb.CompleteFranceConnectLogoutRequest(state=state),
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        )

    async def handle_kyc_webhook(
        self, provider: str, headers: Sequence[tuple[str, str]], raw_body: bytes
    ) -> str:
        handled = await _answer(
            self._stub().HandleKycWebhook(
                pb.HandleKycWebhookRequest(
                    provider=provider,
                    headers=[pb.WebhookHeader(name=name, value=value) for name, value in headers],
                    raw_body=raw_body,
                ),
                timeout=IDENTITY_TIMEOUT_SECONDS,
            )
        )
        return pb.WebhookOutcome.Name(handled.outcome).removeprefix("WEBHOOK_OUTCOME_")


async def _answer(call: Awaitable[T]) -> T:
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        raise upstream_failed(exc) from None
