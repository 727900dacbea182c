"""The whole mesh as real processes: health, one trace across processes, UNIMPLEMENTED for what is
not built, the demo, and a clean stop on SIGTERM (last: it ends the module's mesh)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence

import grpc
import pytest
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from launcher.embedded import ROOT

from .auth import Operator
from .launcher_process import Launcher, processes_of, wait_gone
from .otlp_receiver import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.e2e

OPEN_SERVICES = {
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
}


def hosted_services(channel: grpc.Channel) -> list[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = [s.name for r in responses for s in r.list_services_response.service]
    return [n for n in names if n not in OPEN_SERVICES]


def football_snapshot(channel: grpc.Channel) -> str:
    stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
    response = stub.ListModelSnapshots(
        quote_service_pb2.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL), timeout=5
    )
    return str(response.snapshots[0].snapshot_hash)


def fixture(fixture_id: str) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        competition_id="epl",
        competition_name="Premier League",
        home=sport_pb2.Participant(participant_id="fb:liverpool", name="Liverpool"),
        away=sport_pb2.Participant(participant_id="fb:tottenham", name="Tottenham Hotspur"),
        status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
    )


def test_every_service_process_is_serving(mesh: Launcher) -> None:
    modules = {entry["module"] for entry in mesh.record["services"].values()}
    assert {"services.quotes", "gateway"} <= modules
    assert sum(1 for name in mesh.addresses if name.startswith("quotes-football-")) == 3
    for name, address in mesh.addresses.items():
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            services = hosted_services(channel)
            assert services, f"{name} hosts no service"
            for service in ["", *services]:
                response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert response.status == health_pb2.HealthCheckResponse.SERVING, (name, service)


def test_a_consensus_quote_is_one_trace_across_gateway_and_replicas(
    mesh: Launcher, operator: Operator, otlp_receiver: OtlpReceiver
) -> None:
    trace_id = secrets.token_hex(16)
    # The test is the trace's root: its traceparent makes the gateway join this trace.
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    with operator.channel(mesh.addresses["quotes-football-1"]) as channel:
        snapshot_hash = football_snapshot(channel)
    with operator.channel(mesh.addresses["gateway"]) as channel:
        response = gateway_grpc.ConsensusGatewayServiceStub(channel).GetConsensusQuote(
            gateway_pb2.GetConsensusQuoteRequest(
                fixture=fixture(f"e2e-trace-{trace_id[:8]}"),
                snapshot_hash=snapshot_hash,
                market_types=[market_pb2.MARKET_TYPE_MATCH_RESULT],
            ),
            timeout=10,
            metadata=[("traceparent", traceparent)],
        )
    agreed = [
        v for v in response.accepted.evidence.votes if v.outcome == gateway_pb2.VOTE_OUTCOME_AGREED
    ]
    assert len(agreed) >= 2

    def replicas_under_gateway(spans: Sequence[ReceivedSpan]) -> set[str]:
        # Each replica's server span must hang under one of the gateway's spans (its client span
        # for that replica): a span whose parent is not there yet does not count.
        gateway_span_ids = {s.span.span_id for s in spans if s.service_name == "betmesh.gateway"}
        return {
            s.instance_id
            for s in spans
            if s.service_name == "betmesh.quotes" and s.span.parent_span_id in gateway_span_ids
        }

    def crosses_processes(spans: Sequence[ReceivedSpan]) -> bool:
        return len(replicas_under_gateway(spans)) >= 2

    spans = otlp_receiver.wait_for(crosses_processes, trace_id=trace_id, timeout=30)
    assert {s.trace_id for s in spans} == {trace_id}
    assert len({s.instance_id for s in spans if s.service_name == "betmesh.gateway"}) == 1
    assert len(replicas_under_gateway(spans)) >= 2


def test_in_play_pricing_goes_through_the_gateway(mesh: Launcher, operator: Operator) -> None:
    with operator.channel(mesh.addresses["quotes-football-2"]) as channel:
        snapshot_hash = football_snapshot(channel)
    with operator.channel(mesh.addresses["gateway"]) as channel:
        stub = gateway_grpc.ConsensusGatewayServiceStub(channel)
        pre_match = stub.GetConsensusQuote(
            gateway_pb2.GetConsensusQuoteRequest(
                fixture=fixture("e2e-in-play"),
                snapshot_hash=snapshot_hash,
                market_types=[market_pb2.MARKET_TYPE_MATCH_RESULT],
            ),
            timeout=10,
        ).accepted.quote_set
        live = stub.GetConsensusQuote(
            gateway_pb2.GetConsensusQuoteRequest(
                fixture=fixture("e2e-in-play"),
                snapshot_hash=snapshot_hash,
                market_types=[market_pb2.MARKET_TYPE_MATCH_RESULT],
                game_state=game_state_pb2.GameState(
                    event_sequence=3,
                    elapsed_seconds=1800,
                    period=1,
                    football=game_state_pb2.FootballState(home_goals=1, regulation_seconds=5400),
                ),
            ),
            timeout=10,
        ).accepted
    assert live.quote_set.phase == market_pb2.PRICING_PHASE_LIVE
    assert live.quote_set.event_sequence == 3
    agreed = [v for v in live.evidence.votes if v.outcome == gateway_pb2.VOTE_OUTCOME_AGREED]
    assert len(agreed) >= live.evidence.quorum >= 2

    def home(quote_set: market_pb2.QuoteSet) -> int:
        selections = quote_set.markets[0].selections
        return next(s.probability_e9 for s in selections if s.selection_id == "home")

    # A home goal after half an hour: the home side's chance is up on the pre-match one.
    assert home(live.quote_set) > home(pre_match)


def test_the_demo_plays_against_the_running_mesh(mesh: Launcher) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "launcher", "demo", "--attach", "--state-dir", str(mesh.state_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "quorum 2 of 3" in result.stdout
    assert mesh.record["demo_client_id"] in result.stdout
    # The operator's secret is a credential: never printed.
    secret = (mesh.state_dir / "demo-operator.secret").read_text().strip()
    assert secret not in result.stdout + result.stderr + mesh.output()
    assert oct((mesh.state_dir / "demo-operator.secret").stat().st_mode & 0o777) == "0o600"
    # With tokens on (the default), the player steps ran as a registered player.
    assert mesh.record["auth"] == "tokens"
    assert "signed in with a player token" in result.stdout
    # Nor are the services' own client secrets, which only their owners may read.
    service_secrets = sorted((mesh.state_dir / "clients").glob("svc-*.secret"))
    assert {p.name for p in service_secrets} >= {"svc-gateway.secret", "svc-quotes.secret"}
    logs = "".join(p.read_text() for p in (mesh.state_dir / "logs").glob("*.log"))
    for path in service_secrets:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert path.read_text().strip() not in result.stdout + mesh.output() + logs


def test_sigterm_stops_every_child_and_the_launcher_exits_0(mesh: Launcher) -> None:
    children = processes_of(mesh.pid)
    assert set(mesh.service_pids) <= set(children)
    watchdog = mesh.record["watchdog_pid"]
    assert mesh.process is not None
    mesh.process.send_signal(signal.SIGTERM)
    assert mesh.process.wait(60) == 0, mesh.output()[-4000:]
    assert wait_gone([*children, watchdog], 10) == []
    assert processes_of(mesh.pid) == []
    assert "mesh stopped" in mesh.output()
    assert not os.path.exists(f"/proc/{watchdog}/cmdline") or wait_gone([watchdog], 5) == []
