"""Determinism across processes: replicas started as `python -m services.quotes` (the launcher's
environment shape) return byte-identical quote sets and digests for identical requests, for
all three sports, including a replica that fetched its snapshot from a peer process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from launcher.embedded import ROOT, free_port
from service_runtime.digest import digest_bytes
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.snapshots import put_snapshot
from tests.support.demo_snapshots import (
    demo_basketball_snapshot,
    demo_football_snapshot,
    demo_startup_env,
    demo_tennis_snapshot,
)

STARTUP_SECONDS = 60.0
SPORTS = ("football", "tennis", "basketball")


@dataclass
class Process:
    name: str
    port: int
    popen: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def spawn(sport: str, index: int, port: int, extra: dict[str, str]) -> Process:
    env = {
        **os.environ,
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_HOST": "127.0.0.1",
        "BETMESH_PORT": str(port),
        "BETMESH_LOG_LEVEL": "WARNING",
        "BETMESH_GRACE_SECONDS": "0",
        "BETMESH_QUOTES_SPORT": sport,
        # The hand-set snapshots only: this test pins their hashes.
        **demo_startup_env(),
        "BETMESH_QUOTES_REPLICA_ID": f"{sport}-{index}",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    popen = subprocess.Popen(
        [sys.executable, "-m", "services.quotes"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return Process(f"{sport}-{index}", port, popen)


def wait_serving(processes: list[Process]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    pending = list(processes)
    while pending:
        for process in list(pending):
            if process.popen.poll() is not None:
                err = process.popen.stderr.read().decode() if process.popen.stderr else ""
                raise AssertionError(f"{process.name} exited: {err[-2000:]}")
            with grpc.insecure_channel(process.address) as channel:
                try:
                    status = (
                        health_pb2_grpc.HealthStub(channel)
                        .Check(health_pb2.HealthCheckRequest(), timeout=1)
                        .status
                    )
                except grpc.RpcError:
                    continue
            if status == health_pb2.HealthCheckResponse.SERVING:
                pending.remove(process)
        if pending and time.monotonic() > deadline:
            raise AssertionError(f"not serving: {[p.name for p in pending]}")
        time.sleep(0.1)


SPECIAL = demo_tennis_snapshot()
SPECIAL.model = "barnett-clarke-markov/processes-test"
SPECIAL.tennis.final_set_tiebreak_points = 10


@pytest.fixture(scope="module")
def replicas(private_database_url: str) -> Iterator[dict[str, list[Process]]]:
    put_snapshot(SPECIAL, private_database_url)
    database = {"BETMESH_DATABASE_URL": private_database_url}
    first = {sport: spawn(sport, 1, free_port(), database) for sport in SPORTS}
    # The second tennis replica has no database: it must fetch from its peer process.
    second = {
        sport: spawn(
            sport,
            2,
            free_port(),
            {"BETMESH_QUOTES_PEERS": first[sport].address} if sport == "tennis" else database,
        )
        for sport in SPORTS
    }
    processes = [*first.values(), *second.values()]
    try:
        wait_serving(processes)
        yield {sport: [first[sport], second[sport]] for sport in SPORTS}
    finally:
        for process in processes:
            process.popen.terminate()
        for process in processes:
            try:
                process.popen.wait(10)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(5)
            if process.popen.stderr:
                process.popen.stderr.close()


def fixture(sport: str, index: int, home: str, away: str, best_of: int = 0) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id=f"{sport}-{index}",
        sport=sport_pb2.Sport.Value(f"SPORT_{sport.upper()}"),
        home=sport_pb2.Participant(participant_id=home),
        away=sport_pb2.Participant(participant_id=away),
        best_of_sets=best_of,
    )


REQUESTS = {
    "football": [
        pb.PriceFixtureRequest(
            fixture=fixture("football", i, h, a),
            snapshot_hash=snapshot_hash(demo_football_snapshot()),
        )
        for i, (h, a) in enumerate([("fb:arsenal", "fb:chelsea"), ("fb:man-united", "fb:man-city")])
    ],
    "tennis": [
        pb.PriceFixtureRequest(fixture=fixture("tennis", i, h, a, best_of), snapshot_hash=key)
        for i, (h, a, best_of, key) in enumerate(
            [
                ("tn:sinner", "tn:alcaraz", 5, snapshot_hash(demo_tennis_snapshot())),
                ("tn:fritz", "tn:rune", 3, snapshot_hash(demo_tennis_snapshot())),
                ("tn:zverev", "tn:medvedev", 5, snapshot_hash(SPECIAL)),
            ]
        )
    ],
    "basketball": [
        pb.PriceFixtureRequest(
            fixture=fixture("basketball", i, h, a),
            snapshot_hash=snapshot_hash(demo_basketball_snapshot()),
        )
        for i, (h, a) in enumerate([("bb:lakers", "bb:warriors"), ("bb:spurs", "bb:celtics")])
    ],
}


@pytest.mark.parametrize("sport", SPORTS)
def test_two_replica_processes_return_identical_bytes(
    replicas: dict[str, list[Process]], sport: str
) -> None:
    answers: list[list[tuple[bytes, str]]] = []
    for process in replicas[sport]:
        with grpc.insecure_channel(process.address) as channel:
            stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
            single = [stub.PriceFixture(r, timeout=20) for r in REQUESTS[sport]]
            batch = stub.PriceFixtures(
                pb.PriceFixturesRequest(requests=REQUESTS[sport]), timeout=20
            )
            assert [r.priced.quote_set for r in batch.results] == [s.quote_set for s in single]
            for response in single:
                assert response.digest == digest_bytes(response.quote_set)
            answers.append([(r.quote_set, r.digest) for r in single])
    assert answers[0] == answers[1]
    for data, _ in answers[0]:
        quote_set = market_pb2.QuoteSet.FromString(data)
        assert len(quote_set.markets) >= 3
