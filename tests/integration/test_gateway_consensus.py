"""The consensus gateway against real quote replica servers (grpc.aio on port 0)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc

from gateway.app import build as build_gateway
from gateway.settings import GatewaySettings
from launcher.mesh import replica_engine
from service_runtime.digest import digest_bytes
from service_runtime.server import ServiceHost
from services.quotes.app import build as build_quotes
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.settings import QuotesSettings
from tests.support.demo_snapshots import demo_football_snapshot, demo_startup_env
from tests.support.grpc_helpers import rpc_error
from tests.support.tcp_faults import FaultProxy

SNAPSHOT = snapshot_hash(demo_football_snapshot())
ONE_X_TWO = [market_pb2.MARKET_TYPE_MATCH_RESULT]


def fixture(
    home: str = "fb:arsenal", away: str = "fb:chelsea", sport: int = sport_pb2.SPORT_FOOTBALL
) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id="epl-ars-che",
        sport=sport,  # type: ignore[arg-type]
        home=sport_pb2.Participant(participant_id=home, name="Arsenal"),
        away=sport_pb2.Participant(participant_id=away, name="Chelsea"),
    )


async def start_replica(sport: str, replica_id: str, fault: str = "") -> ServiceHost:
    host = build_quotes(
        QuotesSettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_QUOTES_SPORT": sport,
                # The hand-set snapshots only: this test pins their hashes.
                **demo_startup_env(),
                "BETMESH_QUOTES_REPLICA_ID": replica_id,
                "BETMESH_QUOTES_FAULT": fault,
                # football-1, -3: the reference engine; football-2: the independent one.
                "BETMESH_QUOTES_ENGINE": replica_engine(sport, int(replica_id.rsplit("-", 1)[1])),
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await host.start()
    return host


class Mesh:
    def __init__(
        self, replicas: list[ServiceHost], gateway: ServiceHost, channel: grpc.aio.Channel
    ) -> None:
        self.replicas = replicas
        self.gateway = gateway
        self.channel = channel
        self.stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)


async def mesh(
    faults: list[str], redis_url: str = "", extra: str = "", env: dict[str, str] | None = None
) -> Mesh:
    replicas = [
        await start_replica("football", f"football-{i}", f) for i, f in enumerate(faults, 1)
    ]
    addresses = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    gateway = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}{extra}",
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_GRACE_SECONDS": "0",
                **(env or {}),
            }
        )
    )
    await gateway.start()
    return Mesh(replicas, gateway, grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}"))


@pytest.fixture
async def healthy(redis_url: str) -> AsyncIterator[Mesh]:
    m = await mesh(["", "", ""], redis_url)
    yield m
    await m.channel.close()
    await m.gateway.stop(0)
    for r in m.replicas:
        await r.stop(0)


async def test_three_honest_replicas_give_an_accepted_price_with_evidence(healthy: Mesh) -> None:
    response = await healthy.stub.GetConsensusQuote(
        pb.GetConsensusQuoteRequest(
            fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
        ),
        timeout=10,
    )
    accepted = response.accepted
    assert accepted.digest == digest_bytes(accepted.canonical_quote_set)
    assert market_pb2.QuoteSet.FromString(accepted.canonical_quote_set) == accepted.quote_set
    agreed = [v for v in accepted.evidence.votes if v.outcome == pb.VOTE_OUTCOME_AGREED]
    assert len(agreed) >= 2 and all(v.digest == accepted.digest for v in agreed)
    assert accepted.evidence.quorum == 2 and accepted.evidence.replica_count == 3
    (market,) = accepted.quote_set.markets
    assert market.type == market_pb2.MARKET_TYPE_MATCH_RESULT
    latest = await healthy.stub.GetAcceptedQuoteSet(
        pb.GetAcceptedQuoteSetRequest(fixture_id="epl-ars-che"), timeout=10
    )
    assert latest.accepted.digest == accepted.digest


async def test_accepted_quote_set_is_announced_on_the_event_bus(
    healthy: Mesh, redis_url: str
) -> None:
    import redis.asyncio as aioredis
    from betmesh.events.v1 import events_pb2

    from service_runtime.events import Topic, stream_key

    client = aioredis.Redis.from_url(redis_url)
    before = await client.xlen(stream_key(Topic.QUOTE_SET_ACCEPTED))
    response = await healthy.stub.GetConsensusQuote(
        pb.GetConsensusQuoteRequest(
            fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
        ),
        timeout=10,
    )
    entries: Any = await client.xrange(stream_key(Topic.QUOTE_SET_ACCEPTED), count=before + 10)
    await client.aclose()
    assert len(entries) == before + 1
    envelope = events_pb2.EventEnvelope.FromString(entries[-1][1][b"envelope"])
    assert envelope.quote_set_accepted.digest == response.accepted.digest
    assert b"traceparent" in entries[-1][1]


async def test_caller_mistakes_are_relayed_with_their_reason(healthy: Mesh) -> None:
    code, info, _ = await rpc_error(
        lambda: healthy.stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(fixture=fixture(away="fb:unknown"), snapshot_hash=SNAPSHOT),
            timeout=10,
        )
    )
    assert (
        code == grpc.StatusCode.INVALID_ARGUMENT
        and info is not None
        and info.reason == "UNKNOWN_PARTICIPANT"
    )
    code, info, _ = await rpc_error(
        lambda: healthy.stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(fixture=fixture(), snapshot_hash=""), timeout=10
        )
    )
    assert (
        code == grpc.StatusCode.INVALID_ARGUMENT
        and info is not None
        and info.reason == "SNAPSHOT_REQUIRED"
    )
    code, info, _ = await rpc_error(
        lambda: healthy.stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(
                fixture=fixture(sport=sport_pb2.SPORT_TENNIS), snapshot_hash=SNAPSHOT
            ),
            timeout=10,
        )
    )
    assert (
        code == grpc.StatusCode.FAILED_PRECONDITION
        and info is not None
        and info.reason == "SPORT_NOT_CONFIGURED"
    )


async def test_one_replica_down_still_prices() -> None:
    m = await mesh(["", "", ""])
    await m.replicas[0].stop(0)
    try:
        response = await m.stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(
                fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
            ),
            timeout=10,
        )
        assert response.accepted.digest
    finally:
        await m.channel.close()
        await m.gateway.stop(0)
        for r in m.replicas[1:]:
            await r.stop(0)


async def test_wrong_replica_is_outvoted_and_the_dissent_recorded() -> None:
    m = await mesh(["skew-odds", "", ""])
    try:
        response = await m.stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(
                fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
            ),
            timeout=10,
        )
        home = next(
            s for s in response.accepted.quote_set.markets[0].selections if s.selection_id == "home"
        )
        # The skewed replica adds 100 to the first offered price (home); the accepted one did not.
        dissents: pb.ListDissentsResponse | None = None
        for _ in range(200):
            dissents = await m.stub.ListDissents(pb.ListDissentsRequest(), timeout=10)
            if dissents.dissents:
                break
            await asyncio.sleep(0.05)
        assert dissents is not None and dissents.dissents
        dissent = dissents.dissents[0]
        assert dissent.vote.replica_id == "football-1"
        assert dissent.majority_digest == response.accepted.digest
        assert dissent.vote.first_difference == (
            f"epl-ars-che/MATCH_RESULT/home odds_e4 {home.odds_e4 + 100} != {home.odds_e4}"
        )
    finally:
        await m.channel.close()
        await m.gateway.stop(0)
        for r in m.replicas:
            await r.stop(0)


async def test_hedged_fan_out_asks_two_and_still_outvotes_a_wrong_replica() -> None:
    m = await mesh(["skew-odds", "", ""], env={"BETMESH_GATEWAY_HEDGE_MS": "1000"})
    try:
        request = pb.GetConsensusQuoteRequest(
            fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
        )
        answers = [await m.stub.GetConsensusQuote(request, timeout=10) for _ in range(3)]
        honest = quote_service_pb2_grpc.QuoteServiceStub(
            grpc.aio.insecure_channel(f"127.0.0.1:{m.replicas[1].port}")
        )
        direct = await honest.PriceFixture(
            quote_service_pb2.PriceFixtureRequest(
                fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
            ),
            timeout=10,
        )
        # Whichever pair was asked first, the published price is the honest one.
        assert {a.accepted.digest for a in answers} == {direct.digest}
        not_asked = [
            [
                v.replica_id
                for v in a.accepted.evidence.votes
                if v.outcome == pb.VOTE_OUTCOME_NOT_AWAITED
            ]
            for a in answers
        ]
        # The pair of honest replicas agreed alone once; the skewed one, asked in the two other
        # turns, dissented and brought in the third replica.
        assert sorted(len(n) for n in not_asked) == [0, 0, 1]
        assert ["football-1"] in not_asked
        dissents: pb.ListDissentsResponse | None = None
        for _ in range(200):
            dissents = await m.stub.ListDissents(pb.ListDissentsRequest(), timeout=10)
            if len(dissents.dissents) >= 2:
                break
            await asyncio.sleep(0.05)
        assert dissents is not None
        assert [d.vote.replica_id for d in dissents.dissents] == ["football-1", "football-1"]
    finally:
        await m.channel.close()
        await m.gateway.stop(0)
        for r in m.replicas:
            await r.stop(0)


async def test_two_of_three_wrong_or_down_publishes_nothing() -> None:
    m = await mesh(["skew-odds", "", ""])
    await m.replicas[1].stop(0)
    try:
        code, info, status = await rpc_error(
            lambda: m.stub.GetConsensusQuote(
                pb.GetConsensusQuoteRequest(
                    fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
                ),
                timeout=10,
            )
        )
        # The replica stopped is the only one of the independent engine: the two left run one
        # engine, which can never publish (and disagree besides). The refusal says why.
        assert code == grpc.StatusCode.UNAVAILABLE
        assert info is not None and info.reason == "SINGLE_ENGINE"
        assert status is not None
        refusal = pb.ConsensusRefusal()
        assert any(
            d.Unpack(refusal) for d in status.details if d.Is(pb.ConsensusRefusal.DESCRIPTOR)
        )
        outcomes = {v.replica_id: v.outcome for v in refusal.evidence.votes}
        assert outcomes["football-2"] == pb.VOTE_OUTCOME_UNAVAILABLE
        assert outcomes["football-1"] == pb.VOTE_OUTCOME_DISSENTED
        assert outcomes["football-3"] == pb.VOTE_OUTCOME_DISSENTED
        code, _, _ = await rpc_error(
            lambda: m.stub.GetAcceptedQuoteSet(
                pb.GetAcceptedQuoteSetRequest(fixture_id="epl-ars-che"), timeout=10
            )
        )
        assert code == grpc.StatusCode.NOT_FOUND
    finally:
        await m.channel.close()
        await m.gateway.stop(0)
        for r in (m.replicas[0], m.replicas[2]):
            await r.stop(0)


async def test_a_repeatedly_dissenting_replica_is_quarantined_and_still_probed() -> None:
    m = await mesh(["skew-odds", "", ""], extra="")
    try:
        for n in range(6):
            request = pb.GetConsensusQuoteRequest(
                fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
            )
            request.fixture.fixture_id = f"q-{n}"
            await m.stub.GetConsensusQuote(request, timeout=10)
            state = pb.REPLICA_STATE_UNSPECIFIED
            for _ in range(100):  # health is updated once every replica has answered
                sets = await m.stub.ListReplicaSets(pb.ListReplicaSetsRequest(), timeout=10)
                replica = next(
                    r for r in sets.replica_sets[0].replicas if r.replica_id == "football-1"
                )
                if replica.dissented_total >= min(n + 1, 3):
                    state = replica.state
                    break
                await asyncio.sleep(0.02)
        assert state == pb.REPLICA_STATE_QUARANTINED  # default threshold: 3 in a row
        request = pb.GetConsensusQuoteRequest(
            fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
        )
        request.fixture.fixture_id = "q-after"
        evidence = (await m.stub.GetConsensusQuote(request, timeout=10)).accepted.evidence
        outcomes = {v.replica_id: v.outcome for v in evidence.votes}
        assert outcomes["football-1"] == pb.VOTE_OUTCOME_QUARANTINED
        assert outcomes["football-2"] == outcomes["football-3"] == pb.VOTE_OUTCOME_AGREED
    finally:
        await m.channel.close()
        await m.gateway.stop(0)
        for r in m.replicas:
            await r.stop(0)


async def test_a_sport_at_its_in_flight_limit_sheds_instead_of_queueing() -> None:
    # Every replica takes 4 s; the sport admits one consensus call at a time.
    slow = "delay-ms:4000"
    m = await mesh([slow, slow, slow], env={"BETMESH_GATEWAY_MAX_IN_FLIGHT": "1"})
    request = pb.GetConsensusQuoteRequest(
        fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
    )
    try:
        first = asyncio.ensure_future(m.stub.GetConsensusQuote(request, timeout=30))
        await asyncio.sleep(1.0)  # the first call holds the sport's only slot
        code, info, status = await rpc_error(lambda: m.stub.GetConsensusQuote(request, timeout=30))
        # Answered while the first call still runs: refused, not queued behind it.
        assert not first.done()
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert info is not None and info.reason == "OVERLOADED"
        assert status is not None and any(
            d.type_url.endswith("google.rpc.RetryInfo") for d in status.details
        )
        assert (await first).accepted.digest
    finally:
        await m.channel.close()
        await m.gateway.stop(0)
        for r in m.replicas:
            await r.stop(0)


async def wait_for_replica(m: Mesh, replica_id: str, done: Any) -> pb.ReplicaStatus:
    """The replica's status once `done(status)` holds: health is recorded once every replica
    answered or timed out, after the call itself returned."""
    for _ in range(300):
        sets = await m.stub.ListReplicaSets(pb.ListReplicaSetsRequest(), timeout=10)
        replica: pb.ReplicaStatus = next(
            r for r in sets.replica_sets[0].replicas if r.replica_id == replica_id
        )
        if done(replica):
            return replica
        await asyncio.sleep(0.05)
    raise AssertionError(f"{replica_id} never reached the state waited for")


async def torn_down(m: Mesh) -> None:
    await m.channel.close()
    await m.gateway.stop(0)
    for replica in m.replicas:
        await replica.stop(0)


def priced(fixture_id: str) -> pb.GetConsensusQuoteRequest:
    request = pb.GetConsensusQuoteRequest(
        fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
    )
    request.fixture.fixture_id = fixture_id
    return request


async def test_a_replica_that_keeps_timing_out_is_not_quarantined() -> None:
    # football-3 answers after the 1 s deadline every time: unavailable, never wrong.
    m = await mesh(["", "", "delay-ms:3000"], env={"BETMESH_GATEWAY_DEADLINE_MS": "1000"})
    try:
        for n in range(5):  # above the default threshold of 3
            assert (await m.stub.GetConsensusQuote(priced(f"slow-{n}"), timeout=10)).accepted
        slow = await wait_for_replica(m, "football-3", lambda r: r.timed_out_total >= 5)
        # Resting (asked once per cool-down: unavailable), never quarantined (wrong).
        assert slow.state == pb.REPLICA_STATE_UNREACHABLE and slow.dissented_total == 0
        dissents = await m.stub.ListDissents(pb.ListDissentsRequest(), timeout=10)
        assert dissents.dissents == []  # accepted calls record only wrong answers
    finally:
        await torn_down(m)


async def test_a_lone_answer_is_recorded_as_too_few_answers_not_as_a_dissent() -> None:
    # Two of three replicas miss the deadline: one answer, no quorum, nobody disagreed.
    slow = "delay-ms:3000"
    m = await mesh(["", slow, slow], env={"BETMESH_GATEWAY_DEADLINE_MS": "1000"})
    try:
        code, info, status = await rpc_error(
            lambda: m.stub.GetConsensusQuote(priced("lone"), timeout=10)
        )
        assert code == grpc.StatusCode.ABORTED and info is not None
        assert info.reason == "NO_QUORUM" and status is not None
        (detail,) = [d for d in status.details if d.Is(pb.ConsensusRefusal.DESCRIPTOR)]
        refusal = pb.ConsensusRefusal()
        detail.Unpack(refusal)
        assert {v.replica_id: v.outcome for v in refusal.evidence.votes} == {
            "football-1": pb.VOTE_OUTCOME_TOO_FEW_ANSWERS,
            "football-2": pb.VOTE_OUTCOME_TIMED_OUT,
            "football-3": pb.VOTE_OUTCOME_TIMED_OUT,
        }
        records = await m.stub.ListDissents(pb.ListDissentsRequest(), timeout=10)
        lone = next(d for d in records.dissents if d.vote.replica_id == "football-1")
        assert lone.decision == "NO_QUORUM" and lone.vote.outcome == pb.VOTE_OUTCOME_TOO_FEW_ANSWERS
        assert lone.verdict == pb.DISSENT_VERDICT_NO_MAJORITY and not lone.vote.first_difference
        assert not any(d.vote.outcome == pb.VOTE_OUTCOME_DISSENTED for d in records.dissents)
        answered = await wait_for_replica(m, "football-1", lambda r: r.last_verdict)
        assert answered.state == pb.REPLICA_STATE_HEALTHY and answered.dissented_total == 0
    finally:
        await torn_down(m)


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts a connection and answers bytes that are not HTTP/2."""
    writer.write(b"\x17\x03\x03garbage, not a gRPC server" * 64)
    await writer.drain()
    with contextlib.suppress(Exception):
        await reader.read()
    writer.close()


