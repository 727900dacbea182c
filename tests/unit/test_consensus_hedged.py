"""Hedged fan-out: ask k replicas, the others only when agreement needs them (pure logic with
scripted replicas; tests/integration/test_gateway_consensus.py runs it against real ones)."""

from __future__ import annotations

import asyncio

from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import quote_service_pb2

from gateway.adapters.memory import MemoryDissents, MemoryQuoteSets, memory_units
from gateway.domain.consensus import Decision, HedgeBudget, Outcome, Reply
from gateway.domain.replicas import HealthPolicy
from gateway.service_layer.consensus import ConsensusGateway
from gateway.service_layer.fanout import decide
from tests.unit.test_consensus import Scripted, honest, quote

HEDGE = 0.2


async def completed(
    replicas: list[Scripted], hedge_after: float | None = HEDGE
) -> tuple[Decision, Decision]:
    """The caller's decision and the one `on_complete` sees once every asked replica answered."""
    final: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()

    async def record(d: Decision) -> None:
        final.set_result(d)

    decision = await decide(replicas, b"req", 2, 1.0, on_complete=record, hedge_after=hedge_after)
    return decision, await asyncio.wait_for(final, 5)


async def test_agreeing_first_two_mean_the_third_is_never_asked() -> None:
    good = quote()
    a, b, c = Scripted("a", honest(good)), Scripted("b", honest(good)), Scripted("c", honest(good))
    decision, final = await completed([a, b, c])
    assert decision.accepted and decision.data == good
    assert (a.calls, b.calls, c.calls) == (1, 1, 0)
    assert {v.replica_id: v.outcome for v in final.votes}["c"] == Outcome.NOT_AWAITED


async def test_without_hedging_every_replica_is_asked() -> None:
    good = quote()
    replicas = [Scripted(r, honest(good)) for r in "abc"]
    await completed(replicas, hedge_after=None)
    assert [r.calls for r in replicas] == [1, 1, 1]


async def test_a_dissent_among_the_first_two_brings_in_the_third_and_is_outvoted() -> None:
    good, bad = quote(), quote(25_000)
    a, b, c = Scripted("a", honest(bad)), Scripted("b", honest(good)), Scripted("c", honest(good))
    decision, final = await completed([a, b, c])
    assert decision.accepted and decision.data == good
    assert c.calls == 1
    outcomes = {v.replica_id: v.outcome for v in final.votes}
    assert outcomes == {"a": Outcome.DISSENTED, "b": Outcome.AGREED, "c": Outcome.AGREED}
    assert next(v for v in final.votes if v.replica_id == "a").first_difference


async def test_a_failed_replica_among_the_first_two_brings_in_the_third() -> None:
    good = quote()
    a = Scripted("a", Reply(error_code="UNAVAILABLE"))
    b, c = Scripted("b", honest(good)), Scripted("c", honest(good))
    decision, _ = await completed([a, b, c])
    assert decision.accepted and c.calls == 1


async def test_a_slow_first_replica_is_hedged_after_the_delay() -> None:
    good = quote()
    a = Scripted("a", honest(good), delay=0.9)
    b, c = Scripted("b", honest(good)), Scripted("c", honest(good), delay=0.01)
    decision, final = await completed([a, b, c])
    assert decision.accepted and c.calls == 1
    # The slow one still answers in the background and is counted for its health.
    assert {v.replica_id: v.outcome for v in final.votes}["a"] == Outcome.AGREED


async def test_two_wrong_alike_among_three_still_need_a_quorum_of_identical_bytes() -> None:
    good, bad, other = quote(), quote(25_000), quote(26_000)
    a, b, c = Scripted("a", honest(bad)), Scripted("b", honest(other)), Scripted("c", honest(good))
    decision, _ = await completed([a, b, c])
    assert not decision.accepted and c.calls == 1


async def test_the_gateway_rotates_which_replicas_are_asked_first() -> None:
    good = quote()
    replicas = [Scripted(r, honest(good)) for r in "abc"]
    gateway = ConsensusGateway.create(
        [(sport_pb2.SPORT_FOOTBALL, 2, replicas)],
        1.0,
        8,
        HealthPolicy(),
        (quote_sets := MemoryQuoteSets()),
        MemoryDissents(),
        memory_units(quote_sets),
        min_engines=1,
    )
    gateway.hedge_after = HEDGE
    request = quote_service_pb2.PriceFixtureRequest(snapshot_hash="sha256:x")
    request.fixture.fixture_id = "f1"
    request.fixture.sport = sport_pb2.SPORT_FOOTBALL
    for _ in range(3):
        await gateway.quote(request)
    # Three calls, two replicas each, every replica heard twice.
    assert [r.calls for r in replicas] == [2, 2, 2]


async def test_the_delay_alone_brings_in_the_spares_only_within_the_budget() -> None:
    good = quote()
    slow = [Scripted("a", honest(good), delay=0.05), Scripted("b", honest(good), delay=0.05)]
    spare = Scripted("c", honest(good))
    budget = HedgeBudget(ratio=0.0, burst=2.0, tokens=2.0)
    for _ in range(5):
        decision = await decide(
            [*slow, spare], b"req", 2, 1.0, hedge_after=0.001, hedge_budget=budget
        )
        assert decision.accepted
    # Every call was slower than the delay; only the two the budget allowed asked the spare.
    assert spare.calls == 2
    assert [r.calls for r in slow] == [5, 5]


async def test_a_spent_budget_still_brings_in_the_spares_on_a_dissent() -> None:
    good, bad = quote(), quote(25_000)
    a, b, c = Scripted("a", honest(bad)), Scripted("b", honest(good)), Scripted("c", honest(good))
    budget = HedgeBudget(ratio=0.0, burst=1.0, tokens=0.0)
    decision = await decide([a, b, c], b"req", 2, 1.0, hedge_after=10.0, hedge_budget=budget)
    assert decision.accepted and decision.data == good and c.calls == 1


def test_the_budget_refills_at_its_ratio_up_to_its_burst() -> None:
    budget = HedgeBudget(ratio=0.5, burst=1.0, tokens=0.0)
    assert not budget.withdraw()
    budget.deposit()
    assert not budget.withdraw()
    budget.deposit()
    budget.deposit()  # capped at the burst
    assert budget.withdraw() and not budget.withdraw()
