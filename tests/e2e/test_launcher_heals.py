"""`betmesh up` heals: a crashed quote replica is restarted with back-off and a log line, the
gateway prices with it again within about a second of it reporting SERVING, a frozen one
(SIGSTOP) is killed by the liveness probe and restarted, and a service that keeps crashing
makes the launcher give up and stop the mesh, leaving nothing behind."""

from __future__ import annotations

import json
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
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .auth import Operator
from .launcher_process import Launcher, alive, processes_of, wait_gone

pytestmark = pytest.mark.e2e

# The functional bound on "quotes succeed again once the replica serves" (the requirement is
# about a second; this bound is loose so that a loaded machine does not fail it).
RECONNECT_BOUND_SECONDS = 3.0


@pytest.fixture
def launcher(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[Launcher]:
    running = Launcher(
        tmp_path / "state",
        [
            "up",
            "--quiet",
            "--only",
            "quotes",
            "--only",
            "gateway",
            "--replicas",
            "3",
            "--sport-replicas",
            "tennis=0,basketball=0",
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
            "--chain-rpc-url",
            "http://127.0.0.1:9",
            # One restart allowed per service: the second crash makes the launcher give up.
            "--restart-limit",
            "1",
            # A health check a second: a frozen service is killed after three unanswered.
            "--liveness-period",
            "1",
        ],
        env={"BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0"},
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()
        for pid in wait_gone(processes_of(running.pid), 15):
            os.kill(pid, signal.SIGKILL)


def serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=0.3
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def request(snapshot_hash: str, n: int) -> pb.GetConsensusQuoteRequest:
    return pb.GetConsensusQuoteRequest(
        fixture=sport_pb2.Fixture(
            fixture_id=f"heal-{n}",
            sport=sport_pb2.SPORT_FOOTBALL,
            home=sport_pb2.Participant(participant_id="fb:liverpool", name="Liverpool"),
            away=sport_pb2.Participant(participant_id="fb:man-city", name="Manchester City"),
        ),
        snapshot_hash=snapshot_hash,
    )


def test_a_killed_replica_is_restarted_and_priced_with_again_within_a_second(
    launcher: Launcher,
) -> None:
    record = launcher.record
    operator = Operator.of(launcher.state_dir, launcher.addresses, record["demo_client_id"])
    services = record["services"]
    replicas = [services[f"quotes-football-{i}"] for i in (1, 2, 3)]
    with operator.channel(replicas[2]["address"]) as channel:
        listed = quote_service_pb2_grpc.QuoteServiceStub(channel).ListModelSnapshots(
            quote_service_pb2.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL),
            timeout=10,
        )
    snapshot_hash = listed.snapshots[0].snapshot_hash
    with operator.channel(launcher.addresses["gateway"]) as channel:
        stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
        assert stub.GetConsensusQuote(request(snapshot_hash, 0), timeout=20).accepted.digest

        # Two of three replicas crash: no quorum until the launcher brings one back.
        killed_at = time.monotonic()
        for replica in replicas[:2]:
            os.kill(replica["pid"], signal.SIGKILL)
        assert wait_gone([r["pid"] for r in replicas[:2]], 10) == []
        with pytest.raises(grpc.RpcError):
            stub.GetConsensusQuote(request(snapshot_hash, 1), timeout=20)

        deadline = time.monotonic() + 90
        while not any(serving(r["address"]) for r in replicas[:2]):
            assert time.monotonic() < deadline, launcher.output()[-4000:]
            time.sleep(0.02)
        served_at = time.monotonic()
        n = 2
        while True:
            try:
                stub.GetConsensusQuote(request(snapshot_hash, n), timeout=5)
                break
            except grpc.RpcError:
                n += 1
                assert time.monotonic() - served_at < RECONNECT_BOUND_SECONDS
                time.sleep(0.02)
        reconnected = time.monotonic() - served_at
        print(
            f"quotes again {reconnected:.3f} s after a restarted replica reported SERVING, "
            f"{time.monotonic() - killed_at:.2f} s after the crash"
        )
        assert reconnected < RECONNECT_BOUND_SECONDS

    output = launcher.output()
    assert "quotes-football-1: exited with code -9: restarting in" in output
    assert "quotes-football-2: exited with code -9: restarting in" in output
    # The mesh file names the new processes.
    deadline = time.monotonic() + 60
    while True:
        now = json.loads((launcher.state_dir / "mesh.json").read_text())["services"]
        restarted = [now[f"quotes-football-{i}"]["pid"] for i in (1, 2)]
        if all(alive(pid) for pid in restarted) and restarted != [r["pid"] for r in replicas[:2]]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)

    # A second crash of the same service is one more than allowed: the launcher gives up.
    os.kill(restarted[0], signal.SIGKILL)
    assert launcher.process is not None
    assert launcher.process.wait(60) == 1
    assert "quotes-football-1 keeps crashing" in launcher.output()
    assert wait_gone(processes_of(launcher.pid), 15) == []


def test_a_frozen_service_is_killed_by_the_liveness_probe_and_restarted(
    launcher: Launcher,
) -> None:
    """SIGSTOP keeps the port open and answers nothing: before the probe the launcher waited
    for it for ever (a frozen live left its markets open, nothing suspending them)."""
    frozen = launcher.record["services"]["quotes-football-3"]
    os.kill(frozen["pid"], signal.SIGSTOP)
    assert wait_gone([frozen["pid"]], 60) == [], launcher.output()[-4000:]
    deadline = time.monotonic() + 90
    while True:
        now = json.loads((launcher.state_dir / "mesh.json").read_text())["services"]
        pid = now["quotes-football-3"]["pid"]
        if pid != frozen["pid"] and alive(pid) and serving(frozen["address"]):
            break
        assert time.monotonic() < deadline, launcher.output()[-4000:]
        time.sleep(0.1)
    output = launcher.output()
    assert "quotes-football-3: no answer to 3 health checks in a row" in output
    assert "quotes-football-3: exited with code -9: restarting in" in output
