"""The whole mesh as real processes: health, one trace across processes, UNIMPLEMENTED for what is
not built, the match-day demo, and a clean stop on SIGTERM (last: it ends the module's mesh)."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest
from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.oracle.v1 import oracle_service_pb2, oracle_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from launcher.embedded import ROOT

from .auth import Operator
from .conftest import DEMO_SPEED
from .launcher_process import Launcher, processes_of, wait_gone
from .otlp_receiver import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.e2e

SETTLED_NOT_VOID = {
    bet_service_pb2.BET_STATUS_WON,
    bet_service_pb2.BET_STATUS_LOST,
    bet_service_pb2.BET_STATUS_HALF_WON,
    bet_service_pb2.BET_STATUS_HALF_LOST,
    bet_service_pb2.BET_STATUS_CASHED_OUT,
}
OPEN_BETS = {bet_service_pb2.BET_STATUS_ACCEPTED, bet_service_pb2.BET_STATUS_PENDING}
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


def test_every_service_process_serves_its_metrics(mesh: Launcher, operator: Operator) -> None:
    """`betmesh up` writes a Prometheus scrape configuration naming every gRPC process; each
    target answers, and a consensus quote shows on the gateway (served and made) and on the
    football replicas (served)."""
    with operator.channel(mesh.addresses["quotes-football-1"]) as channel:
        snapshot_hash = football_snapshot(channel)
    with operator.channel(mesh.addresses["gateway"]) as channel:
        gateway_grpc.ConsensusGatewayServiceStub(channel).GetConsensusQuote(
            gateway_pb2.GetConsensusQuoteRequest(
                fixture=fixture("e2e-metrics"),
                snapshot_hash=snapshot_hash,
                market_types=[market_pb2.MARKET_TYPE_MATCH_RESULT],
            ),
            timeout=10,
        )
    config = (mesh.state_dir / "prometheus.yml").read_text()
    targets = dict(
        (name, target)
        for target, name in re.findall(
            r"targets: \['([\d.]+:\d+)'\]\n\s+labels: \{name: (\S+)\}", config
        )
    )
    assert {"services.quotes", "gateway", "services.bets", "services.live"} <= set(
        re.findall(r"job_name: (\S+)", config)
    )
    assert set(targets) == set(mesh.addresses)
    histograms: dict[str, set[str]] = {}
    for name, target in targets.items():
        with urllib.request.urlopen(f"http://{target}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        assert "process_resident_memory_bytes" in text, name
        histograms[name] = set(
            re.findall(r"^rpc_(server|client)_duration_milliseconds_count", text, re.M)
        )
    assert histograms["gateway"] == {"server", "client"}
    assert sum(1 for n, h in histograms.items() if n.startswith("quotes-football-") and h) >= 2


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


def test_the_match_day_demo_plays_against_the_running_mesh(
    mesh: Launcher, operator: Operator, tmp_path: Path
) -> None:
    summary_file = tmp_path / "summary.json"
    result = subprocess.run(
        [
            *[sys.executable, "-m", "launcher", "demo", "--attach"],
            *["--state-dir", str(mesh.state_dir), "--speed", str(DEMO_SPEED), "--players", "12"],
            *["--summary-json", str(summary_file)],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "quorum 2 of 3" in out
    assert mesh.record["demo_client_id"] in out
    assert "match day finished: every phase worked" in out
    # Not a terminal: the live status comes as plain lines, without cursor control.
    assert "\r" not in out and "\x1b[" not in out
    # The live football match is two Premier League teams drawn from the fitted model.
    assert re.search(
        r"^  \.\. 5/6 the matches are played live .*\| [A-Z0-9]{2,3}-[A-Z0-9]{2,3} \d+-\d+ ",
        out,
        re.M,
    )
    summary = json.loads(summary_file.read_text())
    total = summary["rows"]["total"]
    assert total["settled"] > 0 and total["taken"] > total["open"]
    # Each story refusal came back for its own reason.
    assert {
        "STAKE_CAP_NOT_SET",
        "RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED",
        "INSUFFICIENT_FUNDS",
        "BELOW_MIN_BET_AMOUNT",
        "SAME_FIXTURE_LEGS",
        "LINE_CHANGED",
        "PAST_CUTOFF_TIME",
    } <= set(summary["rejections"])
    # Every bet of the day had a key of its own: none was refused as a reused one.
    assert "DUPLICATED_REQUEST" not in summary["rejections"]
    # In-play bets are taken after the bet delay in every sport: the mesh's delays are set for
    # feeds at the demo's speed (a score change during the delay still refuses one, fairly).
    assert "in-play bets taken after the bet delay: football " in out
    in_play = [b for b in summary["bets"] if b["live"] and b["note"] == "live"]
    for sport in ("football", "tennis", "basketball"):
        taken = [b for b in in_play if b["group"] == sport and b["status"] != "REJECTED"]
        assert taken and all(b["bet_id"] for b in taken), (sport, in_play)

    with operator.channel(mesh.addresses["bets"]) as channel:
        bets = bet_service_pb2_grpc.BetServiceStub(channel)
        start, end = Timestamp(), Timestamp()
        start.FromNanoseconds(int(summary["period"]["start"] * 1e9))
        end.FromNanoseconds(int(summary["period"]["end"] * 1e9))
        rtp = bets.GetReturnToPlayerReport(
            bet_service_pb2.GetReturnToPlayerReportRequest(period_start=start, period_end=end),
            timeout=10,
        )
        # The summary's numbers are the bets service's.
        assert rtp.stakes.amount_minor == total["settled_stakes"]
        assert rtp.payouts.amount_minor == total["payouts"]
        assert rtp.settled_bet_count == total["settled"]
        headline = next(b for b in summary["bets"] if b["note"] == "headline")
        # The home win on today's football match, drawn from the fitted model: it settles by
        # the result on chain.
        (played,) = [m for m in summary["oracle"] if m["fixture_id"] in headline["fixture_ids"]]
        home_goals, away_goals = (int(g) for g in played["result"].split("-"))
        settled = bets.GetBet(bet_service_pb2.GetBetRequest(bet_id=headline["bet_id"]), timeout=10)
        assert settled.bet.status == (
            bet_service_pb2.BET_STATUS_WON
            if home_goals > away_goals
            else bet_service_pb2.BET_STATUS_LOST
        ), played
        # Every wallet balances against the bets the service holds for its player.
        for player in summary["players"]:
            held = bets.ListBets(
                bet_service_pb2.ListBetsRequest(player_id=player["player_id"], page_size=200),
                timeout=10,
            ).bets
            settled = [b for b in held if b.status in SETTLED_NOT_VOID]
            open_bets = [b for b in held if b.status in OPEN_BETS]
            wallet = bets.GetWallet(
                bet_service_pb2.GetWalletRequest(player_id=player["player_id"]), timeout=10
            ).wallet
            assert wallet.balance.amount_minor + wallet.held.amount_minor == (
                player["deposit_minor"]
                - sum(b.stake.amount_minor for b in settled)
                + sum(b.payout.amount_minor for b in settled)
            ), player
            assert wallet.held.amount_minor == sum(b.stake.amount_minor for b in open_bets)

    # One result per sport validated, published and final on chain, as the oracle has it.
    assert {entry["sport"] for entry in summary["oracle"]} == {"football", "tennis", "basketball"}
    with operator.channel(mesh.addresses["oracle"]) as channel:
        oracle = oracle_service_pb2_grpc.OracleServiceStub(channel)
        for entry in summary["oracle"]:
            published = oracle.GetResult(
                oracle_service_pb2.GetResultRequest(fixture_id=entry["fixture_id"]), timeout=10
            ).result.publication
            assert published.status == oracle_service_pb2.PUBLICATION_STATUS_FINAL
            assert published.transaction_hash == entry["tx_hash"] != ""
            assert entry["tx_hash"] in out

    # The operator's secret is a credential: never printed.
    secret = (mesh.state_dir / "demo-operator.secret").read_text().strip()
    assert secret not in result.stdout + result.stderr + mesh.output()
    assert oct((mesh.state_dir / "demo-operator.secret").stat().st_mode & 0o777) == "0o600"
    # With tokens on (the default), the players ran with their own tokens.
    assert mesh.record["auth"] == "tokens"
    assert "signed in with a player token" in out
    # Nor are the services' own client secrets, which only their owners may read.
    service_secrets = sorted((mesh.state_dir / "clients").glob("svc-*.secret"))
    assert {p.name for p in service_secrets} >= {"svc-gateway.secret", "svc-quotes.secret"}
    logs = "".join(p.read_text() for p in (mesh.state_dir / "logs").glob("*.log"))
    for path in service_secrets:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert path.read_text().strip() not in result.stdout + mesh.output() + logs


def admin(mesh: Launcher, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launcher", "admin", "--state-dir", str(mesh.state_dir), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_operator_cli_reads_and_refuses_through_the_public_apis(mesh: Launcher) -> None:
    """`betmesh admin` finds the mesh from its state directory and calls with the demo
    operator's credential: replica sets as a table, the same as JSON, an empty list of holds and
    dead letters, and a refusal with its reason and a non-zero exit."""
    replicas = admin(mesh, "replicas", "list")
    assert replicas.returncode == 0, replicas.stderr
    assert replicas.stdout.splitlines()[0].split()[:2] == ["sport", "quorum"]
    assert "SPORT_FOOTBALL" in replicas.stdout

    as_json = admin(mesh, "--json", "replicas", "list")
    assert as_json.returncode == 0, as_json.stderr
    sports = {s["sport"] for s in json.loads(as_json.stdout)["replica_sets"]}
    assert "SPORT_FOOTBALL" in sports

    for group in ("dead-letters", "prices"):
        listed = admin(mesh, group, "list" if group == "dead-letters" else "holds")
        assert listed.returncode == 0, listed.stderr

    # An operator takes a replica out of the quorum and puts it back.
    out = admin(mesh, "--json", "replicas", "quarantine", "football-2", "--note", "check")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["replica"]["held_by_operator"] is True
    back = admin(mesh, "--json", "replicas", "readmit", "football-2")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["replica"]["state"] == "REPLICA_STATE_HEALTHY"

    refused = admin(mesh, "prices", "release", "no-such-hold")
    assert refused.returncode == 1
    assert refused.stderr.startswith("betmesh admin: NOT_FOUND") or "INVALID_ARGUMENT" in (
        refused.stderr
    ), refused.stderr


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
