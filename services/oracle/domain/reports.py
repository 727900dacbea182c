"""EIP-712 result reports: what the signers sign and the contract verifies, and which validated
results can become one. Pure: hashing only, no chain access (the sender is
services/oracle/adapters/chain/publisher.py).

The hashing here mirrors ResultOracle._hashReport / batchDigest; a test holds them equal to
the contract's own reportDigest / batchDigest views.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode  # type: ignore[attr-defined]
from eth_utils import keccak, to_checksum_address  # type: ignore[attr-defined]

from services.oracle.domain.results import ResultRecord

UINT32, UINT40 = 2**32, 2**40
DOMAIN_NAME = "BetmeshResultOracle"
DOMAIN_VERSION = "1"
_REPORT_TYPE = (
    "ResultReport(bytes32 fixtureId,uint8 status,uint32 homeScore,uint32 awayScore,"
    "bytes32 sourcesHash,uint64 version,uint64 observedAt,uint64 configVersion)"
)
REPORT_TYPEHASH = keccak(text=_REPORT_TYPE)
BATCH_TYPEHASH = keccak(text="ResultBatch(ResultReport[] reports)" + _REPORT_TYPE)
DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


def fixture_key(fixture_id: str) -> bytes:
    """Fixture ids are free text up to 200 characters; on chain they are their keccak256."""
    return keccak(text=fixture_id)


def sources_hash_bytes(sources_hash: str) -> bytes:
    """'sha256:<hex>' as the 32 bytes the report carries."""
    digest = bytes.fromhex(sources_hash.removeprefix("sha256:"))
    if len(digest) != 32:
        raise ValueError(f"sources hash {sources_hash!r} is not 32 bytes")
    return digest


@dataclass(frozen=True)
class Report:
    fixture_id: bytes
    status: int
    home_score: int
    away_score: int
    sources_hash: bytes
    version: int
    observed_at: int
    config_version: int

    def as_tuple(self) -> tuple[Any, ...]:
        """The Solidity struct, for web3 contract calls."""
        return (
            self.fixture_id,
            self.status,
            self.home_score,
            self.away_score,
            self.sources_hash,
            self.version,
            self.observed_at,
            self.config_version,
        )

    def struct_hash(self) -> bytes:
        return keccak(
            encode(
                [
                    "bytes32",
                    "bytes32",
                    "uint8",
                    "uint32",
                    "uint32",
                    "bytes32",
                    "uint64",
                    "uint64",
                    "uint64",
                ],
                [REPORT_TYPEHASH, *self.as_tuple()],
            )
        )


@dataclass(frozen=True)
class Domain:
    chain_id: int
    contract: str

    def separator(self) -> bytes:
        return keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    DOMAIN_TYPEHASH,
                    keccak(text=DOMAIN_NAME),
                    keccak(text=DOMAIN_VERSION),
                    self.chain_id,
                    to_checksum_address(self.contract),
                ],
            )
        )

    def typed_digest(self, struct_hash: bytes) -> bytes:
        return keccak(b"\x19\x01" + self.separator() + struct_hash)


def report_digest(domain: Domain, report: Report) -> bytes:
    return domain.typed_digest(report.struct_hash())


def batch_digest(domain: Domain, reports: Sequence[Report]) -> bytes:
    hashes = b"".join(r.struct_hash() for r in reports)
    return domain.typed_digest(
        keccak(encode(["bytes32", "bytes32"], [BATCH_TYPEHASH, keccak(hashes)]))
    )


class ReportInvalid(ValueError):
    """A validated result that cannot become a report (a poison observation)."""


def report_for(record: ResultRecord, version: int, config_version: int) -> Report:
    """The report for a result; ReportInvalid when a field cannot be what the contract takes
    (a timestamp before 1970 or past uint40, a score past uint32, no status)."""
    if record.result is None or not record.sources_hash:
        raise ReportInvalid("no validated result")
    observed = max((o.observed_at.seconds for o in record.observations), default=0)
    if not 0 <= observed < UINT40:
        raise ReportInvalid(f"observed_at {observed} is outside 1970..uint40")
    if not (record.result.home_score < UINT32 and record.result.away_score < UINT32):
        raise ReportInvalid("a score does not fit uint32")
    if record.result.status not in (1, 2, 3):
        raise ReportInvalid(f"status {int(record.result.status)} is not publishable")
    if version < 1:
        raise ReportInvalid(f"version {version}")
    try:
        sources = sources_hash_bytes(record.sources_hash)
    except ValueError as exc:
        raise ReportInvalid(str(exc)) from None
    return Report(
        fixture_id=fixture_key(record.fixture_id),
        status=int(record.result.status),
        home_score=record.result.home_score,
        away_score=record.result.away_score,
        sources_hash=sources,
        version=version,
        observed_at=observed,
        config_version=config_version,
    )
