"""Shared mistakes through the public APIs, with real replica servers of two engines, a real
gateway publishing on Redis and real bets consuming its prices (issue #15's fault list):

- both replicas of one engine identically wrong (`skew-odds`): the wrong price is neither
  published nor announced (so never streamed), a bet at it is refused, the honest engine's
  replica is not quarantined and is recorded as outvoted by a suspect majority;
- all three replicas disagreeing on a market: a record with every vote;
- one engine down entirely: nothing is published, and the refusal says SINGLE_ENGINE.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.bets.v1 import bet_service_pb2 as bets_pb
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc
from grpc_status import rpc_status

from gateway.app import build as build_gateway
from gateway.settings import GatewaySettings
from launcher.mesh import replica_engine
from service_runtime.errors import error_info
from service_runtime.events import Topic, stream_key
from service_runtime.server import ServiceHost
from services.quotes.app import build as build_quotes
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.settings import QuotesSettings
from tests.integration.test_bets_harness import running
from tests.support.demo_snapshots import demo_football_snapshot, demo_startup_env

SNAPSHOT = snapshot_hash(demo_football_snapshot())


def fixture(fixture_id: str) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        home=sport_pb2.Participant(participant_id="fb:liverpool", name="Liverpool"),
        away=sport_pb2.Participant(participant_id="fb:man-city", name="Manchester City"),
    )


@dataclass
class Mesh:
    replicas: list[ServiceHost]
    gateway: ServiceHost
    channel: grpc.aio.Channel

    @property
    def stub(self) -> Any:
        return consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(self.channel)

    async def honest(self, fixture_id: str) -> market_pb2.QuoteSet:
        """What the independent engine's replica (football-2, never faulty here) says."""
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.replicas[1].port}") as channel:
            answer = await quote_service_pb2_grpc.QuoteServiceStub(channel).PriceFixture(
                quote_service_pb2.PriceFixtureRequest(
                    fixture=fixture(fixture_id), snapshot_hash=SNAPSHOT
                ),
                timeout=10,
            )
        return market_pb2.QuoteSet.FromString(answer.quote_set)


async def start(faults: list[str], redis_url: str, database_url: str = "") -> Mesh:
    """football-1 and -3 run the reference engine, football-2 the independent one. With
    `database_url`, the gateway keeps its records (the dissent log) in PostgreSQL."""
    replicas = []
    for index, fault in enumerate(faults, 1):
        host = build_quotes(
            QuotesSettings.from_env(
                {
                    "BETMESH_QUOTES_SPORT": "football",
                    # The hand-set snapshots only: this test pins their hashes.
                    **demo_startup_env(),
                    "BETMESH_QUOTES_REPLICA_ID": f"football-{index}",
                    "BETMESH_QUOTES_ENGINE": replica_engine("football", index),
                    "BETMESH_QUOTES_FAULT": fault,
                    "BETMESH_GRACE_SECONDS": "0",
                    "BETMESH_AUTH_MODE": "anonymous",
                }
            )
        )
        await host.start()
        replicas.append(host)
    addresses = ",".join(
        f"127.0.0.1:{r.port}@{replica_engine('football', i)}" for i, r in enumerate(replicas, 1)
    )
    gateway = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}",
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_DATABASE_URL": database_url,
                "BETMESH_GRACE_SECONDS": "0",
                "BETMESH_AUTH_MODE": "anonymous",
            }
        )
    )
    await gateway.start()
    return Mesh(replicas, gateway, grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}"))


@pytest.fixture
async def one_engine_wrong(redis_url: str) -> AsyncIterator[Mesh]:
    mesh = await start(["skew-odds", "", "skew-odds"], redis_url)
    yield mesh
    await stop(mesh)


async def stop(mesh: Mesh) -> None:
    await mesh.channel.close()
    await mesh.gateway.stop(0)
    for replica in mesh.replicas:
        await replica.stop(0)


async def eventually(check: Callable[[], Awaitable[bool]], attempts: int = 300) -> None:
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.03)
    raise AssertionError("condition not reached in time")


async def announced(redis: aioredis.Redis, fixture_id: str) -> list[market_pb2.QuoteSet]:
    """Every quote set the gateway announced for the fixture on quotes.accepted (what live
    streams and bets prices from)."""
    entries: Any = await redis.xrange(stream_key(Topic.QUOTE_SET_ACCEPTED))
    found = []
    for _, fields in entries:
        envelope = events_pb2.EventEnvelope.FromString(bytes(fields[b"envelope"]))
        if envelope.quote_set_accepted.quote_set.fixture_id == fixture_id:
            found.append(envelope.quote_set_accepted.quote_set)
    return found