@pytest.mark.parametrize("fault", ["blackhole", "garbage"])
async def test_a_replica_that_is_no_grpc_server_is_shown_unreachable(fault: str) -> None:
    """football-3's address accepts connections and then says nothing (a blackholed link, a
    frozen proxy), or answers bytes that are not gRPC. The two others keep every price coming;
    the operator sees the third UNREACHABLE with its count, not HEALTHY with every total at
    zero; once a gRPC server answers at its address again, it is HEALTHY."""
    replicas = [await start_replica("football", f"football-{i}") for i in (1, 2, 3)]
    proxy = FaultProxy("127.0.0.1", replicas[2].port)
    await proxy.start()
    garbage = await asyncio.start_server(_garbage, "127.0.0.1", 0)
    if fault == "blackhole":
        proxy.blackhole()
    else:
        # The proxy in front of a server that answers garbage until the test heals it.
        proxy.upstream = ("127.0.0.1", garbage.sockets[0].getsockname()[1])
    addresses = [f"127.0.0.1:{r.port}" for r in replicas[:2]] + [f"127.0.0.1:{proxy.port}"]
    gateway = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": "football=" + ",".join(addresses),
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await gateway.start()
    m = Mesh(replicas, gateway, grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}"))
    try:
        for n in range(4):
            assert (await m.stub.GetConsensusQuote(priced(f"nogrpc-{n}"), timeout=10)).accepted
        dead = await wait_for_replica(m, "football-3", lambda r: r.unavailable_total >= 3)
        assert dead.state == pb.REPLICA_STATE_UNREACHABLE
        assert dead.dissented_total == 0 and dead.agreed_total == 0
        proxy.upstream = ("127.0.0.1", replicas[2].port)
        proxy.cut()  # every connection through it dropped; new ones reach the replica
        proxy.heal()
        for n in range(20):
            await m.stub.GetConsensusQuote(priced(f"back-{n}"), timeout=10)
            back = await wait_for_replica(m, "football-3", lambda r: True)
            if back.state == pb.REPLICA_STATE_HEALTHY:
                break
            await asyncio.sleep(0.5)  # the channel's reconnection back-off
        assert back.state == pb.REPLICA_STATE_HEALTHY and back.agreed_total >= 1
    finally:
        await torn_down(m)
        await proxy.stop()
        garbage.close()


