"""The gRPC-web wire format (github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md), pure.

A body is a sequence of frames: one flag byte (0x00 data, 0x80 trailers; bit 0x01 compressed),
a 4-byte big-endian length, the payload. Trailers are HTTP/1.1 header lines in a frame, because
HTTP/1.1 as browsers speak it has no trailers. The text variant base64-encodes the body; a
response may be several padded base64 chunks one after another, which is how a stream is sent.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from google.rpc import status_pb2

from service_runtime.errors import STATUS_DETAILS_KEY

DATA_FLAG = 0x00
TRAILER_FLAG = 0x80
COMPRESSED_FLAG = 0x01
HEADER = struct.Struct(">BI")

BINARY_TYPES = frozenset({"application/grpc-web", "application/grpc-web+proto"})
TEXT_TYPES = frozenset({"application/grpc-web-text", "application/grpc-web-text+proto"})

# grpc-timeout: at most 8 digits and a unit (PROTOCOL-HTTP2.md).
_TIMEOUT = re.compile(r"^(\d{1,8})([HMSmun])$")
_UNIT_SECONDS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
# grpc-message is percent-encoded: everything outside printable ASCII, and % itself.
_MESSAGE_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


class FramingError(ValueError):
    """A request body that is not well-formed gRPC-web; `reason` is the ErrorInfo reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Mode:
    """Binary or text, chosen by the request's content type and answered the same way."""

    text: bool

    @property
    def content_type(self) -> str:
        return "application/grpc-web-text+proto" if self.text else "application/grpc-web+proto"

    def encode(self, chunk: bytes) -> bytes:
        return base64.b64encode(chunk) if self.text else chunk


def mode_of(content_type: str) -> Mode | None:
    """None for anything that is not gRPC-web with protobuf messages (e.g. +json)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in BINARY_TYPES:
        return Mode(text=False)
    if media in TEXT_TYPES:
        return Mode(text=True)
    return None


def decode_text(body: bytes) -> bytes:
    """Base64 that may be several padded chunks concatenated (a client may send it so)."""
    compact = b"".join(body.split())
    out = bytearray()
    start = 0
    while start < len(compact):
        # A chunk ends after its padding, or at the end of the body.
        end = start
        while end < len(compact) and compact[end : end + 1] != b"=":
            end += 1
        while end < len(compact) and compact[end : end + 1] == b"=":
            end += 1
        try:
            out += base64.b64decode(compact[start:end], validate=True)
        except (binascii.Error, ValueError):
            raise FramingError("EDGE_BAD_BASE64", "grpc-web-text body is not base64") from None
        start = end
    return bytes(out)


def single_message(body: bytes) -> bytes:
    """The one request message of a unary or server-streaming call."""
    messages: list[bytes] = []
    offset = 0
    while offset < len(body):
        if len(body) - offset < HEADER.size:
            raise FramingError("EDGE_BAD_FRAME", "truncated frame header")
        flag, length = HEADER.unpack_from(body, offset)
        offset += HEADER.size
        if len(body) - offset < length:
            raise FramingError("EDGE_BAD_FRAME", "frame shorter than its length")
        payload = body[offset : offset + length]
        offset += length
        if flag & TRAILER_FLAG:
            continue  # a client has no business sending trailers; ignoring them is harmless
        if flag & COMPRESSED_FLAG:
            raise FramingError("EDGE_COMPRESSION_UNSUPPORTED", "compressed messages unsupported")
        messages.append(payload)
    if len(messages) != 1:
        raise FramingError(
            "EDGE_BAD_FRAME", f"expected exactly one request message, got {len(messages)}"
        )
    return messages[0]


def data_frame(message: bytes) -> bytes:
    return HEADER.pack(DATA_FLAG, len(message)) + message


def trailer_frame(trailers: Sequence[tuple[str, str]]) -> bytes:
    block = "".join(f"{name}: {value}\r\n" for name, value in trailers).encode("ascii")
    return HEADER.pack(TRAILER_FLAG, len(block)) + block


def encode_message(message: str) -> str:
    return quote(message, safe=_MESSAGE_SAFE)


def status_trailers(
    code: int, message: str, metadata: Iterable[tuple[str, str | bytes]] = ()
) -> list[tuple[str, str]]:
    """grpc-status, grpc-message and the upstream's trailing metadata, ready for the wire.

    Binary values (keys ending in -bin, among them grpc-status-details-bin with the rich
    status) are base64 as in HTTP/2 headers; lower-case names, as gRPC-web requires.
    """
    trailers = [("grpc-status", str(code))]
    if message:
        trailers.append(("grpc-message", encode_message(message)))
    for key, value in metadata:
        name = key.lower()
        if name in ("grpc-status", "grpc-message") or not _printable_name(name):
            continue
        if isinstance(value, bytes):
            text = base64.b64encode(value).decode("ascii") if name.endswith("-bin") else None
            if text is None:
                continue
        else:
            text = value
            if not _printable_value(text):
                continue
        trailers.append((name, text))
    return trailers


def parse_timeout(value: str | None) -> float | None:
    """Seconds from a grpc-timeout header; None when absent; FramingError when malformed."""
    if value is None or value == "":
        return None
    match = _TIMEOUT.match(value.strip())
    if match is None:
        raise FramingError("EDGE_BAD_TIMEOUT", f"malformed grpc-timeout {value!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _printable_name(name: str) -> bool:
    return bool(name) and all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)


def _printable_value(value: str) -> bool:
    # Header injection: a value with CR/LF would end the trailer line early.
    return all(0x20 <= ord(c) < 0x7F or c == "\t" for c in value)


def rich_status_trailers(status: status_pb2.Status) -> list[tuple[str, str]]:
    """A status the edge answers itself (a refusal, its own bug), rich details and all, as a
    service would send it."""
    return status_trailers(
        status.code, status.message, [(STATUS_DETAILS_KEY, status.SerializeToString())]
    )
