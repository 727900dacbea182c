"""The gRPC-web wire format the edge speaks, checked byte by byte against PROTOCOL-WEB.md."""

from __future__ import annotations

import base64

import pytest

from services.edge.domain.framing import (
    FramingError,
    data_frame,
    decode_text,
    mode_of,
    parse_timeout,
    single_message,
    status_trailers,
    trailer_frame,
)
from services.edge.domain.methods import exposed_methods


def test_frames_are_flag_length_payload() -> None:
    assert data_frame(b"abc") == b"\x00\x00\x00\x00\x03abc"
    assert trailer_frame([("grpc-status", "0")]) == b"\x80\x00\x00\x00\x10grpc-status: 0\r\n"


def test_one_request_message_is_taken_and_anything_else_refused() -> None:
    assert single_message(data_frame(b"hello")) == b"hello"
    assert single_message(data_frame(b"")) == b""
    for body, reason in (
        (b"", "EDGE_BAD_FRAME"),
        (data_frame(b"a") + data_frame(b"b"), "EDGE_BAD_FRAME"),
        (b"\x00\x00\x00", "EDGE_BAD_FRAME"),
        (b"\x00\x00\x00\x00\x05abc", "EDGE_BAD_FRAME"),
        (b"\x01\x00\x00\x00\x01x", "EDGE_COMPRESSION_UNSUPPORTED"),
    ):
        with pytest.raises(FramingError) as refused:
            single_message(body)
        assert refused.value.reason == reason


def test_text_bodies_may_be_several_padded_chunks() -> None:
    first, second = data_frame(b"xy"), trailer_frame([("grpc-status", "0")])
    joined = base64.b64encode(first) + base64.b64encode(second)
    assert b"=" in base64.b64encode(first)  # the case that matters: padding mid-body
    assert decode_text(joined) == first + second
    assert decode_text(b"") == b""
    with pytest.raises(FramingError) as refused:
        decode_text(b"!!!!")
    assert refused.value.reason == "EDGE_BAD_BASE64"


def test_content_types() -> None:
    assert mode_of("application/grpc-web") == mode_of("application/grpc-web+proto")
    assert mode_of("application/grpc-web-text; charset=utf-8") is not None
    text = mode_of("application/grpc-web-text+proto")
    assert text is not None and text.text
    assert text.content_type == "application/grpc-web-text+proto"
    assert mode_of("application/grpc-web+json") is None
    assert mode_of("application/json") is None


def test_status_trailers_encode_messages_and_binary_details() -> None:
    trailers = status_trailers(
        9,
        "mise refusée: 100% engagée\r\nx",
        [("grpc-status-details-bin", b"\x01\x02"), ("x-evil", "a\r\nb"), ("Bad Name", "v")],
    )
    assert trailers == [
        ("grpc-status", "9"),
        ("grpc-message", "mise refus%C3%A9e: 100%25 engag%C3%A9e%0D%0Ax"),
        ("grpc-status-details-bin", base64.b64encode(b"\x01\x02").decode()),
    ]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("1S", 1.0), ("1500m", 1.5), ("2M", 120.0), ("1H", 3600.0), ("250000u", 0.25), (None, None)],
)
def test_grpc_timeout(header: str | None, seconds: float | None) -> None:
    assert parse_timeout(header) == seconds


@pytest.mark.parametrize("header", ["soon", "1s", "123456789S", "-1S", "1.5S"])
def test_malformed_grpc_timeout(header: str) -> None:
    with pytest.raises(FramingError):
        parse_timeout(header)


def test_the_allow_list_takes_kinds_from_the_contracts() -> None:
    methods = exposed_methods()
    assert methods["/betmesh.live.v1.LiveOddsService/StreamOdds"].server_streaming
    assert not methods["/betmesh.bets.v1.BetService/PlaceBet"].server_streaming
    assert methods["/betmesh.bets.v1.BetService/PlaceBet"].audience == "betmesh.bets"
    assert methods["/betmesh.identity.v1.IdentityService/RegisterPlayer"].open
    assert not methods["/betmesh.identity.v1.IdentityService/GetPlayer"].open
    for internal in (
        "/betmesh.live.v1.LiveOddsService/IngestMatchEvent",
        "/betmesh.bets.v1.BetService/SettleMarket",
        "/betmesh.oracle.v1.OracleService/SubmitObservation",
        "/betmesh.gateway.v1.FixtureService/UpsertFixtures",
        "/betmesh.identity.v1.IdentityService/HandleKycWebhook",
    ):
        assert internal not in methods
