"""The paid KYC path (Ubble's v1 API shape) over real HTTP: a sandbox provider the test runs,
signed webhooks posted to the identity process's own webhook endpoint, the outcome confirmed by
API before the player's KYC state changes."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import grpc
import httpx
import pytest
from aiohttp import web
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc

from services.identity.adapters.ubble import sign
from services.identity.app import assemble
from services.identity.settings import IdentitySettings
from tests.oidc.harness import years_ago
from tests.support.grpc_helpers import operator_channel, operator_client, rpc_error
from tests.support.tcp_faults import FaultProxy

Stub = identity_service_pb2_grpc.IdentityServiceStub
CLIENT_ID, CLIENT_SECRET = "betmesh-sandbox", secrets.token_urlsafe(16)
WEBHOOK_SECRET = secrets.token_urlsafe(32).encode()


@dataclass
class SandboxUbble:
    """Ubble's API as the tests need it: identifications created and their state read back."""

    identifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_for: dict[str, str] = field(default_factory=dict)
    port: int = 0

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"errors": ["unauthorized"]}, status=401)
        body = await request.json()
        player = body["data"]["attributes"]["identification-form"]["external-user-id"]
        identification = str(uuid.uuid4())
        self.identifications[identification] = {"status": "uninitiated", "score": None}
        self.created_for[identification] = player
        return web.json_response(
            {
                "data": {
                    "type": "identifications",
                    "id": "1",
                    "attributes": {
                        "identification-id": identification,
                        "identification-url": f"https://id.ubble.test/{identification}",
                        "status": "uninitiated",
                    },
                }
            },
            status=201,
        )

    async def read(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"errors": ["unauthorized"]}, status=401)
        state = self.identifications.get(request.match_info["id"])
        if state is None:
            return web.json_response({"errors": ["not found"]}, status=404)
        included = []
        if "document" in state:
            included.append({"type": "documents", "attributes": state["document"]})
        return web.json_response(
            {
                "data": {
                    "type": "identifications",
                    "attributes": {"status": state["status"], "score": state["score"]},
                },
                "included": included,
            }
        )

    def complete(self, identification: str, birthdate: date, score: int = 1) -> None:
        self.identifications[identification] = {
            "status": "processed",
            "score": score,
            "document": {
                "first-name": "Lucie",
                "last-name": "FONTAINE",
                "birth-date": birthdate.isoformat(),
                "gender": "F",
                "nationality": "FRA",
            },
        }


@dataclass
class Setup:
    identity: Stub
    sandbox: SandboxUbble
    webhook_url: str
    # Between identity and the sandbox: a plain relay until a test injects a fault.
    link: FaultProxy


@pytest.fixture(scope="module")
async def setup(database_url: str, redis_url: str) -> AsyncIterator[Setup]:
    sandbox = SandboxUbble()
    app = web.Application()
    app.router.add_post("/identifications/", sandbox.create)
    app.router.add_get("/identifications/{id}/", sandbox.read)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sandbox.port = runner.addresses[0][1]
    link = FaultProxy("127.0.0.1", sandbox.port)
    await link.start()
    settings = IdentitySettings.from_env(
        {
            "BETMESH_AUTH_MODE": "tokens",
            "BETMESH_IDENTITY_CLIENTS": json.dumps([operator_client()]),
            # Every test signs up from 127.0.0.1; the limits have their own tests.
            "BETMESH_IDENTITY_REGISTRATIONS_PER_HOUR": "0",
            "BETMESH_PORT": "0",
            "BETMESH_DATABASE_URL": database_url,
            "BETMESH_REDIS_URL": redis_url,
            "BETMESH_IDENTITY_KYC_PROVIDER": "ubble",
            "BETMESH_IDENTITY_UBBLE_API_URL": f"http://127.0.0.1:{link.port}",
            "BETMESH_IDENTITY_UBBLE_CLIENT_ID": CLIENT_ID,
            "BETMESH_IDENTITY_UBBLE_CLIENT_SECRET": CLIENT_SECRET,
            "BETMESH_IDENTITY_UBBLE_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),
            "BETMESH_IDENTITY_UBBLE_REDIRECT_URL": "https://app.betmesh.test/kyc-done",
        }
    )
    process = assemble(settings)
    port = await process.host.start()
    assert process.webhooks is not None
    # Reads of accounts need a caller: these tests read them as an operator.
    channel = await operator_channel(f"127.0.0.1:{port}")
    try:
        yield Setup(
            Stub(channel),
            sandbox,
            f"http://127.0.0.1:{process.webhooks.port}/webhooks/kyc/ubble",
            link,
        )
    finally:
        await channel.close()
        await process.host.stop(0)
        await link.stop()
        await runner.cleanup()


