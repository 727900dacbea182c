"""What the edge's use cases go through: the upstream services, the token checks, the edge's
own credential, the browser's streamed answer and identity's sign-in and webhook RPCs.
Contracts only (docs/conventions.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from services.edge.domain.forwarding import Metadata
from services.edge.domain.methods import ExposedMethod
from services.edge.domain.signin import CompletedSignIn


class UpstreamStream(Protocol):
    """One server-streaming call in flight."""

    async def read(self) -> bytes | None:
        """The next message as the service encoded it; None at the end. Raises UpstreamFailed
        when the service ends the call with a status other than OK."""
        ...

    async def trailing_metadata(self) -> Metadata:
        """The service's trailing metadata, once read() has returned None."""
        ...


class UpstreamCalls(Protocol):
    """The native gRPC services behind the edge, by area ("bets", "live", ...). Messages are
    bytes in and out: the edge never parses an application message."""

    async def unary(
        self, area: str, path: str, message: bytes, metadata: Metadata, timeout: float | None
    ) -> tuple[bytes, Metadata]:
        """The reply and its trailing metadata. Raises UpstreamFailed for a status other than
        OK, Unavailable (EDGE_UPSTREAM_NOT_CONFIGURED) when no such area is configured. A
        caller cancelled while waiting cancels the upstream call."""
        ...

    def stream(
        self, area: str, path: str, message: bytes, metadata: Metadata, timeout: float | None
    ) -> AbstractAsyncContextManager[UpstreamStream]:
        """Checks the area at once (Unavailable when none is configured); the call starts on
        entering the block and is cancelled on leaving it before its end."""
        ...


class TokenCheck(Protocol):
    async def check(self, method: ExposedMethod, headers: Mapping[str, str]) -> None:
        """Raises Unauthenticated or PermissionDenied (with a reason); returns when admitted."""
        ...


class EdgeTokens(Protocol):
    """The edge's own credential (role public): tokens it attaches for anonymous visitors."""

    async def token(self, audience: str, timeout: float | None = None) -> str:
        """Raises a DomainError when no token can be had."""
        ...


class ReplyStream(Protocol):
    """A streamed answer to the browser, written frame by frame."""

    async def open(self) -> None:
        """Sends the response's headers (after the first message: an error before it is a
        trailers-only answer instead)."""
        ...

    async def write(self, frame: bytes) -> None:
        """One gRPC-web frame; raises ConnectionResetError when the browser went away."""
        ...

    async def close(self) -> None:
        """Ends the body."""
        ...


class IdentityRelay(Protocol):
    """Identity's open sign-in and webhook RPCs, as the edge relays them. Each raises
    UpstreamFailed when identity refuses, Unavailable when no identity is configured."""

    async def start_login(self, return_to: str, metadata: Metadata) -> str:
        """The provider's authorization URL. `metadata` holds the login binding and, when the
        edge vouches for the visitor, its token and the visitor's address."""
        ...

    async def complete_login(self, query: Mapping[str, str], binding: str) -> CompletedSignIn:
        """The provider's callback parameters (code, state, iss, error, error_description)."""
        ...

    async def start_logout(self, session_id: str) -> str:
        """The provider's logout URL."""
        ...

    async def complete_logout(self, state: str) -> None: ...

    async def handle_kyc_webhook(
        self, provider: str, headers: Sequence[tuple[str, str]], raw_body: bytes
    ) -> str:
        """The outcome's name without its prefix ("APPLIED", ...)."""
        ...
