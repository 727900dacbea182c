"""`betmesh up --tls`: the whole mesh on certificates from a local CA it makes. Every gRPC port
refuses plaintext and serves TLS pinned to that CA; a consensus quote crosses identity (tokens),
the gateway and the replicas over TLS; the edge serves the web app over HTTPS; the operator
CLI finds the CA by itself."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from launcher.embedded import ROOT
from tests.e2e.launcher_process import Launcher, processes_of, wait_gone

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[Launcher]:
    launcher = Launcher(
        tmp_path_factory.mktemp("tls-mesh"),
        [
            "up",
            "--quiet",
            "--tls",
            "--replicas",
            "2",
            "--sport-replicas",
            "tennis=1,basketball=1",
            "--edge-port",
            "0",
            "--startup-timeout",
            "280",
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
        ],
    )
    launcher.start(timeout=300)
    yield launcher
    launcher.stop()
    for pid in wait_gone(processes_of(launcher.pid), 15):
        os.kill(pid, signal.SIGKILL)


def credentials(mesh: Launcher) -> grpc.ChannelCredentials:
    ca = Path(mesh.record["tls_ca_file"])
    assert ca.is_file()
    return grpc.ssl_channel_credentials(root_certificates=ca.read_bytes())


def test_every_port_is_tls_pinned_to_the_mesh_ca(mesh: Launcher) -> None:
    for name, address in mesh.addresses.items():
        with grpc.secure_channel(address, credentials(mesh)) as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=10
            )
            assert status.status == health_pb2.HealthCheckResponse.SERVING, name
        with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as plain:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert plain.value.code() == grpc.StatusCode.UNAVAILABLE, name


def test_a_consensus_quote_crosses_the_mesh_over_tls(mesh: Launcher) -> None:
    secret = Path(mesh.record["demo_secret_file"]).read_text().strip()
    with grpc.secure_channel(mesh.addresses["identity"], credentials(mesh)) as channel:
        token = identity_service_pb2_grpc.IdentityServiceStub(channel).IssueToken(
            identity_service_pb2.IssueTokenRequest(
                client_id=mesh.record["demo_client_id"],
                client_secret=secret,
                audience="betmesh.gateway",
            ),
            timeout=10,
        )
    with grpc.secure_channel(mesh.addresses["gateway"], credentials(mesh)) as channel:
        sets = gateway_grpc.ConsensusGatewayServiceStub(channel).ListReplicaSets(
            gateway_pb2.ListReplicaSetsRequest(),
            timeout=10,
            metadata=[("authorization", f"Bearer {token.access_token.token}")],
        )
    # The gateway reached its replicas over TLS: they are healthy in its view.
    assert {len(s.replicas) for s in sets.replica_sets} >= {1, 2}


def test_the_edge_serves_https_and_the_cli_finds_the_ca(mesh: Launcher) -> None:
    url = mesh.record["edge_url"]
    assert url.startswith("https://")
    context = ssl.create_default_context(cafile=mesh.record["tls_ca_file"])
    with urllib.request.urlopen(url + "/", timeout=10, context=context) as page:
        assert page.status == 200
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher",
            "admin",
            "--state-dir",
            str(mesh.state_dir),
            "--json",
            "replicas",
            "list",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["replica_sets"]
