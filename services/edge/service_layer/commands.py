"""What a browser (or a webhook sender) asks of the edge and what it gets, free of HTTP: the
handlers build the commands from requests and the answers into responses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ForwardCall:
    """One gRPC-web call, its body already unframed to its one request message."""

    path: str  # "/betmesh.bets.v1.BetService/PlaceBet"
    message: bytes  # as the browser encoded it: forwarded, never parsed
    timeout: float | None  # the browser's grpc-timeout, in seconds
    # The browser's authorization header, None when it sent none ("" is sent as "", a token
    # missing all the same). The one request header that travels upstream: cookies, user agent
    # and the rest stay here; traceparent is re-made by the runtime's client channel from the
    # edge's own span.
    authorization: str | None
    client: str  # the browser's address (domain/client_address.py), for per-client limits


@dataclass
class CallRecord:
    """What a call came to, filled in as it goes, for the handler's span."""

    code: int | None = None
    messages: int = 0
    public: bool = False
    client_disconnected: bool = False


@dataclass(frozen=True)
class Body:
    """A whole answer: frames, each to be encoded on its own for the browser's mode."""

    frames: tuple[bytes, ...]


@dataclass(frozen=True)
class TrailersOnly:
    """The status alone, sent as HTTP headers with no body (an error before any message)."""

    trailers: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class Streamed:
    """The answer went out through the ReplyStream."""


Answer = Body | TrailersOnly | Streamed


@dataclass(frozen=True)
class StartSignIn:
    query_keys: tuple[str, ...]  # every query parameter's name, as often as it was given
    return_to: str | None
    visitor: str  # the browser's address, which the edge may vouch for


@dataclass(frozen=True)
class CompleteSignIn:
    query_keys: tuple[str, ...]
    query: Mapping[str, str]  # the provider's parameters (code, state, iss, error, ...)
    binding: str  # the sign-in cookie's value, "" without one


@dataclass(frozen=True)
class StartSignOut:
    query_keys: tuple[str, ...]
    session_id: str


@dataclass(frozen=True)
class CompleteSignOut:
    query_keys: tuple[str, ...]
    state: str


@dataclass(frozen=True)
class RelayKycWebhook:
    provider: str
    headers: tuple[tuple[str, str], ...]  # as received: the use case picks what goes on
    raw_body: bytes


@dataclass(frozen=True)
class BackToApp:
    """A 303 to the app, the outcome in the fragment (never sent to a server)."""

    fragment: tuple[tuple[str, str], ...]
    path: str = "/"
    clear_signin: bool = False  # the sign-in cookie is spent


@dataclass(frozen=True)
class ToProvider:
    """A 302 to FranceConnect; `binding`, when set, goes into the sign-in cookie."""

    url: str
    binding: str | None = None


@dataclass(frozen=True)
class SlowDown:
    """Too many sign-in starts from one address: 429, retry after so many seconds."""

    retry_after: str


SignInAnswer = BackToApp | ToProvider | SlowDown


@dataclass(frozen=True)
class WebhookAnswer:
    """The webhook sender's HTTP status and JSON body."""

    status: int
    body: Mapping[str, str]
