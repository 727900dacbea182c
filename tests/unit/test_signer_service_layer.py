"""The signer's service layer on an in-memory key: the caller is checked before the reports,
the reports before anything is hashed, the key signs exactly the domain's digest, and nothing
reaches the key for a refused request. The same RPCs over gRPC with file and KMS keys:
tests/integration/test_signer_service.py; the oracle asking real signers:
tests/integration/test_oracle_signers.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from service_runtime.auth import Principal
from service_runtime.errors import DomainError, InvalidArgument, PermissionDenied
from services.oracle.domain.reports import Domain, batch_digest, report_digest
from services.signer.domain.reports import DigestKind, ReportFields
from services.signer.service_layer.commands import GetSigner, SignReports
from services.signer.service_layer.handlers import SignerHandlers
from tests.unit.test_signer_domain import NOW, as_report
from tests.unit.test_signer_domain import fields as report

DOMAIN = Domain(31337, "0x" + "22" * 20)
ORACLE = Principal("svc-oracle", "service")


@dataclass
class MemoryKey:
    """The SigningKey port in memory: records what it was asked to sign."""

    address: str = "0x" + "ab" * 20
    source: str = "memory"
    signed: list[bytes] = field(default_factory=list)

    def sign_digest(self, digest: bytes) -> bytes:
        self.signed.append(digest)
        return self.signature(digest)

    @staticmethod
    def signature(digest: bytes) -> bytes:
        return digest + digest + b"\x1b"


def handlers(key: MemoryKey, allow_anonymous: bool = False) -> SignerHandlers:
    return SignerHandlers(key, DOMAIN, ["svc-oracle"], allow_anonymous, clock=lambda: NOW)


async def test_the_key_signs_the_domains_digest_of_one_report_and_of_a_batch() -> None:
    key = MemoryKey()
    signer = handlers(key)
    one, two = report(), report(status=3, home_score=0)

    signed = await signer.sign_reports(SignReports(ORACLE, DigestKind.REPORT, (one,)))
    assert signed.digest == report_digest(DOMAIN, as_report(one))
    assert (signed.address, signed.signature) == (key.address, MemoryKey.signature(signed.digest))

    batch = await signer.sign_reports(SignReports(ORACLE, DigestKind.BATCH, (one, two)))
    assert batch.digest == batch_digest(DOMAIN, [as_report(one), as_report(two)])
    assert key.signed == [signed.digest, batch.digest]


@pytest.mark.parametrize(
    ("caller", "kind", "reports", "error", "reason"),
    [
        # The caller is checked first: a stranger learns nothing about its reports.
        (Principal("svc-bets", "service"), None, (), PermissionDenied, "CALLER_NOT_ORACLE"),
        (Principal("svc-oracle", "operator"), DigestKind.REPORT, (report(),), PermissionDenied,
         "CALLER_NOT_ORACLE"),
        (None, DigestKind.REPORT, (report(),), PermissionDenied, "CALLER_NOT_ORACLE"),
        (ORACLE, None, (report(),), InvalidArgument, "DIGEST_KIND_INVALID"),
        (ORACLE, DigestKind.BATCH, (), InvalidArgument, "REPORTS_REQUIRED"),
        (ORACLE, DigestKind.REPORT, (report(), report()), InvalidArgument, "ONE_REPORT_EXPECTED"),
        (ORACLE, DigestKind.REPORT, (report(status=7),), InvalidArgument, "STATUS_INVALID"),
        (ORACLE, DigestKind.REPORT, (report(observed_at=int(NOW) + 7200),), InvalidArgument,
         "OBSERVED_AT_IN_FUTURE"),
    ],
)  # fmt: skip
async def test_a_refused_request_never_reaches_the_key(
    caller: Principal | None,
    kind: DigestKind | None,
    reports: tuple[ReportFields, ...],
    error: type[DomainError],
    reason: str,
) -> None:
    key = MemoryKey()
    with pytest.raises(error) as refused:
        await handlers(key).sign_reports(SignReports(caller, kind, reports))
    assert refused.value.reason == reason
    assert key.signed == []


async def test_anonymous_callers_are_answered_only_where_configured() -> None:
    key = MemoryKey()
    with pytest.raises(PermissionDenied):
        await handlers(key).get_signer(GetSigner(None))
    signed = await handlers(key, allow_anonymous=True).sign_reports(
        SignReports(None, DigestKind.REPORT, (report(),))
    )
    assert key.signed == [signed.digest]


async def test_the_signer_describes_itself_to_the_oracle_only() -> None:
    key = MemoryKey()
    described = await handlers(key).get_signer(GetSigner(ORACLE))
    assert (described.address, described.domain, described.key_source) == (
        key.address,
        DOMAIN,
        "memory",
    )
    with pytest.raises(PermissionDenied) as refused:
        await handlers(key).get_signer(GetSigner(Principal("partner-1", "partner")))
    assert refused.value.reason == "CALLER_NOT_ORACLE"
