"""Settling from the chain: what the oracle announced is a wake-up, the contract is the truth.

A result announced on results.finalised is settled only when the oracle contract, read at the
finality the operator configured, holds that very version with the same status, scores and
sources hash. Anything else settles nothing: the version waits (not on chain yet, bounded),
is held for an operator with the evidence (the chain says something else), or is superseded
(a later version took over).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# The contract's status codes (ResultOracle.STATUS_*).
CHAIN_STATUSES = {1: "COMPLETED", 2: "ABANDONED", 3: "CANCELLED"}


class CheckState(StrEnum):
    WAITING = "WAITING"
    SETTLED = "SETTLED"
    HELD = "HELD"
    SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True)
class ClaimedResult:
    """What the oracle announced (results.finalised)."""

    fixture_id: str
    version: int
    status: str  # COMPLETED / ABANDONED / CANCELLED
    home: int
    away: int
    sources_hash: str  # "sha256:<hex>"
    set_games: tuple[int, ...]
    transaction_hash: str


@dataclass(frozen=True)
class OnChain:
    """The contract's stored result at the configured finality, and the report's sources hash
    from the announced transaction's event (empty when that transaction has no such event)."""

    status: str
    home: int
    away: int
    version: int
    sources_hash: str
    block_number: int


@dataclass(frozen=True)
class Evidence:
    """Who could sign reports when a result was held: the contract's signer set and its
    configuration version, at the configured finality."""

    signers: tuple[str, ...]
    config_version: int


@dataclass(frozen=True)
class HoldRow:
    """A held result as operators review it: what was claimed, why it is held, what the chain
    said."""

    claimed: ClaimedResult
    reason: str
    chain: OnChain | None
    signers: tuple[str, ...]
    config_version: int
    held_at: datetime


@dataclass(frozen=True)
class Verdict:
    state: CheckState
    reason: str = ""


def judge(claimed: ClaimedResult, chain: OnChain | None, newer_claimed: bool) -> Verdict:
    """`newer_claimed`: the oracle announced a version at least as new as the chain's."""
    if chain is None or chain.version < claimed.version:
        return Verdict(CheckState.WAITING, "NOT_ON_CHAIN_YET")
    if chain.version > claimed.version:
        if newer_claimed:
            return Verdict(CheckState.SUPERSEDED, "NEWER_VERSION")
        return Verdict(CheckState.HELD, "CHAIN_VERSION_NOT_VALIDATED")
    differs = [
        name
        for name, ours, theirs in (
            ("status", claimed.status, chain.status),
            ("home_score", claimed.home, chain.home),
            ("away_score", claimed.away, chain.away),
            ("sources_hash", _hex(claimed.sources_hash), _hex(chain.sources_hash)),
        )
        if ours != theirs
    ]
    if differs:
        return Verdict(CheckState.HELD, "CHAIN_RESULT_DIFFERS:" + ",".join(differs))
    return Verdict(CheckState.SETTLED)


def _hex(value: str) -> str:
    return value.removeprefix("sha256:").removeprefix("0x").lower()
