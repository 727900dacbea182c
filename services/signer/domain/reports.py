"""The checks a signer makes on report fields before it computes a digest.

A signer signs for one contract on one chain (its settings), so a caller cannot obtain a
signature usable anywhere else; here it also refuses anything the contract would not store as
a result, so a compromised oracle cannot collect signatures on nonsense for later use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from service_runtime.errors import InvalidArgument
from services.oracle.domain.reports import Domain, Report, batch_digest, report_digest

MAX_BATCH = 100
UINT32_MAX = 2**32 - 1
UINT40_MAX = 2**40 - 1
UINT64_MAX = 2**64 - 1
STATUSES = frozenset({1, 2, 3})  # completed, abandoned, cancelled (ResultOracle.STATUS_*)
# A report observed later than this after the signer's own clock is refused: a result cannot be
# observed in the future (clock skew between hosts stays far below this).
FUTURE_TOLERANCE_SECONDS = 3_600


class DigestKind(Enum):
    REPORT = "report"
    BATCH = "batch"


@dataclass(frozen=True)
class ReportFields:
    """Untrusted input, as received."""

    fixture_id: bytes
    status: int
    home_score: int
    away_score: int
    sources_hash: bytes
    version: int
    observed_at: int
    config_version: int


def _report(index: int, fields: ReportFields, now: float) -> Report:
    def refuse(reason: str, what: str) -> InvalidArgument:
        return InvalidArgument(reason, f"report {index}: {what}", {"index": str(index)})

    if len(fields.fixture_id) != 32:
        raise refuse("FIXTURE_ID_INVALID", "fixture_id must be 32 bytes")
    if fields.status not in STATUSES:
        raise refuse("STATUS_INVALID", "status must be 1 (completed), 2 or 3")
    if not (0 <= fields.home_score <= UINT32_MAX and 0 <= fields.away_score <= UINT32_MAX):
        raise refuse("SCORE_INVALID", "scores must fit 32 bits")
    if len(fields.sources_hash) != 32 or not any(fields.sources_hash):
        raise refuse("SOURCES_HASH_INVALID", "sources_hash must be 32 non-zero bytes")
    if not 1 <= fields.version <= UINT64_MAX:
        raise refuse("VERSION_INVALID", "version must be at least 1")
    if not 1 <= fields.observed_at <= UINT40_MAX:
        raise refuse("OBSERVED_AT_INVALID", "observed_at must be 1..2^40-1 seconds")
    if fields.observed_at > now + FUTURE_TOLERANCE_SECONDS:
        raise refuse("OBSERVED_AT_IN_FUTURE", "observed_at is in the future")
    if not 1 <= fields.config_version <= UINT64_MAX:
        raise refuse("CONFIG_VERSION_INVALID", "config_version must be at least 1")
    return Report(
        fixture_id=fields.fixture_id,
        status=fields.status,
        home_score=fields.home_score,
        away_score=fields.away_score,
        sources_hash=fields.sources_hash,
        version=fields.version,
        observed_at=fields.observed_at,
        config_version=fields.config_version,
    )


def checked_digest(
    domain: Domain, kind: DigestKind | None, items: Sequence[ReportFields], now: float
) -> bytes:
    """The EIP-712 digest of well-formed reports; INVALID_ARGUMENT with a reason otherwise."""
    if kind is None:
        raise InvalidArgument("DIGEST_KIND_INVALID", "kind must be REPORT or BATCH")
    if not items:
        raise InvalidArgument("REPORTS_REQUIRED", "at least one report is required")
    if len(items) > MAX_BATCH:
        raise InvalidArgument("TOO_MANY_REPORTS", f"at most {MAX_BATCH} reports per request")
    if kind is DigestKind.REPORT and len(items) != 1:
        raise InvalidArgument("ONE_REPORT_EXPECTED", "kind REPORT signs exactly one report")
    reports = [_report(i, fields, now) for i, fields in enumerate(items)]
    if len({r.fixture_id for r in reports}) != len(reports):
        raise InvalidArgument("DUPLICATE_FIXTURE", "a batch holds each fixture once")
    if len({r.config_version for r in reports}) != 1:
        raise InvalidArgument("CONFIG_VERSION_MIXED", "a batch is signed for one signer set")
    if kind is DigestKind.REPORT:
        return report_digest(domain, reports[0])
    return batch_digest(domain, reports)
