"""The edge's forwarding use case on fakes of its ports: a method off the allow-list or a refused
token never reaches an upstream, a unary call always has a deadline, an upstream's status comes
back unchanged (before any message as trailers only, later as the body's last frame), the
per-client stream limit, and a browser going away cancels its upstream stream. The same calls
through aiohttp and real services: tests/integration/test_edge_grpc_web.py and
test_edge_public_odds.py."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
from google.rpc import status_pb2

from service_runtime.errors import (
    STATUS_DETAILS_KEY,
    DomainError,
    ResourceExhausted,
    Unauthenticated,
    Unimplemented,
)
from services.edge.domain.forwarding import (
    CANCELLED,
    MAX_STREAM_DEADLINE_SECONDS,
    MAX_UNARY_DEADLINE_SECONDS,
    PUBLIC_CLIENT_HEADER,
    Metadata,
    UpstreamFailed,
)
from services.edge.domain.framing import data_frame, status_trailers, trailer_frame
from services.edge.domain.methods import ExposedMethod, exposed_methods
from services.edge.service_layer.commands import (
    Body,
    CallRecord,
    ForwardCall,
    Streamed,
    TrailersOnly,
)
from services.edge.service_layer.forwarding import Forwarding

PLACE_BET = "/betmesh.bets.v1.BetService/PlaceBet"
STREAM_ODDS = "/betmesh.live.v1.LiveOddsService/StreamOdds"
REGISTER = "/betmesh.identity.v1.IdentityService/RegisterPlayer"
NOT_FOUND = 5
DEFAULT_DEADLINE = 30.0


@dataclass
class Sent:
    area: str
    path: str
    message: bytes
    metadata: Metadata
    timeout: float | None


@dataclass
class FakeStream:
    """An UpstreamStream: its messages, then the end or a failure."""

    items: list[bytes]
    fail: UpstreamFailed | None = None
    entered: bool = False
    left_early: bool = False
    finished: bool = False

    async def __aenter__(self) -> FakeStream:
        self.entered = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # The adapter cancels a call left before its end; the fake notes it.
        self.left_early = not self.finished

    async def read(self) -> bytes | None:
        if self.items:
            return self.items.pop(0)
        self.finished = True
        if self.fail is not None:
            raise self.fail
        return None

    async def trailing_metadata(self) -> Metadata:
        return [("x-upstream", "done")]


@dataclass
class FakeUpstreams:
    """The UpstreamCalls port: records every call; answers `reply` or raises `fail`."""

    reply: bytes = b"reply"
    fail: UpstreamFailed | None = None
    stream_items: list[bytes] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    streams: list[FakeStream] = field(default_factory=list)

    async def unary(
        self, area: str, path: str, message: bytes, metadata: Metadata, timeout: float | None
    ) -> tuple[bytes, Metadata]:
        self.sent.append(Sent(area, path, message, metadata, timeout))
        if self.fail is not None:
            raise self.fail
        return self.reply, [("x-upstream", "done")]

    def stream(
        self, area: str, path: str, message: bytes, metadata: Metadata, timeout: float | None
    ) -> FakeStream:
        self.sent.append(Sent(area, path, message, metadata, timeout))
        stream = FakeStream(list(self.stream_items), self.fail)
        self.streams.append(stream)
        return stream


@dataclass
class FakeTokenCheck:
    refuse: bool = False
    checked: list[str] = field(default_factory=list)

    async def check(self, method: ExposedMethod, headers: Mapping[str, str]) -> None:
        self.checked.append(headers.get("authorization", ""))
        if self.refuse:
            raise Unauthenticated("TOKEN_INVALID", "bad token")


@dataclass
class FakeEdgeTokens:
    asked: list[str] = field(default_factory=list)

    async def token(self, audience: str, timeout: float | None = None) -> str:
        self.asked.append(audience)
        return f"edge-token-for-{audience}"


@dataclass
class FakeReply:
    """The ReplyStream port: the frames as written; `gone_after` frames, the browser leaves."""

    gone_after: int | None = None
    opened: bool = False
    closed: bool = False
    frames: list[bytes] = field(default_factory=list)

    async def open(self) -> None:
        self.opened = True

    async def write(self, frame: bytes) -> None:
        if self.gone_after is not None and len(self.frames) >= self.gone_after:
            raise ConnectionResetError("the browser went away")
        self.frames.append(frame)

    async def close(self) -> None:
        self.closed = True


def forwarding(
    upstreams: FakeUpstreams,
    tokens: FakeTokenCheck | None = None,
    edge_tokens: FakeEdgeTokens | None = None,
    per_client: int = 2,
) -> Forwarding:
    return Forwarding(
        exposed_methods(),
        upstreams,
        tokens,
        max_streams_per_client=per_client,
        default_unary_deadline_seconds=DEFAULT_DEADLINE,
        edge_tokens=edge_tokens,
    )


def call(
    path: str = PLACE_BET,
    *,
    timeout: float | None = None,
    authorization: str | None = "Bearer player",
    client: str = "203.0.113.7",
) -> ForwardCall:
    return ForwardCall(path, b"request", timeout, authorization, client)


def rich_failure() -> tuple[UpstreamFailed, bytes]:
    details = status_pb2.Status(code=NOT_FOUND, message="no such bet").SerializeToString()
    return UpstreamFailed(NOT_FOUND, "no such bet: é", [(STATUS_DETAILS_KEY, details)]), details


async def test_a_method_off_the_allow_list_never_reaches_an_upstream() -> None:
    upstreams, tokens = FakeUpstreams(), FakeTokenCheck()
    for path in (
        "/betmesh.bets.v1.BetService/SettleMarket",
        "/betmesh.identity.v1.IdentityService/StartFranceConnectLogin",
        "/betmesh.nothing.v1.Nothing/Call",
    ):
        with pytest.raises(Unimplemented) as refused:
            await forwarding(upstreams, tokens).forward(call(path), FakeReply(), CallRecord())
        assert refused.value.reason == "EDGE_METHOD_NOT_EXPOSED"
    assert upstreams.sent == [] and tokens.checked == []


async def test_a_refused_token_never_reaches_an_upstream() -> None:
    upstreams = FakeUpstreams()
    with pytest.raises(Unauthenticated):
        await forwarding(upstreams, FakeTokenCheck(refuse=True)).forward(
            call(), FakeReply(), CallRecord()
        )
    assert upstreams.sent == []


async def test_a_unary_call_always_has_a_deadline() -> None:
    upstreams = FakeUpstreams()
    edge = forwarding(upstreams, FakeTokenCheck())
    await edge.forward(call(timeout=None), FakeReply(), CallRecord())
    await edge.forward(call(timeout=2.5), FakeReply(), CallRecord())
    assert [s.timeout for s in upstreams.sent] == [DEFAULT_DEADLINE, 2.5]


async def test_a_stream_keeps_the_browsers_deadline_or_none() -> None:
    upstreams = FakeUpstreams()
    edge = forwarding(upstreams, FakeTokenCheck())
    await edge.forward(call(STREAM_ODDS, timeout=None), FakeReply(), CallRecord())
    await edge.forward(call(STREAM_ODDS, timeout=4.0), FakeReply(), CallRecord())
    assert [s.timeout for s in upstreams.sent] == [None, 4.0]


async def test_deadlines_are_bounded_and_zero_stays_expired() -> None:
    upstreams = FakeUpstreams()
    edge = forwarding(upstreams, FakeTokenCheck())
    for timeout in (99_999_999 * 3600.0, 0.0):
        await edge.forward(call(timeout=timeout), FakeReply(), CallRecord())
        await edge.forward(call(STREAM_ODDS, timeout=timeout), FakeReply(), CallRecord())
    assert [s.timeout for s in upstreams.sent] == [
        MAX_UNARY_DEADLINE_SECONDS,
        MAX_STREAM_DEADLINE_SECONDS,
        0.0,
        0.0,
    ]


async def test_a_unary_reply_goes_back_as_sent_with_its_trailers() -> None:
    upstreams, record = FakeUpstreams(reply=b"\x0a\x03bet"), CallRecord()
    answer = await forwarding(upstreams, FakeTokenCheck()).forward(call(), FakeReply(), record)
    assert answer == Body(
        (
            data_frame(b"\x0a\x03bet"),
            trailer_frame(status_trailers(0, "", [("x-upstream", "done")])),
        )
    )
    sent = upstreams.sent[0]
    assert (sent.area, sent.path, sent.message) == ("bets", PLACE_BET, b"request")
    assert sent.metadata == (("authorization", "Bearer player"),)
    assert (record.code, record.messages) == (0, 1)


async def test_an_upstream_error_status_is_passed_through_unchanged() -> None:
    failure, details = rich_failure()
    record = CallRecord()
    answer = await forwarding(FakeUpstreams(fail=failure), FakeTokenCheck()).forward(
        call(), FakeReply(), record
    )
    assert isinstance(answer, TrailersOnly)
    trailers = dict(answer.trailers)
    assert trailers["grpc-status"] == str(NOT_FOUND)
    assert trailers["grpc-message"] == "no such bet: %C3%A9"
    assert base64.b64decode(trailers[STATUS_DETAILS_KEY]) == details
    assert (record.code, record.messages) == (NOT_FOUND, 0)


async def test_a_stream_refused_before_its_first_message_is_trailers_only() -> None:
    failure, _ = rich_failure()
    reply = FakeReply()
    answer = await forwarding(FakeUpstreams(fail=failure), FakeTokenCheck()).forward(
        call(STREAM_ODDS), reply, CallRecord()
    )
    assert answer == TrailersOnly(tuple(failure.trailers()))
    assert not reply.opened and reply.frames == []


async def test_an_error_mid_stream_ends_the_body_with_its_status() -> None:
    failure, _ = rich_failure()
    upstreams = FakeUpstreams(fail=failure, stream_items=[b"one", b"two"])
    reply, record = FakeReply(), CallRecord()
    answer = await forwarding(upstreams, FakeTokenCheck()).forward(call(STREAM_ODDS), reply, record)
    assert answer == Streamed()
    assert reply.opened and reply.closed
    assert reply.frames == [
        data_frame(b"one"),
        data_frame(b"two"),
        trailer_frame(failure.trailers()),
    ]
    assert (record.code, record.messages) == (NOT_FOUND, 2)


async def test_a_stream_ends_with_ok_and_the_upstreams_trailers() -> None:
    upstreams = FakeUpstreams(stream_items=[b"one"])
    reply = FakeReply()
    await forwarding(upstreams, FakeTokenCheck()).forward(call(STREAM_ODDS), reply, CallRecord())
    assert reply.frames == [
        data_frame(b"one"),
        trailer_frame(status_trailers(0, "", [("x-upstream", "done")])),
    ]
    assert not upstreams.streams[0].left_early


async def test_a_browser_going_away_cancels_its_upstream_stream_and_frees_its_slot() -> None:
    upstreams = FakeUpstreams(stream_items=[b"one", b"two", b"three"])
    edge, record = forwarding(upstreams, FakeTokenCheck()), CallRecord()
    with pytest.raises(ConnectionResetError):
        await edge.forward(call(STREAM_ODDS), FakeReply(gone_after=1), record)
    assert upstreams.streams[0].left_early
    assert (record.code, record.messages, record.client_disconnected) == (CANCELLED, 1, True)
    assert edge.streams.total == 0


async def test_open_streams_are_limited_per_client() -> None:
    upstreams = FakeUpstreams(stream_items=[b"one"])
    edge = forwarding(upstreams, FakeTokenCheck(), per_client=1)
    with edge.streams.take("203.0.113.7"):
        with pytest.raises(ResourceExhausted) as refused:
            await edge.forward(call(STREAM_ODDS), FakeReply(), CallRecord())
        assert refused.value.reason == "EDGE_TOO_MANY_STREAMS"
        # Another browser is not counted against this one.
        await edge.forward(call(STREAM_ODDS, client="198.51.100.1"), FakeReply(), CallRecord())
    assert [s.entered for s in upstreams.streams] == [False, True]
    assert edge.streams.total == 0


async def test_an_anonymous_public_call_goes_with_the_edges_token_and_the_visitor() -> None:
    upstreams, tokens, edge_tokens = FakeUpstreams(), FakeTokenCheck(), FakeEdgeTokens()
    record = CallRecord()
    await forwarding(upstreams, tokens, edge_tokens).forward(
        call(STREAM_ODDS, authorization=None), FakeReply(), record
    )
    assert upstreams.sent[0].metadata == (
        ("authorization", "Bearer edge-token-for-betmesh.live"),
        (PUBLIC_CLIENT_HEADER, "203.0.113.7"),
    )
    assert record.public and tokens.checked == []


async def test_a_public_call_with_a_token_is_checked_never_swapped() -> None:
    upstreams, edge_tokens = FakeUpstreams(), FakeEdgeTokens()
    with pytest.raises(Unauthenticated):
        await forwarding(upstreams, FakeTokenCheck(refuse=True), edge_tokens).forward(
            call(STREAM_ODDS, authorization="Bearer forged"), FakeReply(), CallRecord()
        )
    assert upstreams.sent == [] and edge_tokens.asked == []


async def test_without_an_edge_credential_an_anonymous_public_call_is_checked() -> None:
    tokens = FakeTokenCheck(refuse=True)
    with pytest.raises(DomainError):
        await forwarding(FakeUpstreams(), tokens).forward(
            call(STREAM_ODDS, authorization=None), FakeReply(), CallRecord()
        )
    assert tokens.checked == [""]


async def test_an_open_method_is_vouched_for_with_the_visitors_address() -> None:
    upstreams = FakeUpstreams()
    await forwarding(upstreams, FakeTokenCheck(), FakeEdgeTokens()).forward(
        call(REGISTER, authorization=None), FakeReply(), CallRecord()
    )
    assert upstreams.sent[0].metadata == (
        ("authorization", "Bearer edge-token-for-betmesh.identity"),
        (PUBLIC_CLIENT_HEADER, "203.0.113.7"),
    )
