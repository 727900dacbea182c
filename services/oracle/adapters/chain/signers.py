"""Where the publisher gets its k signatures (`Signatures`), and in-process signers.

The oracle service gets them from signer processes over gRPC (remote_signers.py; each process
holds one key: services/signer). `ReportSigner` / `SignerPool` sign in-process with keys held
here: for tests, benchmarks and tools that play every role on a dev chain, never for the
oracle service, which holds the transmitter key only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32

from services.oracle.domain.reports import Domain, Report, batch_digest, report_digest


class Signatures(Protocol):
    """k signatures on a report or a batch, ordered by signer address ascending."""

    def sign_report(self, domain: Domain, report: Report, threshold: int) -> list[bytes]: ...

    def sign_batch(
        self, domain: Domain, reports: Sequence[Report], threshold: int
    ) -> list[bytes]: ...


class ReportSigner:
    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def from_key_file(cls, path: Path) -> ReportSigner:
        return cls(Account.from_key(path.read_text().strip()))

    @property
    def address(self) -> str:
        return str(self._account.address)

    def __repr__(self) -> str:
        return f"ReportSigner({self.address})"

    def sign_report(self, domain: Domain, report: Report) -> bytes:
        return self._sign(report_digest(domain, report))

    def sign_batch(self, domain: Domain, reports: Sequence[Report]) -> bytes:
        return self._sign(batch_digest(domain, reports))

    def _sign(self, digest: bytes) -> bytes:
        return bytes(self._account.unsafe_sign_hash(Hash32(digest)).signature)


class SignerPool:
    """The k-of-n quorum: asks signers in ascending address order (the contract's uniqueness
    proof) and stops at the threshold."""

    def __init__(self, signers: Sequence[ReportSigner]) -> None:
        self.signers = sorted(signers, key=lambda s: int(s.address, 16))
        if len({s.address for s in self.signers}) != len(self.signers):
            raise ValueError("each signer must hold a different key")

    def sign_batch(self, domain: Domain, reports: Sequence[Report], threshold: int) -> list[bytes]:
        if threshold > len(self.signers):
            raise ValueError(f"{threshold} signatures needed, {len(self.signers)} signers held")
        return [s.sign_batch(domain, reports) for s in self.signers[:threshold]]

    def sign_report(self, domain: Domain, report: Report, threshold: int) -> list[bytes]:
        if threshold > len(self.signers):
            raise ValueError(f"{threshold} signatures needed, {len(self.signers)} signers held")
        return [s.sign_report(domain, report) for s in self.signers[:threshold]]
