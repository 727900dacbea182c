"""Signer services for tests: real SignerService hosts (port 0) or real processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service_runtime.server import ServiceHost
from services.signer.app import build
from services.signer.settings import SignerSettings

ROOT = Path(__file__).resolve().parents[2]


def signer_env(chain_id: int, contract: str, **key: str) -> dict[str, str]:
    """A signer's variables; `key`: key_file=..., or kms_key_id=..., kms_region=..."""
    env = {
        "BETMESH_HOST": "127.0.0.1",
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_SIGNER_CHAIN_ID": str(chain_id),
        "BETMESH_SIGNER_CONTRACT_ADDRESS": contract,
        "BETMESH_SIGNER_ALLOW_ANONYMOUS": "true",
    }
    env.update({f"BETMESH_SIGNER_{name.upper()}": value for name, value in key.items()})
    return env


@contextlib.asynccontextmanager
async def signer_hosts(
    chain_id: int, contract: str, key_files: Sequence[Path]
) -> AsyncIterator[list[str]]:
    """One in-process SignerService host per key file (anonymous callers allowed); yields
    their host:port addresses."""
    hosts: list[ServiceHost] = []
    try:
        for path in key_files:
            settings = SignerSettings.from_env(
                {"BETMESH_PORT": "0", **signer_env(chain_id, contract, key_file=str(path))}
            )
            host = await build(settings)
            await host.start()
            hosts.append(host)
        yield [f"127.0.0.1:{h.port}" for h in hosts]
    finally:
        for host in hosts:
            await host.stop(0)


def wait_serving(port: int, process: subprocess.Popen[bytes], log_file: Path) -> None:
    """Until the process answers its health check; its log when it exits first."""
    from launcher.embedded import wait_for_port

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"signer exited {process.returncode}: {log_file.read_text()[-2000:]}"
            )
        try:
            wait_for_port("127.0.0.1", port, 0.5)
        except TimeoutError:
            continue
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                status = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=2
                )
            except grpc.RpcError:
                continue
            if status.status == health_pb2.HealthCheckResponse.SERVING:
                return
    raise TimeoutError(f"signer on {port} not serving: {log_file.read_text()[-2000:]}")


@contextlib.contextmanager
def signer_process(
    port: int, env: Mapping[str, str], log_file: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m services.signer` as its own process, serving on `port`."""
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.signer"],
            env={**os.environ, **env, "BETMESH_PORT": str(port)},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
