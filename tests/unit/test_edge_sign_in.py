"""The edge's sign-in and KYC webhook relays on a fake identity: repeated parameters and a
missing sign-in cookie never reach identity, a sign-in binds a fresh secret and lands only on
the edge's own origin, identity's refusals become the app's fragment or a 429, and webhook
refusals the sender's status. Through aiohttp, identity and the test OpenID provider:
tests/integration/test_edge_http_routes.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from service_runtime.auth import LOGIN_BINDING_HEADER, VISITOR_HEADER
from service_runtime.errors import STATUS_DETAILS_KEY, Unavailable
from services.edge.domain.forwarding import Metadata, UpstreamFailed
from services.edge.domain.signin import CompletedSignIn
from services.edge.service_layer.commands import (
    BackToApp,
    CompleteSignIn,
    RelayKycWebhook,
    SlowDown,
    StartSignIn,
    ToProvider,
    WebhookAnswer,
)
from services.edge.service_layer.sign_in import SignIn
from services.edge.service_layer.webhooks import KycWebhooks

EDGE = "http://127.0.0.1:8080"
DONE = CompletedSignIn("jwt", 1_900_000_000, "p-1", "s-1", f"{EDGE}/account?tab=limits")


def refusal(code: int, reason: str, **metadata: str) -> UpstreamFailed:
    packed = any_pb2.Any()
    packed.Pack(error_details_pb2.ErrorInfo(reason=reason, metadata=metadata))
    status = status_pb2.Status(code=code, message=reason, details=[packed])
    return UpstreamFailed(code, reason, [(STATUS_DETAILS_KEY, status.SerializeToString())])


@dataclass
class FakeIdentity:
    """The IdentityRelay port: records each call; raises `fail` when set."""

    fail: Exception | None = None
    done: CompletedSignIn = DONE
    calls: list[tuple[str, object]] = field(default_factory=list)

    def _called(self, name: str, argument: object) -> None:
        self.calls.append((name, argument))
        if self.fail is not None:
            raise self.fail

    async def start_login(self, return_to: str, metadata: Metadata) -> str:
        self._called("start_login", (return_to, tuple(metadata)))
        return "https://provider.example/authorize"

    async def complete_login(self, query: Mapping[str, str], binding: str) -> CompletedSignIn:
        self._called("complete_login", binding)
        return self.done

    async def start_logout(self, session_id: str) -> str:
        self._called("start_logout", session_id)
        return "https://provider.example/logout"

    async def complete_logout(self, state: str) -> None:
        self._called("complete_logout", state)

    async def handle_kyc_webhook(
        self, provider: str, headers: Sequence[tuple[str, str]], raw_body: bytes
    ) -> str:
        self._called("handle_kyc_webhook", tuple(headers))
        return "APPLIED"


@dataclass
class FakeEdgeTokens:
    async def token(self, audience: str, timeout: float | None = None) -> str:
        return f"edge-{audience}"


def start(keys: tuple[str, ...] = ("return_to",), return_to: str | None = "/bets") -> StartSignIn:
    return StartSignIn(keys, return_to, "203.0.113.7")


async def test_a_sign_in_binds_a_fresh_secret_and_vouches_for_the_visitor() -> None:
    identity = FakeIdentity()
    sign_in = SignIn(identity, EDGE, edge_tokens=FakeEdgeTokens())
    first, second = await sign_in.login(start()), await sign_in.login(start())
    assert isinstance(first, ToProvider) and isinstance(second, ToProvider)
    assert first.url == "https://provider.example/authorize"
    assert first.binding and second.binding and first.binding != second.binding
    assert identity.calls[0][1] == (
        f"{EDGE}/bets",
        (
            ("authorization", "Bearer edge-betmesh.identity"),
            (VISITOR_HEADER, "203.0.113.7"),
            (LOGIN_BINDING_HEADER, first.binding),
        ),
    )


async def test_repeated_parameters_and_foreign_targets_never_reach_identity() -> None:
    identity = FakeIdentity()
    sign_in = SignIn(identity, EDGE)
    assert await sign_in.login(start(("return_to", "return_to"))) == BackToApp(
        (("login_error", "QUERY_PARAMETER_REPEATED"),)
    )
    for target in ("https://evil.example/", "//evil.example/", "/\\evil", "/a\nb"):
        assert await sign_in.login(start(return_to=target)) == BackToApp(
            (("login_error", "RETURN_TO_NOT_ALLOWED"),)
        )
    assert await sign_in.callback(
        CompleteSignIn(("iss", "iss"), {"iss": "good"}, "secret")
    ) == BackToApp((("login_error", "QUERY_PARAMETER_REPEATED"),), clear_signin=True)
    assert identity.calls == []


async def test_a_callback_without_the_sign_in_cookie_never_reaches_identity() -> None:
    identity = FakeIdentity()
    answer = await SignIn(identity, EDGE).callback(CompleteSignIn(("code",), {"code": "c"}, ""))
    assert answer == BackToApp((("login_error", "LOGIN_COOKIE_MISSING"),))
    assert identity.calls == []


async def test_a_completed_sign_in_lands_on_our_origin_with_the_token_in_the_fragment() -> None:
    identity = FakeIdentity()
    answer = await SignIn(identity, EDGE).callback(CompleteSignIn(("code",), {}, "secret"))
    assert answer == BackToApp(
        (
            ("access_token", "jwt"),
            ("expires_at", "1900000000"),
            ("player_id", "p-1"),
            ("session_id", "s-1"),
        ),
        "/account?tab=limits",
        clear_signin=True,
    )
    assert identity.calls == [("complete_login", "secret")]
    elsewhere = FakeIdentity(done=CompletedSignIn("jwt", 1, "p", "s", "https://evil.example/x"))
    landed = await SignIn(elsewhere, EDGE).callback(CompleteSignIn((), {}, "secret"))
    assert isinstance(landed, BackToApp) and landed.path == "/"


async def test_identity_refusing_sends_the_browser_back_with_the_reason_or_slows_it_down() -> None:
    refused = SignIn(
        FakeIdentity(fail=refusal(code_pb2.FAILED_PRECONDITION, "LOGIN_NOT_BOUND")), EDGE
    )
    assert await refused.callback(CompleteSignIn((), {}, "other")) == BackToApp(
        (("login_error", "LOGIN_NOT_BOUND"),), clear_signin=True
    )
    limited = SignIn(
        FakeIdentity(
            fail=refusal(code_pb2.RESOURCE_EXHAUSTED, "RATE_LIMITED", retry_after_seconds="17")
        ),
        EDGE,
    )
    assert await limited.login(start()) == SlowDown("17")
    # A wait that is not a small number never reaches an HTTP header.
    odd = SignIn(
        FakeIdentity(
            fail=refusal(code_pb2.RESOURCE_EXHAUSTED, "RATE_LIMITED", retry_after_seconds="1\r\nx")
        ),
        EDGE,
    )
    assert await odd.login(start()) == SlowDown("60")
    absent = SignIn(FakeIdentity(fail=Unavailable("EDGE_UPSTREAM_NOT_CONFIGURED", "none")), EDGE)
    assert await absent.login(start()) == BackToApp(
        (("login_error", "EDGE_UPSTREAM_NOT_CONFIGURED"),)
    )


async def test_a_webhook_goes_on_without_hop_headers_and_refusals_keep_their_status() -> None:
    identity = FakeIdentity()
    webhook = RelayKycWebhook(
        "ubble", (("X-Signature", "sig"), ("Cookie", "c"), ("Host", "edge")), b"{}"
    )
    assert await KycWebhooks(identity).relay(webhook) == WebhookAnswer(200, {"outcome": "APPLIED"})
    assert identity.calls == [("handle_kyc_webhook", (("x-signature", "sig"),))]
    for code, status in (
        (code_pb2.UNAUTHENTICATED, 401),
        (code_pb2.UNAVAILABLE, 503),
        (code_pb2.INVALID_ARGUMENT, 400),
    ):
        failing = KycWebhooks(FakeIdentity(fail=refusal(code, "WHY")))
        assert await failing.relay(webhook) == WebhookAnswer(status, {"error": "WHY"})


async def test_a_webhook_header_that_is_not_utf8_is_refused_before_identity() -> None:
    identity = FakeIdentity()
    bad = RelayKycWebhook("ubble", (("x-signature", "\udcff"),), b"{}")
    assert await KycWebhooks(identity).relay(bad) == WebhookAnswer(
        400, {"error": "WEBHOOK_HEADER_INVALID"}
    )
    assert identity.calls == []
