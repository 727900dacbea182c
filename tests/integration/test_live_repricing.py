"""In-play repricing end to end: real quote replicas, the consensus gateway and live servers
(in-process ServiceHosts on real ports) sharing a real Redis. What is checked is what the
rest of the mesh sees: the Redis streams (markets.status, quotes.accepted) and the gateway's
GetAcceptedQuoteSet."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.live.v1 import match_event_pb2 as me
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc

from gateway.app import build as build_gateway
from gateway.settings import GatewaySettings
from launcher.embedded import free_port
from launcher.mesh import replica_engine
from service_runtime.errors import Unimplemented
from service_runtime.events import Topic, stream_key
from service_runtime.server import Registration, ServiceHost, ServicerContext
from services.live.app import build as build_live
from services.live.settings import LiveSettings
from services.quotes.app import build as build_quotes
from services.quotes.settings import QuotesSettings
from tests.support.grpc_helpers import local_server_settings

HOME, AWAY = sport_pb2.SIDE_HOME, sport_pb2.SIDE_AWAY
ACTIVE, SUSPENDED = market_pb2.MARKET_STATUS_ACTIVE, market_pb2.MARKET_STATUS_SUSPENDED
HANDED_OVER, DEACTIVATED = (
    market_pb2.MARKET_STATUS_HANDED_OVER,
    market_pb2.MARKET_STATUS_DEACTIVATED,
)
LIVE = market_pb2.PRICING_PHASE_LIVE


@dataclass
class Replicas:
    ports: list[int]
    hosts: list[ServiceHost | None] = field(default_factory=list)

    async def start(self, index: int) -> None:
        host = build_quotes(
            QuotesSettings.from_env(
                {
                    "BETMESH_AUTH_MODE": "anonymous",
                    "BETMESH_QUOTES_SPORT": "football",
                    "BETMESH_QUOTES_REPLICA_ID": f"football-{index + 1}",
                    "BETMESH_QUOTES_ENGINE": replica_engine("football", index + 1),
                    "BETMESH_PORT": str(self.ports[index]),
                    "BETMESH_GRACE_SECONDS": "0",
                }
            )
        )
        await host.start()
        self.hosts[index] = host

    async def stop(self, index: int) -> None:
        host = self.hosts[index]
        if host is not None:
            await host.stop(0)
            self.hosts[index] = None


@dataclass
class Mesh:
    replicas: Replicas
    gateway: ServiceHost
    gateway_channel: grpc.aio.Channel
    redis: aioredis.Redis
    snapshot_hash: str

    @property
    def consensus(self) -> Any:
        return gateway_grpc.ConsensusGatewayServiceStub(self.gateway_channel)


@pytest.fixture(scope="module")
async def mesh(redis_url: str) -> AsyncIterator[Mesh]:
    replicas = Replicas([free_port() for _ in range(3)], [None, None, None])
    for i in range(3):
        await replicas.start(i)
    addresses = ",".join(f"127.0.0.1:{p}" for p in replicas.ports)
    gateway = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}",
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_DEADLINE_MS": "3000",
                # Replicas are stopped on purpose here: keep them counting when they return.
                "BETMESH_GATEWAY_QUARANTINE_AFTER": "100000",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await gateway.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{replicas.ports[0]}") as replica:
        snapshots = await quote_service_pb2_grpc.QuoteServiceStub(replica).ListModelSnapshots(
            quote_service_pb2.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL), timeout=5
        )
    client = aioredis.Redis.from_url(redis_url)
    yield Mesh(replicas, gateway, channel, client, snapshots.snapshots[0].snapshot_hash)
    await client.aclose()  # type: ignore[attr-defined]
    await channel.close()
    await gateway.stop(0)
    for i in range(3):
        await replicas.stop(i)


async def start_live(redis_url: str, gateway_address: str, cadence_seconds: float) -> ServiceHost:
    host = build_live(
        LiveSettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_GATEWAY_ADDRESS": gateway_address,
                "BETMESH_GRACE_SECONDS": "0",
                "BETMESH_LIVE_BUSY_REPRICE_SECONDS": str(cadence_seconds),
                "BETMESH_LIVE_QUIET_REPRICE_SECONDS": str(cadence_seconds),
                "BETMESH_LIVE_REPRICE_TICK_SECONDS": "0.1",
                "BETMESH_LIVE_GATEWAY_TIMEOUT_SECONDS": "5",
                # These feeds go quiet on purpose (replicas restarting): not a lost feed.
                "BETMESH_LIVE_FEED_DEADLINE_SECONDS": "600",
            }
        )
    )
    await host.start()
    return host


def fixture(fixture_id: str) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        competition_id="epl",
        competition_name="Premier League",
        home=sport_pb2.Participant(participant_id="fb:arsenal", name="Arsenal"),
        away=sport_pb2.Participant(participant_id="fb:chelsea", name="Chelsea"),
        status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
    )


async def price_pre_match(mesh: Mesh, fixture_id: str) -> None:
    await mesh.consensus.GetConsensusQuote(
        gateway_pb2.GetConsensusQuoteRequest(
            fixture=fixture(fixture_id), snapshot_hash=mesh.snapshot_hash
        ),
        timeout=10,
    )


class Feed:
    def __init__(self, fixture_id: str) -> None:
        self.fixture_id = fixture_id
        self.sequence = 0

    def event(self, kind: int, side: int = 0, elapsed: int = 0, period: int = 1) -> me.MatchEvent:
        self.sequence += 1
        event = me.MatchEvent(
            fixture_id=self.fixture_id,
            sport=sport_pb2.SPORT_FOOTBALL,
            sequence=self.sequence,
            type=kind,  # type: ignore[arg-type]
            side=side,  # type: ignore[arg-type]
            elapsed_seconds=elapsed,
            period=period,
            source="test",
        )
        if kind == me.MATCH_EVENT_TYPE_MATCH_STARTED:
            event.fixture.CopyFrom(fixture(self.fixture_id))
        return event


async def ingest(host: ServiceHost, event: me.MatchEvent) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
        stub = live_odds_service_pb2_grpc.LiveOddsServiceStub(channel)
        reply = await stub.IngestMatchEvent(pb.IngestMatchEventRequest(event=event), timeout=10)
    assert reply.outcome == pb.INGEST_OUTCOME_APPLIED


@dataclass(frozen=True)
class Seen:
    topic: Topic
    envelope: events_pb2.EventEnvelope

    @property
    def at(self) -> int:
        return self.envelope.occurred_at.ToNanoseconds()

    def describe(self) -> tuple[str, int, int]:
        if self.topic == Topic.MARKET_STATUS_CHANGED:
            change = self.envelope.market_status_changed
            return ("status", change.status, change.event_sequence)
        quote_set = self.envelope.quote_set_accepted.quote_set
        return ("accepted", quote_set.phase, quote_set.event_sequence)


async def seen(mesh: Mesh, fixture_id: str) -> list[Seen]:
    """Status changes and accepted quote sets of the fixture, in publication order."""
    found = []
    for topic in (Topic.MARKET_STATUS_CHANGED, Topic.QUOTE_SET_ACCEPTED):
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await mesh.redis.xrange(  # type: ignore[assignment]
            stream_key(topic)
        )
        for _, fields in entries:
            envelope = events_pb2.EventEnvelope.FromString(fields[b"envelope"])
            about = (
                envelope.market_status_changed.fixture_id
                if topic == Topic.MARKET_STATUS_CHANGED
                else envelope.quote_set_accepted.quote_set.fixture_id
            )
            if about == fixture_id:
                found.append(Seen(topic, envelope))
    # occurred_at is stamped by each publisher on this one machine, in nanoseconds.
    return sorted(found, key=lambda s: s.at)


async def wait_until(
    mesh: Mesh, fixture_id: str, done: Callable[[list[Seen]], bool], timeout: float = 30
) -> list[Seen]:
    deadline = time.monotonic() + timeout
    while True:
        events = await seen(mesh, fixture_id)
        if done(events):
            return events
        if time.monotonic() > deadline:
            raise AssertionError([e.describe() for e in events])
        await asyncio.sleep(0.05)


def has(kind: str, value: int, sequence: int) -> Callable[[list[Seen]], bool]:
    return lambda events: (kind, value, sequence) in [e.describe() for e in events]


def home_win(events: list[Seen], sequence: int) -> int:
    for e in events:
        if e.describe() == ("accepted", LIVE, sequence):
            result = next(
                m
                for m in e.envelope.quote_set_accepted.quote_set.markets
                if m.type == market_pb2.MARKET_TYPE_MATCH_RESULT
            )
            return next(s.probability_e9 for s in result.selections if s.selection_id == "home")
    raise AssertionError(f"no live price for sequence {sequence}")


async def test_a_goal_suspends_reprices_through_consensus_and_reopens_in_order(
    mesh: Mesh, redis_url: str
) -> None:
    live = await start_live(redis_url, f"127.0.0.1:{mesh.gateway.port}", 3600)
    try:
        fid = f"rep-{uuid.uuid4().hex[:10]}"
        feed = Feed(fid)
        await price_pre_match(mesh, fid)
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_MATCH_STARTED))
        await wait_until(mesh, fid, has("status", ACTIVE, 1))
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_YELLOW_CARD, AWAY, 600))
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_GOAL, HOME, 1200))
        events = await wait_until(mesh, fid, has("status", ACTIVE, 3))
        order = [e.describe() for e in events]
        # Kick-off hands the pre-match set over, the first live price opens the live markets;
        # the goal stops betting before its price is computed, and the price reopens them.
        assert order[:4] == [
            ("accepted", market_pb2.PRICING_PHASE_PRE_MATCH, 0),
            ("status", HANDED_OVER, 1),
            ("accepted", LIVE, 1),
            ("status", ACTIVE, 1),
        ]
        goal = [o for o in order if o[2] == 3]
        assert goal == [("status", SUSPENDED, 3), ("accepted", LIVE, 3), ("status", ACTIVE, 3)]
        # A yellow card is not dangerous: no bet stop, just a new price.
        assert [o for o in order if o[2] == 2 and o[0] == "status"] == []
        assert home_win(events, 3) > home_win(events, 1)

        latest = await mesh.consensus.GetAcceptedQuoteSet(
            gateway_pb2.GetAcceptedQuoteSetRequest(fixture_id=fid, phase=LIVE), timeout=5
        )
        assert latest.accepted.quote_set.event_sequence == 3
        assert latest.accepted.quote_set.snapshot_hash == mesh.snapshot_hash
        reopened = next(e for e in events if e.describe() == ("status", ACTIVE, 3))
        assert f"{fid}/MATCH_RESULT" in reopened.envelope.market_status_changed.market_ids
        pre_match = await mesh.consensus.GetAcceptedQuoteSet(
            gateway_pb2.GetAcceptedQuoteSetRequest(
                fixture_id=fid, phase=market_pb2.PRICING_PHASE_PRE_MATCH
            ),
            timeout=5,
        )
        assert pre_match.accepted.quote_set.event_sequence == 0

        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_MATCH_ENDED, elapsed=5580, period=2))
        ended = await wait_until(mesh, fid, has("status", DEACTIVATED, 4))
        assert ("accepted", LIVE, 4) not in [e.describe() for e in ended]
    finally:
        await live.stop(0)


async def test_a_fixture_whose_consensus_fails_stays_suspended_until_a_price_is_agreed(
    mesh: Mesh, redis_url: str
) -> None:
    live = await start_live(redis_url, f"127.0.0.1:{mesh.gateway.port}", 0.3)
    try:
        fid = f"fail-{uuid.uuid4().hex[:10]}"
        feed = Feed(fid)
        await price_pre_match(mesh, fid)
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_MATCH_STARTED))
        await wait_until(mesh, fid, has("status", ACTIVE, 1))
        # Two of three replicas gone: no quorum, no price.
        await mesh.replicas.stop(1)
        await mesh.replicas.stop(2)
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_YELLOW_CARD, AWAY, 300))
        events = await wait_until(mesh, fid, has("status", SUSPENDED, 2))
        refused = next(e for e in events if e.describe() == ("status", SUSPENDED, 2))
        assert refused.envelope.market_status_changed.reason == "NO_CONSENSUS"
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_GOAL, HOME, 400))
        await wait_until(mesh, fid, has("status", SUSPENDED, 3))
        # Retried on the cadence (0.3 s here) while the replicas are down: still suspended.
        await asyncio.sleep(1.0)
        during = [e.describe() for e in await seen(mesh, fid)]
        assert not [d for d in during if d[0] != "status" and d[2] >= 2]
        assert ("status", ACTIVE, 3) not in during
        await mesh.replicas.start(1)
        await mesh.replicas.start(2)
        events = await wait_until(mesh, fid, has("status", ACTIVE, 3), timeout=60)
        order = [e.describe() for e in events]
        assert order.index(("accepted", LIVE, 3)) < order.index(("status", ACTIVE, 3))
    finally:
        await live.stop(0)
        for i in (1, 2):
            if mesh.replicas.hosts[i] is None:
                await mesh.replicas.start(i)


class CountingGateway(gateway_grpc.ConsensusGatewayServiceServicer):
    """A real gateway server in front of the gateway that records which game states it was
    asked to price, to see which live process priced what."""

    def __init__(self, upstream: grpc.aio.Channel) -> None:
        self.upstream = gateway_grpc.ConsensusGatewayServiceStub(upstream)
        self.priced: Counter[tuple[str, int]] = Counter()

    async def GetConsensusQuote(
        self, request: gateway_pb2.GetConsensusQuoteRequest, context: ServicerContext
    ) -> gateway_pb2.GetConsensusQuoteResponse:
        self.priced[(request.fixture.fixture_id, request.game_state.event_sequence)] += 1
        response: gateway_pb2.GetConsensusQuoteResponse = await self.upstream.GetConsensusQuote(
            request, timeout=10
        )
        return response

    async def GetAcceptedQuoteSet(
        self, request: gateway_pb2.GetAcceptedQuoteSetRequest, context: ServicerContext
    ) -> gateway_pb2.GetAcceptedQuoteSetResponse:
        response: gateway_pb2.GetAcceptedQuoteSetResponse = await self.upstream.GetAcceptedQuoteSet(
            request, timeout=10
        )
        return response

    async def ListReplicaSets(self, request: Any, context: ServicerContext) -> Any:
        raise Unimplemented("NOT_IMPLEMENTED", "not proxied")

    async def ListDissents(self, request: Any, context: ServicerContext) -> Any:
        raise Unimplemented("NOT_IMPLEMENTED", "not proxied")

    async def RunPreMatchPricing(self, request: Any, context: ServicerContext) -> Any:
        raise Unimplemented("NOT_IMPLEMENTED", "not proxied")

    # The integrity guard's and the canary's operator RPCs are not proxied either.
    ListPriceHolds = ReleasePriceHold = RejectPriceHold = RunPreMatchPricing
    ListSnapshotReviews = ForceSnapshot = RunPreMatchPricing
    QuarantineReplica = ReadmitReplica = RunPreMatchPricing


async def test_two_live_processes_never_reprice_the_same_event_twice(
    mesh: Mesh, redis_url: str
) -> None:
    counting = CountingGateway(mesh.gateway_channel)
    proxy = ServiceHost(
        service="test.gateway-proxy",
        settings=local_server_settings(),
        registrations=[
            Registration(
                gateway_pb2.DESCRIPTOR.services_by_name["ConsensusGatewayService"].full_name,
                lambda s: gateway_grpc.add_ConsensusGatewayServiceServicer_to_server(counting, s),
            )
        ],
    )
    await proxy.start()
    address = f"127.0.0.1:{proxy.port}"
    lives = [await start_live(redis_url, address, 3600) for _ in range(2)]
    try:
        fid = f"two-{uuid.uuid4().hex[:10]}"
        feed = Feed(fid)
        await price_pre_match(mesh, fid)
        events = [feed.event(me.MATCH_EVENT_TYPE_MATCH_STARTED)]
        for minute in range(1, 13):
            kind = me.MATCH_EVENT_TYPE_GOAL if minute % 3 == 0 else me.MATCH_EVENT_TYPE_CLOCK
            side = (HOME if minute % 2 else AWAY) if kind == me.MATCH_EVENT_TYPE_GOAL else 0
            events.append(feed.event(kind, side, minute * 60))
        # Each event to one of the two processes, as a load balancer would spread them.
        for i, event in enumerate(events):
            await ingest(lives[i % 2], event)
        last = feed.sequence
        seen_events = await wait_until(mesh, fid, has("status", ACTIVE, last))
        priced = {seq: n for (f, seq), n in counting.priced.items() if f == fid}
        assert priced, "nothing was priced"
        assert max(priced.values()) == 1, priced
        assert last in priced
        # Every goal's bet stop went out, whichever process took the event.
        goals = [e.sequence for e in events if e.type == me.MATCH_EVENT_TYPE_GOAL]
        stops = {e.describe()[2] for e in seen_events if e.describe()[:2] == ("status", SUSPENDED)}
        assert set(goals) <= stops
    finally:
        for live in lives:
            await live.stop(0)
        await proxy.stop(0)
