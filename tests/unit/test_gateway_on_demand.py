"""A price asked for before the scheduler reached the fixture is made on demand, once however
many callers ask at the same time (pure logic with scripted replicas; the gateway's integration
test asks over gRPC)."""

from __future__ import annotations

import asyncio

from betmesh.common.v1 import sport_pb2

from gateway.adapters.memory import MemoryDissents, MemoryFixtures, MemoryQuoteSets, memory_units
from gateway.domain.replicas import HealthPolicy
from gateway.service_layer.consensus import ConsensusGateway
from gateway.service_layer.scheduler import PreMatchScheduler
from tests.unit.test_consensus import Scripted, honest, quote


async def test_a_burst_of_reads_of_an_unpriced_fixture_costs_one_consensus_call() -> None:
    good = quote()
    replicas = [Scripted(r, honest(good), delay=0.05) for r in "abc"]
    quote_sets = MemoryQuoteSets()
    gateway = ConsensusGateway.create(
        [(sport_pb2.SPORT_FOOTBALL, 2, replicas)],
        1.0,
        8,
        HealthPolicy(),
        quote_sets,
        MemoryDissents(),
        memory_units(quote_sets),
        min_engines=1,
    )
    fixtures = MemoryFixtures()
    await fixtures.upsert(
        [
            sport_pb2.Fixture(
                fixture_id="f1",
                sport=sport_pb2.SPORT_FOOTBALL,
                status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
            )
        ]
    )
    scheduler = PreMatchScheduler(
        gateway, fixtures, quote_sets, {}, {sport_pb2.SPORT_FOOTBALL: "sha256:x"}
    )
    answers = await asyncio.gather(*(scheduler.price_missing("f1") for _ in range(20)))
    assert all(a is not None and a.data == good for a in answers)
    assert [r.calls for r in replicas] == [1, 1, 1]
    assert await scheduler.price_missing("unknown") is None
