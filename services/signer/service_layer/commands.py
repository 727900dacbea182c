"""What callers ask a signer, free of gRPC: the servicer builds these from requests."""

from __future__ import annotations

from dataclasses import dataclass

from service_runtime.auth import Principal
from services.signer.domain.reports import DigestKind, ReportFields


@dataclass(frozen=True)
class SignReports:
    """Sign one report (kind REPORT) or a batch (BATCH) for this signer's contract."""

    caller: Principal | None
    # None: a kind the contract does not know (refused by the domain with its reason).
    kind: DigestKind | None
    # Untrusted, as received; the domain checks them before anything is hashed.
    reports: tuple[ReportFields, ...]


@dataclass(frozen=True)
class GetSigner:
    """Which key, chain and contract this signer signs for."""

    caller: Principal | None
