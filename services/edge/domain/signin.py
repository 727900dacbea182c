"""The rules of the browser's sign-in round trip and of the KYC webhooks the edge relays.

Sign-in lands back on the app with the player's token in the URL fragment: a fragment is never
sent to a server, so the token is in no access log, proxy log or Referer; the app reads it and
removes it from the address bar at once (README.md, "Sign-in").

A sign-in is bound to the browser that starts it: the login makes a fresh secret, kept in an
HttpOnly, SameSite=Lax cookie (Secure, and `__Host-`, when served over TLS) and handed to
identity, which keeps its digest with the attempt and derives the PKCE verifier from it. The
callback completes only with that cookie: a callback URL opened in another browser (an
attacker's link, a leaked URL) is refused. Query parameters named twice are refused outright.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from google.rpc import code_pb2, error_details_pb2

IDENTITY_TIMEOUT_SECONDS = 10.0
# Identity's attempt lifetime: the cookie is of no use after it.
SIGNIN_COOKIE_SECONDS = 600
# Webhook headers worth forwarding (signatures, timestamps, ids): not cookies or hop headers.
HOP_HEADERS = frozenset(
    {"connection", "cookie", "host", "keep-alive", "transfer-encoding", "upgrade", "authorization"}
)
# Identity's status -> the webhook sender's HTTP status (anything else: 400, the sender's fault).
WEBHOOK_STATUS = {
    code_pb2.UNAUTHENTICATED: 401,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DEADLINE_EXCEEDED: 503,
    code_pb2.RESOURCE_EXHAUSTED: 503,
}


@dataclass(frozen=True)
class CompletedSignIn:
    """Identity's answer to a completed sign-in: what the app gets in the fragment."""

    access_token: str
    expires_at: int  # unix seconds
    player_id: str
    session_id: str
    return_to: str  # as identity checked it against its allow-list


def new_binding() -> str:
    """256 bits, in the browser's cookie only: it binds one sign-in to one browser."""
    return secrets.token_urlsafe(32)


def cookie_name(secure: bool) -> str:
    # __Host-: only ever set by this origin over TLS, for the whole origin, never by a sibling
    # subdomain (no cookie injection to fix a binding).
    return "__Host-betmesh_signin" if secure else "betmesh_signin"


def cookie_path(secure: bool) -> str:
    return "/" if secure else "/auth/franceconnect"


def app_path(value: str | None) -> str | None:
    """A path on our own origin, or None: never an open redirect to somewhere else."""
    if not value:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 0x20 for c in value):
        return None
    return value


def own_path(return_to: str, public_url: str) -> str:
    """Identity checked return_to against its allow-list; we land only on our origin."""
    target, ours = urlsplit(return_to), urlsplit(public_url)
    if (target.scheme, target.netloc) != (ours.scheme, ours.netloc):
        return "/"
    path = target.path or "/"
    if target.query:
        path += "?" + target.query
    return app_path(path) or "/"


def repeated(keys: Sequence[str]) -> bool:
    """A query parameter given twice: `iss=good&iss=evil` has no one meaning, and which one a
    check and a later step would read is up to chance. `keys` names every parameter as often
    as it was given."""
    return len(keys) != len(set(keys))


def retry_after(info: error_details_pb2.ErrorInfo | None) -> str:
    """Identity's wait in seconds, if it is a sane number: it goes into an HTTP header."""
    seconds = info.metadata.get("retry_after_seconds", "") if info is not None else ""
    return seconds if seconds.isascii() and seconds.isdigit() and len(seconds) < 8 else "60"


def webhook_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...] | None:
    """The headers a webhook is relayed with (names in lower case, no hop headers), or None
    when one is not UTF-8 (it arrives surrogate-escaped) and so cannot be a string of the
    contract: the sender's mistake."""
    kept: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() in HOP_HEADERS:
            continue
        try:
            name.encode("utf-8")
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
        kept.append((name.lower(), value))
    return tuple(kept)
