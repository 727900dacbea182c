"""The documented real-network procedure (docs/deploy-chain.md) with an anvil the test starts
standing in for the network, behind a provider stand-in that wants its API key in the URL path:
keys, deployment, a signer-set change through the timelock, then `betmesh up --chain-rpc-url-file
--oracle-deployment` publishing a result with signatures from its signer processes."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc
from betmesh.signer.v1 import signer_service_pb2, signer_service_pb2_grpc
from web3 import Web3

from launcher.embedded import ROOT, Anvil
from launcher.mesh import DEMO_CLIENT_ID, Mesh, MeshConfig
from services.oracle.adapters.chain.contract import bind
from tests.support.chain import rpc
from tests.support.oracle import SOURCES, football_observation
from tests.support.rpc_proxy import ProviderProxy

from .auth import Operator

pytestmark = pytest.mark.e2e
DEADLINE = 120.0


def tool(rpc_file: Path, *args: str) -> Any:
    """The deploy tool as an operator runs it; its output never holds the provider key."""
    done = subprocess.run(
        [sys.executable, "-m", "services.oracle.adapters.chain.deploy_tool", *args]
        + (["--rpc-url-file", str(rpc_file)] if args[0] != "keys" else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert rpc_file.read_text().strip().rsplit("/", 1)[-1] not in done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def network() -> Iterator[tuple[Anvil, ProviderProxy]]:
    anvil = Anvil()
    anvil.start()
    proxy = ProviderProxy(anvil.url, "k" + secrets.token_hex(16)).start()
    try:
        yield anvil, proxy
    finally:
        proxy.stop()
        anvil.stop()


def test_deploy_rotate_through_the_timelock_and_publish_with_up(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    network: tuple[Anvil, ProviderProxy],
) -> None:
    anvil, proxy = network
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    rpc_file = tmp_path / "provider.url"
    rpc_file.write_text(proxy.url + "\n")
    rpc_file.chmod(0o600)
    # 1. Keys (on a real network: the admin's own wallet, KMS keys for signers).
    bootstrap = tool(rpc_file, "keys", "--dir", str(tmp_path / "bootstrap"))
    keys = tool(rpc_file, "keys", "--dir", str(tmp_path / "keys"))
    # 2. Fund the admin and the transmitter (a faucet or a transfer on a real network).
    for address in (bootstrap["admin"], keys["transmitter"]):
        rpc(w3, "anvil_setBalance", address, hex(10**20))
    admin_key = str(tmp_path / "bootstrap" / "admin.key")
    # 3. Deploy with a bootstrap signer set.
    deployed = tool(
        rpc_file,
        "deploy",
        "--admin-key-file",
        admin_key,
        *[a for s in bootstrap["signers"] for a in ("--signer", s)],
        "--threshold",
        "2",
        "--transmitter",
        keys["transmitter"],
        "--dispute-window",
        "30",
        "--config-delay",
        "3600",
        "--transmitter-key-file",
        str(tmp_path / "keys" / "transmitter.key"),
        *[
            a
            for i in (1, 2, 3)
            for a in ("--signer-key-file", str(tmp_path / f"keys/signer-{i}.key"))
        ],
        "--out",
        str(tmp_path / "deployment.json"),
    )
    contract = deployed["contract_address"]
    assert proxy.api_key not in deployed["node"]
    # 4. The production signers replace the bootstrap set through the timelock.
    change = ["--admin-key-file", admin_key, "--contract", contract, "--threshold", "2"]
    change += [a for s in keys["signers"] for a in ("--signer", s)]
    proposed = tool(rpc_file, "propose-signers", *change)
    early = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.oracle.adapters.chain.deploy_tool",
            "execute-signers",
            *change,
            "--rpc-url-file",
            str(rpc_file),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert early.returncode != 0  # ProposalNotReady: the delay has not passed
    rpc(
        w3,
        "evm_increaseTime",
        proposed["executable_at"] - int(w3.eth.get_block("latest")["timestamp"]),
    )
    rpc(w3, "evm_mine")
    assert tool(rpc_file, "execute-signers", *change)["config_version"] == 2
    status = tool(rpc_file, "status", "--contract", contract)
    assert sorted(status["signers"]) == sorted(keys["signers"])
    assert (status["threshold"], status["dispute_window_seconds"]) == (2, 30)
    # 5. The mesh against that node: k signer processes, the oracle holding the transmitter only.
    state = tmp_path / "state"
    mesh = Mesh(
        MeshConfig(
            state_dir=state,
            database_url=database_url,
            redis_url=redis_url,
            chain_rpc_urls=(proxy.url,),
            oracle_deployment=tmp_path / "deployment.json",
            only=frozenset({"oracle"}),
            log_stream=None,
        )
    )
    mesh.start()
    try:
        signers = [c for c in mesh.children if c.spec.module == "services.signer"]
        assert len(signers) == 3
        oracle_child = next(c for c in mesh.children if c.spec.module == "services.oracle")
        environ = Path(f"/proc/{oracle_child.pid}/environ").read_bytes().decode()
        assert "signer-1.key" not in environ and "SIGNER_KEY_FILE" not in environ
        assert proxy.api_key not in mesh.describe()
        operator = Operator.of(state, mesh.addresses, DEMO_CLIENT_ID)
        # Nobody but the oracle reaches a signer: no token, and no signer token for others.
        with grpc.insecure_channel(signers[0].address) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                signer_service_pb2_grpc.SignerServiceStub(channel).GetSigner(
                    signer_service_pb2.GetSignerRequest(), timeout=10
                )
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError):
            operator.token("betmesh.signer")
        fixture = f"fx-real-{secrets.token_hex(4)}"
        with operator.channel(mesh.addresses["oracle"]) as channel:
            oracle = oracle_service_pb2_grpc.OracleServiceStub(channel)
            for source in SOURCES:
                oracle.SubmitObservation(
                    pb.SubmitObservationRequest(
                        observation=football_observation(source, fixture, 1, 0)
                    ),
                    timeout=10,
                )
            deadline = time.monotonic() + DEADLINE
            while True:
                publication = oracle.GetResult(
                    pb.GetResultRequest(fixture_id=fixture), timeout=10
                ).result.publication
                if publication.status == pb.PUBLICATION_STATUS_FINAL:
                    break
                assert time.monotonic() < deadline, publication
                rpc(w3, "evm_increaseTime", 5)
                rpc(w3, "evm_mine")
                time.sleep(0.3)
        assert publication.contract_address == contract
        latest = bind(w3, contract).functions.latest(Web3.keccak(text=fixture)).call()
        assert (latest[1], latest[2], latest[3]) == (1, 0, 1)
        assert proxy.requests > 0
    finally:
        mesh.stop()
    # The provider key never reached a log.
    for log in (state / "logs").iterdir():
        assert proxy.api_key not in log.read_text(errors="replace"), log.name
