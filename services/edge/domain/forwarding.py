"""The rules of forwarding one browser call: which credential goes upstream, which deadline, how
many streams one browser may hold open, and what an upstream's failure is as a value.

No gRPC here: an upstream's status is its code number, message and trailing metadata, as the
gRPC-web trailers carry them (the adapter turns grpc's error into UpstreamFailed).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator, Sequence

from google.rpc import code_pb2, error_details_pb2

from service_runtime.errors import ResourceExhausted, error_info, status_from_metadata
from services.edge.domain.framing import status_trailers
from services.edge.domain.methods import ExposedMethod

# On an anonymous public call, the browser's address, for live's per-subscriber stream limit:
# every anonymous visitor shares the edge's token subject. Live believes it only from a caller
# with the public role; a browser's own header of that name is never forwarded (above).
PUBLIC_CLIENT_HEADER = "x-betmesh-public-client"
OK = 0
CANCELLED = 1

Metadata = Sequence[tuple[str, str | bytes]]


class Credential(enum.Enum):
    """What vouches for a call upstream."""

    # A public method called without a token: the edge's own public-role token, and the
    # visitor's address for the service's per-visitor counts.
    EDGE_PUBLIC = "edge_public"
    # An open method (sign-up and the like): the browser's token if any, else the edge's,
    # vouching for the visitor's address (the service's per-address limits count visitors).
    VOUCHED = "vouched"
    # The browser's token, checked at the edge first (tokens mode).
    CHECKED = "checked"
    # Anonymous mode: forwarded as it came, the services decide.
    FORWARDED = "forwarded"


def credential_for(
    method: ExposedMethod, *, has_token: bool, edge_tokens: bool, checking: bool
) -> Credential:
    # A browser's token, when it sends one, is checked and forwarded as always (a player's
    # stream is the player's); without one, only a public method goes on, as the edge.
    if method.public and edge_tokens and not has_token:
        return Credential.EDGE_PUBLIC
    if method.open and edge_tokens:
        return Credential.VOUCHED
    if checking:
        return Credential.CHECKED
    return Credential.FORWARDED


# The longest deadlines the edge passes upstream, whatever grpc-timeout a browser sends: the
# header's format allows 99999999H (11,000 years), on which grpc's deadline arithmetic overflows
# and the call fails at once with DEADLINE_EXCEEDED; and a unary call is a slot held upstream,
# which no browser needs for more than five minutes (a stream, for more than a day).
MAX_UNARY_DEADLINE_SECONDS = 300.0
MAX_STREAM_DEADLINE_SECONDS = 86_400.0


def deadline_for(
    method: ExposedMethod, requested: float | None, default_unary: float
) -> float | None:
    """The browser's grpc-timeout, bounded (above); a unary call without one gets
    `default_unary` (a browser that never set one must not hold an upstream call forever); a
    stream none (it is meant to stay open, and the browser going away cancels it). A grpc-timeout
    of 0 is a deadline already passed, as gRPC means it (the call ends DEADLINE_EXCEEDED), not
    "no deadline"."""
    if method.server_streaming:
        return None if requested is None else min(requested, MAX_STREAM_DEADLINE_SECONDS)
    if requested is None:
        return default_unary
    return min(requested, max(MAX_UNARY_DEADLINE_SECONDS, default_unary))


class UpstreamFailed(Exception):
    """The upstream answered a status other than OK; passed to the browser unchanged."""

    def __init__(self, code: int, message: str, trailing: Metadata = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.trailing = tuple(trailing)

    def trailers(self) -> list[tuple[str, str]]:
        """grpc-status, grpc-message and the upstream's grpc-status-details-bin, untouched."""
        return status_trailers(self.code, self.message, self.trailing)

    def info(self) -> error_details_pb2.ErrorInfo | None:
        """The ErrorInfo of the upstream's rich status, when it sent one."""
        return error_info(status_from_metadata(self.trailing))

    def reason(self) -> str:
        """The ErrorInfo's reason, else the status code's name (UNAVAILABLE, ...)."""
        info = self.info()
        return str(info.reason) if info is not None else code_pb2.Code.Name(self.code)


class StreamSlots:
    """Open streams per client address: one browser cannot hold the edge's streams hostage."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self.open: dict[str, int] = {}

    @contextlib.contextmanager
    def take(self, client: str) -> Iterator[None]:
        if self.open.get(client, 0) >= self.per_client:
            raise ResourceExhausted(
                "EDGE_TOO_MANY_STREAMS",
                f"at most {self.per_client} open streams per client",
                {"limit": str(self.per_client)},
            )
        self.open[client] = self.open.get(client, 0) + 1
        try:
            yield
        finally:
            left = self.open[client] - 1
            if left:
                self.open[client] = left
            else:
                del self.open[client]

    @property
    def total(self) -> int:
        return sum(self.open.values())
