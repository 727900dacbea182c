"""Domain errors and their gRPC mapping.

Domain cores raise these (they know nothing of gRPC); the service interceptor turns them into
a status code plus a `google.rpc.Status` whose details hold a `google.rpc.ErrorInfo` with a
machine-readable `reason` (UPPER_SNAKE_CASE) and string metadata. Any other exception is a bug
on our side: logged with its trace id, answered INTERNAL without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from google.protobuf import any_pb2, message
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "betmesh"
log = logging.getLogger(__name__)


class DomainError(Exception):
    # A google.rpc.Code name: domain code stays free of gRPC, the interceptor maps it.
    code: str = "UNKNOWN"

    def __init__(
        self,
        reason: str,
        message: str,
        metadata: Mapping[str, str] | None = None,
        details: Sequence[message.Message] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})
        # Extra typed details (e.g. a ConsensusRefusal) packed after the ErrorInfo.
        self.details = list(details)


class InvalidArgument(DomainError):
    code = "INVALID_ARGUMENT"


class FailedPrecondition(DomainError):
    code = "FAILED_PRECONDITION"


class NotFound(DomainError):
    code = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class ResourceExhausted(DomainError):
    code = "RESOURCE_EXHAUSTED"


class Aborted(DomainError):
    code = "ABORTED"


class Unavailable(DomainError):
    code = "UNAVAILABLE"


class Unimplemented(DomainError):
    code = "UNIMPLEMENTED"


class DeadlineExceeded(DomainError):
    code = "DEADLINE_EXCEEDED"


# What an error may carry back to the caller. Messages and metadata often quote the input
# (an id, a name): a caller must never get a megabyte back for a megabyte sent, nor make our
# trailers exceed the peer's metadata limit (which turns a clear refusal into INTERNAL).
MAX_MESSAGE_CHARS = 512
MAX_METADATA_ENTRIES = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 128
MAX_REASON_CHARS = 64
ELLIPSIS = "…"


def bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut marked; control characters replaced so that
    a NUL or a newline from the input cannot break a log line or a header."""
    if len(text) > limit:
        text = text[: limit - 1] + ELLIPSIS
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "?" for c in text)


def bounded_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in list(metadata.items())[:MAX_METADATA_ENTRIES]:
        out[bounded(str(key), MAX_METADATA_KEY_CHARS)] = bounded(
            str(value), MAX_METADATA_VALUE_CHARS
        )
    return out


def to_rpc_status(error: DomainError) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(
        reason=bounded(error.reason, MAX_REASON_CHARS),
        domain=ERROR_DOMAIN,
        metadata=bounded_metadata(error.metadata),
    )
    details = []
    for detail in [info, *error.details]:
        packed = any_pb2.Any()
        packed.Pack(detail)
        details.append(packed)
    return status_pb2.Status(
        code=code_pb2.Code.Value(error.code),
        message=bounded(error.message, MAX_MESSAGE_CHARS),
        details=details,
    )


def internal_status(message_text: str = "internal error") -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason="INTERNAL_ERROR", domain=ERROR_DOMAIN)
    packed = any_pb2.Any()
    packed.Pack(info)
    return status_pb2.Status(code=code_pb2.INTERNAL, message=message_text, details=[packed])


def error_info(status: status_pb2.Status | None) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo in a received status, for clients and tests."""
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


STATUS_DETAILS_KEY = "grpc-status-details-bin"


def status_from_metadata(metadata: object) -> status_pb2.Status | None:
    """The rich status a peer sent in its trailing metadata (for aio errors and clients)."""
    for key, value in metadata or ():  # type: ignore[attr-defined]
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None