async def test_one_engine_identically_wrong_publishes_streams_and_takes_nothing_wrong(
    one_engine_wrong: Mesh, database_url: str, redis_url: str
) -> None:
    mesh = one_engine_wrong
    redis = aioredis.Redis.from_url(redis_url)
    try:
        async with running(database_url, redis_url) as bets:
            accepted = (
                await mesh.stub.GetConsensusQuote(
                    pb.GetConsensusQuoteRequest(fixture=fixture("wrong-1"), snapshot_hash=SNAPSHOT),
                    timeout=20,
                )
            ).accepted
            honest = {m.market_id: m for m in (await mesh.honest("wrong-1")).markets}
            wrong_id = "wrong-1/MATCH_RESULT"
            assert [(w.market_id, w.reason) for w in accepted.evidence.withheld] == [
                (wrong_id, "ENGINES_DISAGREE")
            ]
            published = {m.market_id: m for m in accepted.quote_set.markets}
            assert published.keys() == honest.keys()
            withheld = published[wrong_id]
            assert withheld.status == market_pb2.MARKET_STATUS_SUSPENDED
            assert all(s.odds_e4 == 0 for s in withheld.selections)
            for market_id, market in published.items():
                if market_id != wrong_id:
                    assert market == honest[market_id]
            # The wrong price the skewed engine offers: its first priced selection (home) one
            # tick too generous.
            home = next(s for s in honest[wrong_id].selections if s.selection_id == "home")
            wrong_home, skewed_selection = home.odds_e4 + 100, "home"

            # Announced (and so streamed by live) only in its withheld form.
            sets = await announced(redis, "wrong-1")
            assert sets, "the gateway announced nothing"
            for quote_set in sets:
                for market in quote_set.markets:
                    if market.market_id == wrong_id:
                        assert market.status == market_pb2.MARKET_STATUS_SUSPENDED
                        assert {s.odds_e4 for s in market.selections} == {0}

            # Bets priced from the announcement: the wrong price is refused, an agreed one is
            # taken (so the refusal is the rule's, not a missing price).
            last: Any = await redis.xrevrange(stream_key(Topic.QUOTE_SET_ACCEPTED), count=1)
            await bets.bus.consumed(Topic.QUOTE_SET_ACCEPTED, last[0][0])
            player = await bets.player()
            refused = await bets.place(
                player, [("wrong-1", wrong_id, skewed_selection, wrong_home)]
            )
            assert refused.status == bets_pb.BET_STATUS_REJECTED
            assert refused.rejection_reason == bets_pb.REJECTION_REASON_BETTING_SUSPENDED
            total = honest["wrong-1/TOTAL_GOALS/250"]
            over = next(s for s in total.selections if s.selection_id == "over")
            taken = await bets.place(player, [("wrong-1", total.market_id, "over", over.odds_e4)])
            assert taken.status == bets_pb.BET_STATUS_ACCEPTED, taken.rejection_message

            # More of the same: the honest replica is never quarantined, and is shown outvoted
            # by a suspect majority of one engine.
            for n in range(2, 6):
                await mesh.stub.GetConsensusQuote(
                    pb.GetConsensusQuoteRequest(
                        fixture=fixture(f"wrong-{n}"), snapshot_hash=SNAPSHOT
                    ),
                    timeout=20,
                )

            async def suspected() -> bool:
                sets = (await mesh.stub.ListReplicaSets(pb.ListReplicaSetsRequest())).replica_sets
                replicas = {r.replica_id: r for r in sets[0].replicas}
                return bool(replicas["football-2"].majority_suspect_total >= 5)

            await eventually(suspected)
            (football,) = (
                await mesh.stub.ListReplicaSets(pb.ListReplicaSetsRequest())
            ).replica_sets
            assert football.min_engines == 2
            assert list(football.engines) == ["dc-direct", "dc-grid"]
            replicas = {r.replica_id: r for r in football.replicas}
            assert replicas["football-2"].engine == "dc-direct"
            assert replicas["football-2"].state == pb.REPLICA_STATE_HEALTHY
            assert replicas["football-2"].dissented_total == 0
            assert replicas["football-2"].last_verdict == pb.DISSENT_VERDICT_MAJORITY_SUSPECT
            dissents = (
                await mesh.stub.ListDissents(pb.ListDissentsRequest(page_size=100))
            ).dissents
            mine = [d for d in dissents if d.vote.replica_id == "football-2"]
            assert mine and {d.verdict for d in mine} == {pb.DISSENT_VERDICT_MAJORITY_SUSPECT}
            assert list(mine[0].outvoted_by) == ["football-1", "football-3"]
            assert {d.decision for d in mine} == {"PARTIAL"}
    finally:
        await redis.aclose()