async def _refusal(call: Callable[[], Awaitable[object]]) -> tuple[grpc.StatusCode, str]:
    code, info, _ = await rpc_error(call)
    return code, info.reason if info is not None else ""


def _body(identification: str, status: str = "processed") -> bytes:
    return json.dumps({"identification_id": identification, "status": status}).encode()


async def _post(url: str, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["Ubble-Signature"] = signature
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, content=body, headers=headers)


async def _pending_player(setup: Setup) -> tuple[str, str]:
    registered = await setup.identity.RegisterPlayer(pb.RegisterPlayerRequest(display_name="Lucie"))
    assert registered.player.kyc_status == pb.KYC_STATUS_PROVISIONAL
    assert registered.access_token.token
    player_id = registered.player.player_id
    started = await setup.identity.StartKycVerification(
        pb.StartKycVerificationRequest(player_id=player_id)
    )
    assert started.verification_url.endswith(started.verification_session_id)
    assert setup.sandbox.created_for[started.verification_session_id] == player_id
    return player_id, started.verification_session_id


async def _status(setup: Setup, player_id: str) -> int:
    got = await setup.identity.GetPlayer(pb.GetPlayerRequest(player_id=player_id))
    return int(got.player.kyc_status)


async def test_a_signed_webhook_verifies_the_player_once(setup: Setup) -> None:
    player_id, identification = await _pending_player(setup)
    assert await _status(setup, player_id) == pb.KYC_STATUS_PENDING
    setup.sandbox.complete(identification, years_ago(30))
    body = _body(identification)
    signature = sign(WEBHOOK_SECRET, int(time.time()), body)

    answer = await _post(setup.webhook_url, body, signature)
    assert (answer.status_code, answer.json()) == (200, {"outcome": "APPLIED"})
    got = await setup.identity.GetPlayer(pb.GetPlayerRequest(player_id=player_id))
    assert got.player.kyc_status == pb.KYC_STATUS_VERIFIED
    assert got.player.kyc_method == pb.KYC_METHOD_PAID_PROVIDER

    # Providers retry: the same delivery again changes nothing.
    replay = await _post(setup.webhook_url, body, signature)
    assert (replay.status_code, replay.json()) == (200, {"outcome": "DUPLICATE"})
    # The gRPC path (an edge forwarding raw bytes) runs the same checks.
    forwarded = await setup.identity.HandleKycWebhook(
        pb.HandleKycWebhookRequest(
            provider="ubble",
            headers=[pb.WebhookHeader(name="Ubble-Signature", value=signature)],
            raw_body=body,
        )
    )
    assert forwarded.outcome == pb.WEBHOOK_OUTCOME_DUPLICATE


async def test_tampered_stale_and_unsigned_webhooks_are_refused(setup: Setup) -> None:
    player_id, identification = await _pending_player(setup)
    setup.sandbox.complete(identification, years_ago(30))
    now = int(time.time())
    body = _body(identification)
    other = _body(identification, "aborted")
    cases = [
        (other, sign(WEBHOOK_SECRET, now, body), "WEBHOOK_SIGNATURE_INVALID"),
        (body, sign(b"not-the-secret", now, body), "WEBHOOK_SIGNATURE_INVALID"),
        (body, sign(WEBHOOK_SECRET, now - 3600, body), "WEBHOOK_TIMESTAMP_STALE"),
        (body, sign(WEBHOOK_SECRET, now + 3600, body), "WEBHOOK_TIMESTAMP_STALE"),
        (body, None, "WEBHOOK_SIGNATURE_MISSING"),
        (body, f"ts={now}", "WEBHOOK_SIGNATURE_MISSING"),
    ]
    for raw, signature, reason in cases:
        answer = await _post(setup.webhook_url, raw, signature)
        assert (answer.status_code, answer.json()) == (401, {"error": reason})
    assert await _status(setup, player_id) == pb.KYC_STATUS_PENDING
    tampered = pb.HandleKycWebhookRequest(
        provider="ubble",
        headers=[pb.WebhookHeader(name="ubble-signature", value=sign(WEBHOOK_SECRET, now, body))],
        raw_body=other,
    )
    assert await _refusal(lambda: setup.identity.HandleKycWebhook(tampered)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "WEBHOOK_SIGNATURE_INVALID",
    )
    assert await _status(setup, player_id) == pb.KYC_STATUS_PENDING


