"""The oracle's side of the signers: k signatures gathered over gRPC from signer processes.

The oracle holds no signer key (only the transmitter's). For each report or batch it asks every
configured signer (services/signer, one key each) at once, then keeps an answer only if it
signs the digest the oracle computed itself, recovers to the address the signer claims, and
that address is in the contract's current signer set. The valid ones are ordered by address
(the contract's uniqueness proof) and the first `threshold` used. Fewer than `threshold` valid
answers: nothing is sent, `SignerQuorumUnavailable` says which signers failed and why, and the
results stay pending for the next pass.

Several endpoints per signer set are normal during a rotation (docs/operations.md): old and new
signers both run, the contract's set decides whose signatures count.

The publisher runs in a worker thread; the calls run on the service's event loop (its channels
carry the oracle's service token), the thread waits for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from betmesh.signer.v1 import signer_service_pb2 as pb
from betmesh.signer.v1 import signer_service_pb2_grpc
from eth_account import Account
from web3 import Web3

from service_runtime.channels import ChannelPool
from service_runtime.errors import FailedPrecondition
from services.oracle.domain.reports import Domain, Report, batch_digest, report_digest

log = logging.getLogger(__name__)
SIGN_TIMEOUT_SECONDS = 5.0


class SignerQuorumUnavailable(FailedPrecondition):
    """Fewer valid signatures than the contract's threshold: nothing can be published."""

    def __init__(self, valid: int, threshold: int, failures: Sequence[str]) -> None:
        super().__init__(
            "SIGNER_QUORUM_UNAVAILABLE",
            f"{valid} valid signatures of {threshold} needed; " + "; ".join(failures),
            {"valid": str(valid), "threshold": str(threshold)},
        )


@dataclass(frozen=True)
class _Answer:
    endpoint: str
    address: str | None
    signature: bytes
    problem: str | None


def _request(kind: int, reports: Sequence[Report]) -> pb.SignReportsRequest:
    return pb.SignReportsRequest(
        kind=kind,  # type: ignore[arg-type]
        reports=[
            pb.SignableReport(
                fixture_id=r.fixture_id,
                status=r.status,
                home_score=r.home_score,
                away_score=r.away_score,
                sources_hash=r.sources_hash,
                version=r.version,
                observed_at=r.observed_at,
                config_version=r.config_version,
            )
            for r in reports
        ],
    )


class RemoteSignerPool:
    def __init__(
        self,
        endpoints: Sequence[str],
        loop: asyncio.AbstractEventLoop,
        channels: ChannelPool,
        current_signers: Callable[[], Sequence[str]],
        timeout: float = SIGN_TIMEOUT_SECONDS,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one signer endpoint is needed")
        self.endpoints = tuple(endpoints)
        self._loop = loop
        self._channels = channels
        self._current_signers = current_signers
        self._timeout = timeout

    def sign_report(self, domain: Domain, report: Report, threshold: int) -> list[bytes]:
        digest = report_digest(domain, report)
        return self._gather(pb.DIGEST_KIND_REPORT, [report], digest, threshold)

    def sign_batch(self, domain: Domain, reports: Sequence[Report], threshold: int) -> list[bytes]:
        digest = batch_digest(domain, reports)
        return self._gather(pb.DIGEST_KIND_BATCH, reports, digest, threshold)

    def _gather(
        self, kind: int, reports: Sequence[Report], digest: bytes, threshold: int
    ) -> list[bytes]:
        allowed = {Web3.to_checksum_address(a) for a in self._current_signers()}
        request = _request(kind, reports)
        future = asyncio.run_coroutine_threadsafe(self._ask_all(request, digest), self._loop)
        answers = future.result(self._timeout + 5.0)
        valid: dict[str, bytes] = {}
        failures: list[str] = []
        for answer in answers:
            if answer.problem is not None or answer.address is None:
                failures.append(f"{answer.endpoint}: {answer.problem}")
            elif answer.address not in allowed:
                failures.append(f"{answer.endpoint}: {answer.address} is not in the signer set")
            else:
                valid.setdefault(answer.address, answer.signature)
        if len(valid) < threshold:
            error = SignerQuorumUnavailable(len(valid), threshold, failures)
            log.error(
                "not enough signers: nothing published",
                extra={"reason": error.reason, "detail": error.message},
            )
            raise error
        if failures:
            log.warning("some signers did not sign", extra={"failures": failures})
        ordered = sorted(valid, key=lambda a: int(a, 16))
        return [valid[a] for a in ordered[:threshold]]

    async def _ask_all(self, request: pb.SignReportsRequest, digest: bytes) -> list[_Answer]:
        return list(await asyncio.gather(*(self._ask(e, request, digest) for e in self.endpoints)))

    async def _ask(self, endpoint: str, request: pb.SignReportsRequest, digest: bytes) -> _Answer:
        stub = signer_service_pb2_grpc.SignerServiceStub(self._channels.get(endpoint))
        try:
            answer = await stub.SignReports(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            return _Answer(endpoint, None, b"", f"{exc.code().name} {exc.details()}"[:200])
        if answer.digest != digest:
            return _Answer(endpoint, None, b"", "signed another digest (other chain or contract?)")
        try:
            recovered = Account._recover_hash(digest, signature=answer.signature)
        except Exception:  # any malformed signature: that signer's answer is void
            return _Answer(endpoint, None, b"", "unreadable signature")
        if str(recovered).lower() != answer.signer_address.lower():
            return _Answer(endpoint, None, b"", "signature does not match the signer's address")
        return _Answer(endpoint, str(recovered), bytes(answer.signature), None)
