"""The rule that decides whether an announced result settles: the chain must hold that very
version with the same status, scores and sources hash."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.bets.domain.chain_results import (
    CheckState,
    ClaimedResult,
    OnChain,
    judge,
)

CLAIM = ClaimedResult("fx-1", 1, "COMPLETED", 2, 1, "sha256:" + "ab" * 32, (), "0x01")
CHAIN = OnChain("COMPLETED", 2, 1, 1, "sha256:" + "AB" * 32, 100)


def test_the_same_version_and_result_settles() -> None:
    assert judge(CLAIM, CHAIN, newer_claimed=False).state is CheckState.SETTLED


def test_nothing_on_chain_yet_waits() -> None:
    assert judge(CLAIM, None, newer_claimed=False).state is CheckState.WAITING
    earlier = replace(CHAIN, version=0)
    assert judge(replace(CLAIM, version=1), earlier, newer_claimed=False).state is (
        CheckState.WAITING
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"home": 0}, "home_score"),
        ({"away": 2}, "away_score"),
        ({"status": "CANCELLED"}, "status"),
        ({"sources_hash": "sha256:" + "cd" * 32}, "sources_hash"),
        ({"sources_hash": ""}, "sources_hash"),
    ],
)
def test_any_difference_holds_and_names_it(change: dict[str, object], field: str) -> None:
    verdict = judge(CLAIM, replace(CHAIN, **change), newer_claimed=False)  # type: ignore[arg-type]
    assert verdict.state is CheckState.HELD
    assert verdict.reason == f"CHAIN_RESULT_DIFFERS:{field}"


def test_a_newer_version_on_chain_supersedes_or_holds() -> None:
    newer = replace(CHAIN, version=2)
    assert judge(CLAIM, newer, newer_claimed=True).state is CheckState.SUPERSEDED
    held = judge(CLAIM, newer, newer_claimed=False)
    assert (held.state, held.reason) == (CheckState.HELD, "CHAIN_VERSION_NOT_VALIDATED")