async def test_the_outcome_is_confirmed_by_api_before_acting(setup: Setup) -> None:
    player_id, identification = await _pending_player(setup)
    body = _body(identification)
    # The webhook says processed; the API does not agree yet: nothing changes.
    answer = await _post(setup.webhook_url, body, sign(WEBHOOK_SECRET, int(time.time()), body))
    assert answer.json() == {"outcome": "IGNORED"}
    assert await _status(setup, player_id) == pb.KYC_STATUS_PENDING
    # The provider's retry, once the API agrees, is acted on (not taken for a duplicate).
    setup.sandbox.complete(identification, years_ago(30))
    answer = await _post(setup.webhook_url, body, sign(WEBHOOK_SECRET, int(time.time()), body))
    assert answer.json() == {"outcome": "APPLIED"}
    assert await _status(setup, player_id) == pb.KYC_STATUS_VERIFIED


@pytest.mark.parametrize(("birthdate", "score"), [(years_ago(17), 1), (years_ago(30), 0)])
async def test_minors_and_doubtful_documents_are_rejected(
    setup: Setup, birthdate: date, score: int
) -> None:
    player_id, identification = await _pending_player(setup)
    setup.sandbox.complete(identification, birthdate, score)
    body = _body(identification)
    answer = await _post(setup.webhook_url, body, sign(WEBHOOK_SECRET, int(time.time()), body))
    assert answer.json() == {"outcome": "APPLIED"}
    assert await _status(setup, player_id) == pb.KYC_STATUS_REJECTED
    # A rejected account cannot start over.
    again = pb.StartKycVerificationRequest(player_id=player_id)
    assert await _refusal(lambda: setup.identity.StartKycVerification(again)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "KYC_NOT_OPEN",
    )


async def test_unknown_provider_and_player(setup: Setup) -> None:
    unknown = pb.StartKycVerificationRequest(player_id=str(uuid.uuid4()))
    assert await _refusal(lambda: setup.identity.StartKycVerification(unknown)) == (
        grpc.StatusCode.NOT_FOUND,
        "PLAYER_NOT_FOUND",
    )
    registered = await setup.identity.RegisterPlayer(pb.RegisterPlayerRequest(display_name="X"))
    veriff = pb.StartKycVerificationRequest(
        player_id=registered.player.player_id, provider="veriff"
    )
    assert await _refusal(lambda: setup.identity.StartKycVerification(veriff)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "KYC_PROVIDER_UNKNOWN",
    )
    answer = await _post(setup.webhook_url.replace("ubble", "veriff"), b"{}", "ts=1,v1=00")
    assert answer.status_code == 400


async def test_a_provider_that_trickles_its_answer_is_refused_within_our_bound(
    setup: Setup,
) -> None:
    """Each byte of the provider's answer comes within the client's read timeout, the whole
    answer would take a minute and a half: the player's call is refused UNAVAILABLE at our
    bound on the whole exchange, not DEADLINE_EXCEEDED after the caller's own deadline."""
    registered = await setup.identity.RegisterPlayer(pb.RegisterPlayerRequest(display_name="Lucie"))
    setup.link.trickle(0.2)
    try:
        refused = await _refusal(
            lambda: setup.identity.StartKycVerification(
                pb.StartKycVerificationRequest(player_id=registered.player.player_id), timeout=60
            )
        )
    finally:
        setup.link.heal()
    assert refused == (grpc.StatusCode.UNAVAILABLE, "KYC_PROVIDER_UNREACHABLE")
