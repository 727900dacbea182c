"""The snapshot canary's bookkeeping (gateway/service_layer/canary.py) with stand-in pricing:
the first snapshot is the baseline, a candidate nothing could be compared on is not let through,
a refused one stays refused until forced."""

from __future__ import annotations

from collections.abc import Sequence

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2

from gateway.adapters.guard_store import MemoryReviews
from gateway.adapters.memory import MemoryFixtures, MemoryQuoteSets
from gateway.domain.canary import CanaryPolicy, PastResult, rps_e9
from gateway.service_layer.canary import SnapshotCanary
from service_runtime.errors import Aborted

FOOTBALL = sport_pb2.SPORT_FOOTBALL
OLD, NEW = "sha256:" + "0" * 64, "sha256:" + "1" * 64


def canary(agree_works: bool) -> SnapshotCanary:
    async def agree(request: quote_service_pb2.PriceFixtureRequest) -> market_pb2.QuoteSet:
        if not agree_works:
            raise Aborted("NO_QUORUM", "no quorum")
        raise AssertionError("not reached: no results and no fixtures")

    async def fitted_at(sport: sport_pb2.Sport.ValueType, snapshot_hash: str) -> float | None:
        return None

    def results(sport: sport_pb2.Sport.ValueType) -> Sequence[PastResult]:
        return []

    return SnapshotCanary(
        CanaryPolicy(),
        MemoryReviews(),
        agree,
        MemoryFixtures(),
        MemoryQuoteSets(),
        results,
        fitted_at,
    )


def test_rps_is_zero_for_certainty_and_worst_for_the_opposite() -> None:
    assert rps_e9([1_000_000_000, 0, 0], 0) == 0
    assert rps_e9([0, 0, 1_000_000_000], 0) == 1_000_000_000
    # A coin-flip 1X2 on a draw: ((1/3 - 0)^2 + (2/3 - 1)^2) / 2.
    assert abs(rps_e9([333_333_333, 333_333_333, 333_333_334], 1) - 111_111_111) < 10


async def test_the_first_snapshot_is_the_baseline_and_an_inconclusive_one_is_not_let_through() -> (
    None
):
    c = canary(agree_works=False)
    assert await c.current(FOOTBALL, [OLD]) == OLD
    assert await c.verdict(OLD) == pb.SNAPSHOT_VERDICT_BASELINE
    # Nothing to compare the new one on: the current one stays, the new one stays unreviewed.
    assert await c.current(FOOTBALL, [NEW, OLD]) == OLD
    assert await c.verdict(NEW) is None
    assert not await c.vetted(NEW)


async def test_a_forced_snapshot_is_priced_from_but_not_vetted() -> None:
    c = canary(agree_works=False)
    await c.current(FOOTBALL, [OLD])
    await c.reviews.save(
        pb.SnapshotReview(snapshot_hash=NEW, sport=FOOTBALL, verdict=pb.SNAPSHOT_VERDICT_REFUSED)
    )
    assert await c.current(FOOTBALL, [NEW, OLD]) == OLD
    forced = await c.force(FOOTBALL, NEW, "ops", "checked by hand")
    assert forced.verdict == pb.SNAPSHOT_VERDICT_FORCED and forced.forced_by == "ops"
    assert await c.current(FOOTBALL, [NEW, OLD]) == NEW
    assert not await c.vetted(NEW)
    assert await c.vetted(OLD)
