"""An HTTP answer from a provider, read as it arrives and never past a size cap.

httpx reads a whole body before anyone can look at its size: a provider, or a proxy before it,
streaming an endless answer fast made identity hold as much of it in memory as it could send
before the exchange's time bound (on loopback, gigabytes in ten seconds)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    """A provider's answer, read whole but never more than the cap."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


async def send_bounded(
    client: httpx.AsyncClient, request: httpx.Request, max_bytes: int
) -> Answer | None:
    """Sends `request`; the answer, or None once its body passes `max_bytes` (counted decoded,
    so a compressed bomb counts at its inflated size; a declared length above it is refused
    before any byte is read). The caller bounds the time."""
    response = await client.send(request, stream=True)
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return None
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                return None
        return Answer(response.status_code, response.headers, bytes(body))
    finally:
        await response.aclose()
