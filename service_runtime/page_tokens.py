"""Page tokens: opaque to callers, parsed strictly when they come back.

A token is base64url (no padding) of "<kind>:<position>", where kind names the list it belongs
to (so a ledger token is no bets token) and position is an offset or the last key returned.
A token coming back is refused (INVALID_ARGUMENT, PAGE_TOKEN_INVALID) unless it is exactly what
`encode` would have written for a position in range: canonical base64, our kind, an integer of
at most 18 digits (well within a PostgreSQL bigint) or a key of printable ASCII. So no token a
caller makes up can reach a query as a NUL, an overflowing integer or an unbounded string.
"""

from __future__ import annotations

import base64
import binascii
import re

from service_runtime.errors import InvalidArgument

MAX_POSITION = 10**18 - 1
MAX_KEY_LENGTH = 128
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,400}")
_INTEGER = re.compile(r"0|[1-9][0-9]{0,17}")
_KEY = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")
_KIND = re.compile(r"[a-z][a-z0-9]{0,15}")


def _refused() -> InvalidArgument:
    return InvalidArgument("PAGE_TOKEN_INVALID", "page_token was not issued by this service")


def encode(kind: str, position: int | str) -> str:
    if not _KIND.fullmatch(kind):
        raise ValueError(f"bad page token kind {kind!r}")
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def _decode(kind: str, token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise _refused()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise _refused() from None
    found, separator, position = raw.partition(":")
    if found != kind or not separator or encode(kind, position) != token:
        raise _refused()
    return position


def decode_int(kind: str, token: str) -> int | None:
    """The integer position in `token` (None for no token), at most MAX_POSITION."""
    if not token:
        return None
    position = _decode(kind, token)
    if not _INTEGER.fullmatch(position):
        raise _refused()
    return int(position)


def decode_key(kind: str, token: str) -> str | None:
    """The key position in `token` (None for no token): printable ASCII, bounded."""
    if not token:
        return None
    position = _decode(kind, token)
    if not _KEY.fullmatch(position):
        raise _refused()
    return position
