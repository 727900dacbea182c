"""A small gRPC-web client for tests (aiohttp): binary or text, unary or server-streaming.

Written from the protocol document, independently of the edge's own framing module, so a
framing bug in the edge cannot hide behind the same bug in the test client.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import unquote

import aiohttp
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

M = TypeVar("M", bound=Message)


@dataclass
class WebResult:
    """What came back: HTTP status and headers, messages, and the gRPC status wherever it was."""

    http_status: int
    headers: Mapping[str, str]
    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    trailers_only: bool = False

    @property
    def code(self) -> int:
        return int(self.trailers["grpc-status"])

    @property
    def message(self) -> str:
        return unquote(self.trailers.get("grpc-message", ""))

    @property
    def status(self) -> status_pb2.Status | None:
        raw = self.trailers.get("grpc-status-details-bin")
        if raw is None:
            return None
        return status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))

    @property
    def reason(self) -> str | None:
        status = self.status
        for detail in status.details if status else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return str(info.reason)
        return None

    def parsed(self, kind: type[M]) -> list[M]:
        return [kind.FromString(raw) for raw in self.messages]


def frame(flag: int, payload: bytes) -> bytes:
    return struct.pack(">BI", flag, len(payload)) + payload


def request_body(message: Message, text: bool) -> bytes:
    body = frame(0, message.SerializeToString())
    return base64.b64encode(body) if text else body


def content_type(text: bool) -> str:
    return "application/grpc-web-text" if text else "application/grpc-web+proto"


class FrameReader:
    """Splits a response body into frames as bytes arrive (text: base64 decoded first)."""

    def __init__(self, text: bool) -> None:
        self.text = text
        self._raw = b""
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        if self.text:
            self._raw += b"".join(chunk.split())
            usable = len(self._raw) - len(self._raw) % 4
            decoded, self._raw = self._raw[:usable], self._raw[usable:]
            self._buffer += _b64_chunks(decoded)
        else:
            self._buffer += chunk
        frames = []
        while len(self._buffer) >= 5:
            flag, length = struct.unpack(">BI", self._buffer[:5])
            if len(self._buffer) < 5 + length:
                break
            frames.append((flag, self._buffer[5 : 5 + length]))
            self._buffer = self._buffer[5 + length :]
        return frames

    @property
    def leftover(self) -> bytes:
        return self._raw + self._buffer


def _b64_chunks(data: bytes) -> bytes:
    # Several padded base64 chunks back to back: each ends with its padding.
    return b"".join(base64.b64decode(m) for m in re.findall(rb"[A-Za-z0-9+/]+=*", data))


def parse_trailers(block: bytes) -> dict[str, str]:
    found = {}
    for line in block.decode("ascii").split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            found[name.strip().lower()] = value.strip()
    return found


class GrpcWebClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    def _headers(
        self, text: bool, token: str | None, extra: Mapping[str, str] | None
    ) -> dict[str, str]:
        headers = {
            "content-type": content_type(text),
            "x-grpc-web": "1",
            "x-user-agent": "betmesh-tests",
        }
        if token:
            headers["authorization"] = f"Bearer {token}"
        headers.update(extra or {})
        return headers

    async def unary(
        self,
        path: str,
        message: Message,
        *,
        text: bool = False,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WebResult:
        async with self.session.post(
            self.base_url + path,
            data=request_body(message, text),
            headers=self._headers(text, token, headers),
        ) as response:
            body = await response.read()
            return _result(response, body, text)

    async def stream(
        self,
        path: str,
        message: Message,
        *,
        text: bool = False,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[tuple[WebResult, bytes | None], None]:
        """Yields (result so far, each message as it arrives); the last yield has message None
        and the result's trailers. Leaving the loop early closes the connection."""
        async with self.session.post(
            self.base_url + path,
            data=request_body(message, text),
            headers=self._headers(text, token, headers),
        ) as response:
            result = WebResult(response.status, _lower(response.headers))
            if "grpc-status" in response.headers:
                result.trailers = _header_trailers(response.headers)
                result.trailers_only = True
                yield result, None
                return
            reader = FrameReader(text)
            async for chunk in response.content.iter_any():
                for flag, payload in reader.feed(chunk):
                    if flag & 0x80:
                        result.trailers = parse_trailers(payload)
                        continue
                    result.messages.append(payload)
                    yield result, payload
            assert not reader.leftover, f"bytes after the last frame: {reader.leftover!r}"
            yield result, None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _header_trailers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in headers.items()
        if name.lower() in ("grpc-status", "grpc-message", "grpc-status-details-bin")
    }


def _result(response: aiohttp.ClientResponse, body: bytes, text: bool) -> WebResult:
    result = WebResult(response.status, _lower(response.headers))
    if "grpc-status" in response.headers:
        assert body == b"", "a trailers-only response has no body"
        result.trailers = _header_trailers(response.headers)
        result.trailers_only = True
        return result
    reader = FrameReader(text)
    for flag, payload in reader.feed(body):
        if flag & 0x80:
            result.trailers = parse_trailers(payload)
        else:
            assert not result.trailers, "a data frame after the trailers"
            result.messages.append(payload)
    assert not reader.leftover, "bytes after the last frame"
    assert result.trailers, "no trailer frame"
    return result
