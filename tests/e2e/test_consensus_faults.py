"""Consensus under faults, against real replica processes started by the launcher: a wrong
replica is outvoted and recorded, a killed replica costs nothing while a quorum remains, and
with two of three gone nothing is published; a replica slower than the deadline is not waited
for; a sport whose replicas all hang is refused at its deadline while another keeps pricing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc

from launcher.mesh import Mesh, MeshConfig
from service_runtime.errors import error_info, status_from_metadata

from .auth import Operator

pytestmark = pytest.mark.e2e

DEADLINE_MS = 1500
SLOW = {"BETMESH_QUOTES_FAULT": f"delay-ms:{DEADLINE_MS * 3}"}


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[Mesh]:
    running = Mesh(
        MeshConfig(
            state_dir=Path(tmp_path_factory.mktemp("faults")),
            database_url=database_url,
            redis_url=redis_url,
            chain_rpc_urls=("http://127.0.0.1:9",),
            replicas={"football": 3, "tennis": 3, "basketball": 3},
            only=frozenset({"quotes", "gateway"}),
            log_stream=None,
            instance_env={
                "quotes-football-1": {"BETMESH_QUOTES_FAULT": "skew-odds"},
                # Slower than the gateway's deadline: one tennis replica, every basketball one.
                "quotes-tennis-1": SLOW,
                **{f"quotes-basketball-{i}": SLOW for i in (1, 2, 3)},
            },
            extra_env={
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_DEADLINE_MS": str(DEADLINE_MS),
            },
        )
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def operator(mesh: Mesh) -> Operator:
    # Tokens are on: the launcher runs identity with the replicas and the gateway.
    identity = mesh.address_of("identity")
    assert identity is not None
    return Operator(identity, mesh.demo_client_id, mesh.demo_secret)


PARTICIPANTS = {
    sport_pb2.SPORT_FOOTBALL: ("fb:liverpool", "fb:man-city"),
    sport_pb2.SPORT_TENNIS: ("tn:jannik-sinner", "tn:carlos-alcaraz"),  # the shipped fit's ids
    sport_pb2.SPORT_BASKETBALL: ("bb:celtics", "bb:thunder"),
}
NAMES = {
    sport_pb2.SPORT_FOOTBALL: "football",
    sport_pb2.SPORT_TENNIS: "tennis",
    sport_pb2.SPORT_BASKETBALL: "basketball",
}


def fixture(
    fixture_id: str, sport: sport_pb2.Sport.ValueType = sport_pb2.SPORT_FOOTBALL
) -> sport_pb2.Fixture:
    home, away = PARTICIPANTS[sport]
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport,
        best_of_sets=3 if sport == sport_pb2.SPORT_TENNIS else 0,
        home=sport_pb2.Participant(participant_id=home, name=home),
        away=sport_pb2.Participant(participant_id=away, name=away),
    )


def snapshot(
    mesh: Mesh, operator: Operator, sport: sport_pb2.Sport.ValueType = sport_pb2.SPORT_FOOTBALL
) -> str:
    # The last replica of each sport answers at once (the slow ones are the first ones).
    with operator.channel(mesh.replica_addresses(NAMES[sport])[-1]) as channel:
        listed = quote_service_pb2_grpc.QuoteServiceStub(channel).ListModelSnapshots(
            quote_service_pb2.ListModelSnapshotsRequest(sport=sport),
            timeout=10,  # type: ignore[arg-type]
        )
    return str(listed.snapshots[0].snapshot_hash)


def gateway(
    mesh: Mesh, operator: Operator
) -> tuple[grpc.Channel, consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub]:
    address = mesh.address_of("gateway")
    assert address is not None
    channel = operator.channel(address)
    return channel, consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)


def kill(mesh: Mesh, name: str) -> None:
    child = next(c for c in mesh.children if c.name == name)
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while child.exited is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.exited is not None


def test_faults_never_become_a_published_price(mesh: Mesh, operator: Operator) -> None:
    snapshot_hash = snapshot(mesh, operator)
    channel, stub = gateway(mesh, operator)
    with channel:
        # 1. The skewed replica is outvoted; the published price is the honest one.
        accepted = stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(fixture=fixture("fault-1"), snapshot_hash=snapshot_hash),
            timeout=20,
        ).accepted
        with operator.channel(mesh.replica_addresses("football")[1]) as honest_channel:
            honest = quote_service_pb2_grpc.QuoteServiceStub(honest_channel).PriceFixture(
                quote_service_pb2.PriceFixtureRequest(
                    fixture=fixture("fault-1"), snapshot_hash=snapshot_hash
                ),
                timeout=10,
            )
        assert accepted.canonical_quote_set == honest.quote_set
        deadline = time.monotonic() + 15
        dissents: list[pb.Dissent] = []
        while not dissents and time.monotonic() < deadline:
            dissents = list(stub.ListDissents(pb.ListDissentsRequest(), timeout=10).dissents)
            time.sleep(0.05)
        assert [d.vote.replica_id for d in dissents] == ["football-1"]
        assert dissents[0].majority_digest == accepted.digest
        assert "odds_e4" in dissents[0].vote.first_difference

        # 2. The wrong replica killed: two honest replicas still make a quorum.
        kill(mesh, "quotes-football-1")
        again = stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(fixture=fixture("fault-2"), snapshot_hash=snapshot_hash),
            timeout=20,
        ).accepted
        outcomes = {v.replica_id: v.outcome for v in again.evidence.votes}
        assert outcomes["football-1"] in (pb.VOTE_OUTCOME_UNAVAILABLE, pb.VOTE_OUTCOME_NOT_AWAITED)

        # 3. Two of three gone: a clear refusal, and nothing published.
        kill(mesh, "quotes-football-2")
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetConsensusQuote(
                pb.GetConsensusQuoteRequest(
                    fixture=fixture("fault-3"), snapshot_hash=snapshot_hash
                ),
                timeout=20,
            )
        error = refused.value
        assert error.code() == grpc.StatusCode.ABORTED  # type: ignore[attr-defined]
        info = error_info(status_from_metadata(error.trailing_metadata()))  # type: ignore[attr-defined]
        assert info is not None and info.reason == "NO_QUORUM"
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetAcceptedQuoteSet(
                pb.GetAcceptedQuoteSetRequest(fixture_id="fault-3"), timeout=10
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_a_replica_slower_than_the_deadline_is_not_waited_for(
    mesh: Mesh, operator: Operator
) -> None:
    channel, stub = gateway(mesh, operator)
    with channel:
        accepted = stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(
                fixture=fixture("slow-1", sport_pb2.SPORT_TENNIS),
                snapshot_hash=snapshot(mesh, operator, sport_pb2.SPORT_TENNIS),
            ),
            timeout=20,
        ).accepted
        outcomes = {v.replica_id: v.outcome for v in accepted.evidence.votes}
        assert outcomes["tennis-1"] == pb.VOTE_OUTCOME_NOT_AWAITED
        assert outcomes["tennis-2"] == outcomes["tennis-3"] == pb.VOTE_OUTCOME_AGREED
        # Once it times out in the background, its replica health shows it.
        deadline = time.monotonic() + 20
        timed_out = 0
        while not timed_out and time.monotonic() < deadline:
            sets = stub.ListReplicaSets(pb.ListReplicaSetsRequest(), timeout=10).replica_sets
            tennis = next(s for s in sets if s.sport == sport_pb2.SPORT_TENNIS)
            timed_out = next(
                r for r in tennis.replicas if r.replica_id == "tennis-1"
            ).timed_out_total
            time.sleep(0.1)
        assert timed_out >= 1
        # The launcher's default set runs two engines (2 + 1), and the operator sees which.
        sets = stub.ListReplicaSets(pb.ListReplicaSetsRequest(), timeout=10).replica_sets
        for replica_set in sets:
            assert replica_set.min_engines == 2 and len(replica_set.engines) == 2
            assert {r.engine for r in replica_set.replicas} == set(replica_set.engines)
        tennis = next(s for s in sets if s.sport == sport_pb2.SPORT_TENNIS)
        assert {r.replica_id: r.engine for r in tennis.replicas} == {
            "tennis-1": "markov-dp",
            "tennis-2": "closed-form",
            "tennis-3": "markov-dp",
        }


def test_a_hanging_sport_is_refused_at_its_deadline_while_another_keeps_pricing(
    mesh: Mesh, operator: Operator
) -> None:
    channel, stub = gateway(mesh, operator)
    with channel:
        stuck = stub.GetConsensusQuote.future(
            pb.GetConsensusQuoteRequest(
                fixture=fixture("hang-1", sport_pb2.SPORT_BASKETBALL),
                snapshot_hash=snapshot(mesh, operator, sport_pb2.SPORT_BASKETBALL),
            ),
            timeout=30,
        )
        # Tennis answers while basketball is still waiting on its replicas (football's were
        # killed by the test before).
        priced = stub.GetConsensusQuote(
            pb.GetConsensusQuoteRequest(
                fixture=fixture("iso-1", sport_pb2.SPORT_TENNIS),
                snapshot_hash=snapshot(mesh, operator, sport_pb2.SPORT_TENNIS),
            ),
            timeout=20,
        )
        assert priced.accepted.digest
        assert not stuck.done()
        with pytest.raises(grpc.RpcError) as refused:
            stuck.result()
        assert refused.value.code() == grpc.StatusCode.ABORTED  # type: ignore[attr-defined]
        status = status_from_metadata(refused.value.trailing_metadata())  # type: ignore[attr-defined]
        info = error_info(status)
        assert info is not None and info.reason == "NO_QUORUM"
        assert status is not None
        evidence = pb.ConsensusRefusal()
        next(d for d in status.details if d.Is(pb.ConsensusRefusal.DESCRIPTOR)).Unpack(evidence)
        assert {v.outcome for v in evidence.evidence.votes} == {pb.VOTE_OUTCOME_TIMED_OUT}
