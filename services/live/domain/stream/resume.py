"""Resume tokens: opaque to clients, signed so that they cannot be forged or edited.

A token says where a stream stands: its id and last sequence (a resumed stream continues both,
so a client sees one gapless sequence across reconnects), its journal position (the last
journal entry whose updates it delivered, and how many of them if it stopped inside one), its
filter, the journal epoch (a journal recreated from nothing invalidates old positions) and when
it was issued. Layout: base64url(JSON) "." base64url(HMAC-SHA256(key, JSON)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from betmesh.live.v1 import live_odds_service_pb2 as pb

from service_runtime.errors import FailedPrecondition, InvalidArgument

# An entry's updates all delivered.
WHOLE = -1
# A position from before any journal entry existed.
ORIGIN = (0, 0)

Position = tuple[int, int]


def parse_position(text: str) -> Position:
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def format_position(position: Position) -> str:
    return f"{position[0]}-{position[1]}"


@dataclass(frozen=True)
class ResumePoint:
    stream_id: str
    sequence: int
    # None: the stream stopped inside a full image; resuming sends a new one.
    position: Position | None
    # Updates of the entry at `position` already delivered (WHOLE: all of them).
    delivered: int
    filter: pb.SubscriptionFilter
    epoch: str
    issued_at: float


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, key: bytes, max_age_seconds: float) -> None:
        if len(key) < 16:
            raise ValueError("the resume token key needs at least 16 bytes")
        self._key = key
        self.max_age_seconds = max_age_seconds

    def encoder(self, stream_id: str, filter_: pb.SubscriptionFilter, epoch: str) -> TokenEncoder:
        return TokenEncoder(self._key, stream_id, filter_, epoch)

    def decode(self, token: str, epoch: str, now: float | None = None) -> ResumePoint:
        body, _, mac = token.partition(".")
        try:
            raw = _unb64(body)
            given = _unb64(mac)
        except (ValueError, TypeError) as exc:
            raise InvalidArgument("RESUME_TOKEN_INVALID", "resume token is malformed") from exc
        expected = hmac.new(self._key, raw, hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            raise InvalidArgument("RESUME_TOKEN_INVALID", "resume token signature does not verify")
        try:
            data = json.loads(raw)
            position = None if data["p"] is None else parse_position(data["p"])
            point = ResumePoint(
                stream_id=str(data["s"]),
                sequence=int(data["q"]),
                position=position,
                delivered=int(data["d"]),
                filter=pb.SubscriptionFilter.FromString(_unb64(data["f"])),
                epoch=str(data["e"]),
                issued_at=float(data["t"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidArgument("RESUME_TOKEN_INVALID", "resume token is malformed") from exc
        now = time.time() if now is None else now
        if point.epoch != epoch:
            raise FailedPrecondition(
                "RESUME_TOKEN_STALE",
                "resume token belongs to a journal that no longer exists; subscribe afresh",
            )
        if now - point.issued_at > self.max_age_seconds:
            raise FailedPrecondition(
                "RESUME_TOKEN_EXPIRED",
                f"resume token is older than {self.max_age_seconds:.0f} s; subscribe afresh",
            )
        return point


class TokenEncoder:
    """Per stream: the static parts encoded once, the moving parts per message."""

    def __init__(
        self, key: bytes, stream_id: str, filter_: pb.SubscriptionFilter, epoch: str
    ) -> None:
        self._key = key
        self._static = json.dumps(
            {"s": stream_id, "e": epoch, "f": _b64(filter_.SerializeToString(deterministic=True))}
        )[1:-1]

    def encode(self, sequence: int, position: Position | None, delivered: int, now: float) -> str:
        p = "null" if position is None else f'"{format_position(position)}"'
        raw = f'{{{self._static},"q":{sequence},"p":{p},"d":{delivered},"t":{now:.3f}}}'.encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()
        return f"{_b64(raw)}.{_b64(mac)}"