async def test_three_replicas_disagreeing_leave_a_record_with_every_vote(redis_url: str) -> None:
    mesh = await start(["skew-odds", "skew-odds:2", ""], redis_url)
    try:
        accepted = (
            await mesh.stub.GetConsensusQuote(
                pb.GetConsensusQuoteRequest(fixture=fixture("split-1"), snapshot_hash=SNAPSHOT),
                timeout=20,
            )
        ).accepted
        assert [(w.market_id, w.reason) for w in accepted.evidence.withheld] == [
            ("split-1/MATCH_RESULT", "NO_QUORUM")
        ]

        async def recorded() -> list[Any]:
            found = (await mesh.stub.ListDissents(pb.ListDissentsRequest(page_size=100))).dissents
            return [d for d in found if d.fixture_id == "split-1"]

        async def all_three() -> bool:
            return len(await recorded()) == 3

        await eventually(all_three)
        records = await recorded()
        assert sorted(d.vote.replica_id for d in records) == [
            "football-1",
            "football-2",
            "football-3",
        ]
        assert {d.verdict for d in records} == {pb.DISSENT_VERDICT_NO_MAJORITY}
        assert len({d.vote.digest for d in records}) == 3  # three different answers
        assert len({d.decision_id for d in records}) == 1
        assert {d.vote.engine for d in records} == {"dc-grid", "dc-direct"}
    finally:
        await stop(mesh)


async def test_one_engine_down_publishes_nothing_and_says_single_engine(
    redis_url: str, database_url: str
) -> None:
    mesh = await start(["", "", ""], redis_url, database_url)
    try:
        await mesh.replicas[1].stop(0)  # football-2: the only replica of the independent engine
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await mesh.stub.GetConsensusQuote(
                pb.GetConsensusQuoteRequest(fixture=fixture("down-1"), snapshot_hash=SNAPSHOT),
                timeout=20,
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        status = rpc_status.from_call(refused.value)  # type: ignore[arg-type]
        info = error_info(status)
        assert info is not None and info.reason == "SINGLE_ENGINE"
        assert status is not None
        refusal = pb.ConsensusRefusal()
        assert any(
            d.Unpack(refusal) for d in status.details if d.Is(pb.ConsensusRefusal.DESCRIPTOR)
        )
        votes = {v.replica_id: v for v in refusal.evidence.votes}
        assert votes["football-2"].outcome == pb.VOTE_OUTCOME_UNAVAILABLE
        assert votes["football-1"].digest == votes["football-3"].digest  # they agreed
        # ... and are said to have agreed, on too few engines, not to have dissented.
        assert votes["football-1"].outcome == pb.VOTE_OUTCOME_TOO_FEW_ENGINES
        assert votes["football-3"].outcome == pb.VOTE_OUTCOME_TOO_FEW_ENGINES
        assert not votes["football-1"].first_difference

        async def recorded() -> list[Any]:
            found = (await mesh.stub.ListDissents(pb.ListDissentsRequest(page_size=100))).dissents
            return [d for d in found if d.fixture_id == "down-1"]

        async def all_three() -> bool:
            return len(await recorded()) == 3

        # The dissent log, as PostgreSQL keeps it, tells the same.
        await eventually(all_three)
        records = {d.vote.replica_id: d for d in await recorded()}
        assert {d.decision for d in records.values()} == {"SINGLE_ENGINE"}
        for agreeing in ("football-1", "football-3"):
            assert records[agreeing].vote.outcome == pb.VOTE_OUTCOME_TOO_FEW_ENGINES
            assert records[agreeing].verdict == pb.DISSENT_VERDICT_UNCONFIRMED
            assert not records[agreeing].outvoted_by
        assert records["football-2"].verdict == pb.DISSENT_VERDICT_NO_ANSWER
        sets = (await mesh.stub.ListReplicaSets(pb.ListReplicaSetsRequest())).replica_sets
        assert all(r.dissented_total == 0 for r in sets[0].replicas)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await mesh.stub.GetAcceptedQuoteSet(
                pb.GetAcceptedQuoteSetRequest(fixture_id="down-1"), timeout=10
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await mesh.channel.close()
        await mesh.gateway.stop(0)
        for replica in (mesh.replicas[0], mesh.replicas[2]):
            await replica.stop(0)
