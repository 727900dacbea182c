"""RPC metrics from a real process: a quote replica started as `python -m services.quotes` with
BETMESH_METRICS_PORT serves Prometheus text whose RED histogram counts each call by method,
status code and refusal reason (health probes left out), beside the process gauges."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import grpc
import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from launcher.embedded import ROOT
from service_runtime.errors import error_info, status_from_metadata
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.snapshots import put_snapshot
from tests.support.demo_snapshots import demo_football_snapshot

SERVICE = "betmesh.quotes.v1.QuoteService"


@pytest.fixture(scope="module")
def replica(private_database_url: str) -> Iterator[tuple[int, int]]:
    put_snapshot(demo_football_snapshot(), private_database_url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETMESH_")},
        "BETMESH_HOST": "127.0.0.1",
        "BETMESH_PORT": "0",
        "BETMESH_METRICS_PORT": "0",
        "BETMESH_LOG_LEVEL": "WARNING",
        "BETMESH_GRACE_SECONDS": "0",
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_QUOTES_SPORT": "football",
        "BETMESH_QUOTES_REPLICA_ID": "football-metrics",
        "BETMESH_DATABASE_URL": private_database_url,
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.quotes"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = next(line for line in process.stdout if line.startswith("READY"))
        fields = dict(part.split("=", 1) for part in ready.split()[2:])
        yield int(fields["port"]), int(fields["metrics_port"])
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def scrape(metrics_port: int) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    families: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = [(s.name, s.labels, s.value) for s in family.samples]
    return families


def calls(families: dict[str, list[tuple[str, dict[str, str], float]]], **labels: str) -> float:
    return sum(
        value
        for name, sample_labels, value in families.get("rpc_server_duration_milliseconds", [])
        if name.endswith("_count") and all(sample_labels.get(k) == v for k, v in labels.items())
    )


def test_calls_are_counted_by_method_code_and_reason(replica: tuple[int, int]) -> None:
    port, metrics_port = replica
    snapshot = snapshot_hash(demo_football_snapshot())
    fixture = sport_pb2.Fixture(
        fixture_id="metrics-1",
        sport=sport_pb2.SPORT_FOOTBALL,
        home=sport_pb2.Participant(participant_id="fb:arsenal"),
        away=sport_pb2.Participant(participant_id="fb:chelsea"),
    )
    before = scrape(metrics_port)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        for _ in range(3):
            stub.PriceFixture(pb.PriceFixtureRequest(fixture=fixture, snapshot_hash=snapshot))
        with pytest.raises(grpc.RpcError) as refused:
            stub.PriceFixture(pb.PriceFixtureRequest(fixture=fixture, snapshot_hash="nope"))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        info = error_info(status_from_metadata(refused.value.trailing_metadata()))
        assert info is not None and info.reason
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(5):
            health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    after = scrape(metrics_port)

    ok = {"rpc_service": SERVICE, "rpc_method": "PriceFixture", "rpc_grpc_status_code": "0"}
    assert calls(after, **ok) - calls(before, **ok) == 3
    invalid = {
        "rpc_service": SERVICE,
        "rpc_method": "PriceFixture",
        "rpc_grpc_status_code": str(grpc.StatusCode.INVALID_ARGUMENT.value[0]),
        "betmesh_error_reason": info.reason,
    }
    assert calls(after, **invalid) - calls(before, **invalid) == 1
    # Probes every few seconds would drown the figures that matter.
    assert calls(after, rpc_service="grpc.health.v1.Health") == 0
    # The process's own gauges come with them.
    assert after["process_cpu_seconds"][0][2] > 0
    assert after["process_resident_memory_bytes"][0][2] > 0
