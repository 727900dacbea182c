"""The guard between agreement and publication (gateway/service_layer/guard.py) on in-memory
storage: what is published for an agreed set, one hold per market, release and reject."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from betmesh.common.v1 import market_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb

from gateway.adapters.guard_store import MemoryHolds
from gateway.adapters.memory import MemoryQuoteSets, memory_units
from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.integrity import GuardPolicy
from gateway.domain.model import Accepted
from gateway.service_layer.guard import PriceGuard
from service_runtime.digest import canonical_bytes, digest_bytes
from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.support.demo_snapshots import demo_football_snapshot
from tests.unit.test_price_guard_rules import priced

TOTAL = "f1/TOTAL_GOALS/250"


def accepted(quote_set: market_pb2.QuoteSet, at: float) -> Accepted:
    data = canonical_bytes(quote_set)
    return Accepted(data, digest_bytes(data), pb.QuorumEvidence(), at, "sha256:fixture")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def guard() -> PriceGuard:
    quote_sets = MemoryQuoteSets()

    async def vetted(snapshot_hash: str) -> bool:
        return False  # nothing explains a move: every snapshot is "forced"

    holds = MemoryHolds()
    return PriceGuard(
        GuardPolicy(), holds, quote_sets, vetted, memory_units(quote_sets, holds), clock=Clock()
    )


def doubled() -> market_pb2.QuoteSet:
    snapshot = demo_football_snapshot()
    for team in snapshot.football.teams:
        team.attack += math.log(2)
    return priced(snapshot)


async def publish(guard: PriceGuard, quote_set: market_pb2.QuoteSet) -> Accepted:
    async def store(published: Accepted, holds: Sequence[PriceHold]) -> list[PriceHold]:
        async with guard.units() as uow:
            stored = await uow.holds.add(holds)
            await uow.quote_sets.save(published)
            await uow.commit()
        return stored

    return await guard.screen(accepted(quote_set, guard.clock()), None, store)


def markets(a: Accepted) -> dict[str, market_pb2.Market]:
    return {m.market_id: m for m in a.quote_set.markets}


async def test_a_coherent_first_price_is_published_as_agreed(guard: PriceGuard) -> None:
    agreed = priced()
    out = await publish(guard, agreed)
    assert out.data == canonical_bytes(agreed)
    assert await guard.holds.total(None) == 0


async def test_a_held_market_keeps_its_old_price_suspended_until_released(
    guard: PriceGuard,
) -> None:
    first = await publish(guard, priced())
    bad = doubled()
    out = await publish(guard, bad)
    assert out.digest != digest_bytes(canonical_bytes(bad))
    held = markets(out)[TOTAL]
    assert held.status == market_pb2.MARKET_STATUS_SUSPENDED
    assert list(held.selections) == list(markets(first)[TOTAL].selections)
    holds = await guard.holds.list(HoldStatus.OPEN, "f1", 500, 0)
    hold = next(h for h in holds if h.market_id == TOTAL)
    assert hold.rules == ("MOVE_TOO_LARGE",)
    assert hold.violations[0].values["cause"] == "UNVETTED_SNAPSHOT"
    # The same agreement again: still held, no second hold for the market.
    await publish(guard, bad)
    assert len(await guard.holds.list(HoldStatus.OPEN, "f1", 500, 0)) == len(holds)

    released, published = await guard.release(hold.hold_id, "ops", "checked")
    assert published and released.status == HoldStatus.RELEASED and released.decided_by == "ops"
    latest = await guard.quote_sets.latest("f1", market_pb2.PRICING_PHASE_PRE_MATCH)
    assert latest is not None
    assert markets(latest)[TOTAL] == market_pb2.Market.FromString(hold.held_market)
    # Released once: the next screen of the same prices does not hold that market again.
    again = await publish(guard, bad)
    assert markets(again)[TOTAL].status == market_pb2.MARKET_STATUS_ACTIVE

    with pytest.raises(FailedPrecondition) as refused:
        await guard.reject(hold.hold_id, "ops", "")
    assert refused.value.reason == "HOLD_ALREADY_DECIDED"


async def test_a_rejected_hold_is_never_published(guard: PriceGuard) -> None:
    await publish(guard, priced())
    await publish(guard, doubled())
    hold = next(
        h for h in await guard.holds.list(HoldStatus.OPEN, "f1", 500, 0) if h.market_id == TOTAL
    )
    rejected = await guard.reject(hold.hold_id, "ops", "palpable error")
    assert rejected.status == HoldStatus.REJECTED
    latest = await guard.quote_sets.latest("f1", market_pb2.PRICING_PHASE_PRE_MATCH)
    assert latest is not None
    assert markets(latest)[TOTAL].status == market_pb2.MARKET_STATUS_SUSPENDED


async def test_a_market_never_published_is_left_out_when_held(guard: PriceGuard) -> None:
    broken = priced()
    btts = next(m for m in broken.markets if m.market_id == "f1/BOTH_TEAMS_TO_SCORE")
    btts.selections[0].probability_e9 += 100_000_000
    out = await publish(guard, broken)
    assert "f1/BOTH_TEAMS_TO_SCORE" not in markets(out)
    assert "f1/MATCH_RESULT" in markets(out)


async def test_hold_ids_are_checked_before_any_lookup(guard: PriceGuard) -> None:
    for bad in ("", "12a", "9" * 19, "١٢"):
        with pytest.raises(InvalidArgument):
            await guard.release(bad, "ops", "")
    with pytest.raises(NotFound):
        await guard.release("42", "ops", "")
    with pytest.raises(InvalidArgument):
        await guard.reject("42", "ops", "x" * 501)