async def test_a_replica_answering_bytes_that_do_not_decode_is_outvoted_not_a_gateway_fault() -> (
    None
):
    """football-3 is a gRPC server whose PriceFixture answers are not a PriceFixtureResponse.
    The two others agree and every price is published; its votes are MALFORMED, counted
    against it as wrong answers until it is quarantined (before, grpc handed the gateway None
    for the undecodable answer and every consensus call failed INTERNAL)."""

    async def garbage(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return b"\xff\xff\xff\xff not a PriceFixtureResponse"

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "betmesh.quotes.v1.QuoteService",
                {
                    "PriceFixture": grpc.unary_unary_rpc_method_handler(
                        garbage, request_deserializer=None, response_serializer=None
                    )
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    replicas = [await start_replica("football", f"football-{i}") for i in (1, 2)]
    addresses = [f"127.0.0.1:{r.port}" for r in replicas] + [f"127.0.0.1:{port}"]
    gateway = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": "football=" + ",".join(addresses),
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await gateway.start()
    m = Mesh(replicas, gateway, grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}"))
    try:
        outcomes = set()
        for n in range(5):
            accepted = (await m.stub.GetConsensusQuote(priced(f"garbled-{n}"), timeout=10)).accepted
            assert accepted.digest
            votes = {v.replica_id: v.outcome for v in accepted.evidence.votes}
            assert votes["football-1"] == votes["football-2"] == pb.VOTE_OUTCOME_AGREED
            outcomes.add(votes["football-3"])
        assert pb.VOTE_OUTCOME_MALFORMED in outcomes
        garbled = await wait_for_replica(
            m, "football-3", lambda r: r.state == pb.REPLICA_STATE_QUARANTINED
        )
        assert garbled.dissented_total >= 3
    finally:
        await torn_down(m)
        await server.stop(0)


def refusal_votes(status: Any) -> dict[str, int]:
    """Each replica's outcome in a refusal's ConsensusRefusal detail."""
    (detail,) = [d for d in status.details if d.Is(pb.ConsensusRefusal.DESCRIPTOR)]
    refusal = pb.ConsensusRefusal()
    detail.Unpack(refusal)
    return {v.replica_id: v.outcome for v in refusal.evidence.votes}


async def test_a_replica_that_never_answers_rests_instead_of_being_awaited_on_every_call() -> None:
    # football-2, the only replica of the second engine, behind a proxy that answers nothing
    # (a frozen process, a partition): no price can be published without it, and each call
    # waited out its deadline to learn so.
    replicas = [await start_replica("football", f"football-{i}") for i in (1, 2, 3)]
    proxy = FaultProxy("127.0.0.1", replicas[1].port)
    await proxy.start()
    ports = [replicas[0].port, proxy.port, replicas[2].port]
    gateway = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": "football="
                + ",".join(
                    f"127.0.0.1:{p}@{replica_engine('football', i)}" for i, p in enumerate(ports, 1)
                ),
                "BETMESH_GATEWAY_DEADLINE_MS": "1000",
                "BETMESH_GATEWAY_REST_AFTER_TIMEOUTS": "3",
                "BETMESH_GATEWAY_REST_SECONDS": "2",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await gateway.start()
    m = Mesh(replicas, gateway, grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}"))

    async def refused(fixture_id: str) -> dict[str, int]:
        code, info, status = await rpc_error(
            lambda: m.stub.GetConsensusQuote(priced(fixture_id), timeout=10)
        )
        assert code == grpc.StatusCode.UNAVAILABLE and info is not None
        assert info.reason == "SINGLE_ENGINE"
        return refusal_votes(status)

    try:
        assert (await m.stub.GetConsensusQuote(priced("before"), timeout=10)).accepted
        proxy.blackhole()
        for n in range(1, 4):
            assert (await refused(f"frozen-{n}"))["football-2"] == pb.VOTE_OUTCOME_TIMED_OUT
            await wait_for_replica(m, "football-2", lambda r: r.timed_out_total >= n)  # noqa: B023
        # Three timeouts in a row: it rests. The next calls do not ask it (so do not wait for
        # it) and are refused as before: without a second engine, no price.
        for n in range(2):
            votes = await refused(f"resting-{n}")
            assert votes["football-2"] == pb.VOTE_OUTCOME_RESTING
            assert votes["football-1"] == votes["football-3"] == pb.VOTE_OUTCOME_TOO_FEW_ENGINES
        sets = await m.stub.ListReplicaSets(pb.ListReplicaSetsRequest(), timeout=10)
        resting = {r.replica_id: r for r in sets.replica_sets[0].replicas}["football-2"]
        assert resting.state == pb.REPLICA_STATE_UNREACHABLE
        assert resting.timed_out_total == 3 and resting.dissented_total == 0
        records = await m.stub.ListDissents(pb.ListDissentsRequest(page_size=100), timeout=10)
        assert any(
            d.fixture_id == "resting-0" and d.vote.outcome == pb.VOTE_OUTCOME_RESTING
            for d in records.dissents
        )
        # Back, and its cool-down over: the next call asks it again, and prices.
        proxy.heal()
        await asyncio.sleep(2.5)
        evidence = (await m.stub.GetConsensusQuote(priced("back"), timeout=10)).accepted.evidence
        # Needed for the second engine, so awaited: it agreed.
        assert {v.replica_id: v.outcome for v in evidence.votes}["football-2"] == (
            pb.VOTE_OUTCOME_AGREED
        )
        back = await wait_for_replica(m, "football-2", lambda r: r.agreed_total >= 2)
        assert back.state == pb.REPLICA_STATE_HEALTHY
        assert back.timed_out_total == 3 and back.dissented_total == 0
    finally:
        await torn_down(m)
        await proxy.stop()
