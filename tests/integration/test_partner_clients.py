"""docs/partners.md's example clients (Python with grpcio, Node with @grpc/grpc-js) against
identity and live in tokens mode, with a partner credential made the way `betmesh up
--partner-credential NAME` makes it: token by client credential, the odds stream, updates."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from launcher.mesh import Mesh, MeshConfig, MeshError
from service_runtime.events import EventPublisher
from service_runtime.server import ServiceHost
from tests.integration.test_edge_grpc_web import start_identity, start_live
from tests.integration.test_live_stream import LIVE, publish_prices

ROOT = Path(__file__).resolve().parents[2]


def partner_credential(state_dir: Path) -> tuple[str, Path, dict[str, object]]:
    mesh = Mesh(MeshConfig(state_dir=state_dir, partner_credentials=("acme",)))
    mesh._make_partner_clients()
    ((client_id, path, digest),) = mesh.partner_clients
    return (
        client_id,
        path,
        {
            "client_id": client_id,
            "secret_sha256": digest,
            "role": "partner",
            "audiences": ["betmesh.live"],
        },
    )


def test_partner_credentials_are_private_files_and_names_are_checked(tmp_path: Path) -> None:
    client_id, path, entry = partner_credential(tmp_path)
    assert client_id == "partner-acme"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() not in json.dumps(entry)
    with pytest.raises(MeshError, match="partner credential names"):
        Mesh(MeshConfig(state_dir=tmp_path, partner_credentials=("../x",)))._make_partner_clients()


@pytest.fixture(scope="module")
async def served(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> AsyncIterator[tuple[int, int, str, Path]]:
    folder = tmp_path_factory.mktemp("partners")
    client_id, secret_file, entry = partner_credential(folder)
    identity, identity_port = await start_identity(folder, database_url, redis_url, [entry])
    live: ServiceHost = await start_live(redis_url, identity_port, "partners", 20)
    yield identity_port, live.port, client_id, secret_file
    await live.stop(0)
    await identity.stop(0)


@pytest.mark.parametrize("language", ["python", "node"])
async def test_the_example_client_streams_with_a_partner_credential(
    language: str, served: tuple[int, int, str, Path], redis_url: str
) -> None:
    if language == "node" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    identity_port, live_port, client_id, secret_file = served
    fixture = f"partner-{uuid.uuid4().hex[:10]}"
    program = (
        [sys.executable, str(ROOT / "examples" / "partners" / "stream_odds.py")]
        if language == "python"
        else ["node", str(ROOT / "examples" / "partners" / "stream_odds.mjs")]
    )
    client = await asyncio.create_subprocess_exec(
        *program,
        "--identity",
        f"127.0.0.1:{identity_port}",
        "--live",
        f"127.0.0.1:{live_port}",
        "--client-id",
        client_id,
        "--secret-file",
        str(secret_file),
        "--fixture",
        fixture,
        "--updates",
        "2",
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert client.stdout is not None
    first = json.loads(await asyncio.wait_for(client.stdout.readline(), 60))
    assert first["payload"] == "full_image", first
    bus_client = aioredis.Redis.from_url(redis_url)
    try:
        for price in (20000, 20100):
            await publish_prices(
                EventPublisher(bus_client, "betmesh.gateway"), fixture, LIVE, price
            )
    finally:
        await bus_client.aclose()  # type: ignore[attr-defined]
    out, err = await asyncio.wait_for(client.communicate(), 60)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert client.returncode == 0, err.decode()
    assert lines[-1]["done"] and lines[-1]["updates"] >= 2, lines
    secret = secret_file.read_text().strip()
    assert secret not in out.decode() and secret not in err.decode()
