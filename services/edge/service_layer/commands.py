"""What a browser asks of the edge, free of HTTP: the handlers build these from requests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ForwardCall:
    """One gRPC-web call, its body already unframed to its one request message."""

    path: str  # "/betmesh.bets.v1.BetService/PlaceBet"
    message: bytes  # as the browser encoded it: forwarded, never parsed
    timeout: float | None  # the browser's grpc-timeout, in seconds
    # The browser's authorization header, None when it sent none ("" is sent as "", a token
    # missing all the same).
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
