"""A partner's Node client (@grpc/grpc-js, keepalive on) keeps its odds stream where the mesh
ages connections out: live does not age its own (services/live/settings.py says why), so the
stream runs on with no drop and no resume. And the keepalive pings partners send are
accepted by the server's enforcement."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from services.live.app import build
from services.live.settings import LiveSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_a_grpc_js_client_with_keepalive_keeps_its_stream_past_the_connection_age(
    redis_url: str,
) -> None:
    settings = LiveSettings.from_env(
        {
            "BETMESH_REDIS_URL": redis_url,
            "BETMESH_PORT": "0",
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_GRACE_SECONDS": "0",
            # The mesh-wide ageing, as deploy sets it, made short: it must not reach live.
            "BETMESH_MAX_CONNECTION_AGE_SECONDS": "2",
            "BETMESH_LIVE_STREAM_PREFIX": f"test:keepalive:{uuid.uuid4().hex[:8]}",
        }
    )
    assert settings.server.max_connection_age_seconds == 0
    host = build(settings)
    port = await host.start()
    try:
        client = await asyncio.create_subprocess_exec(
            "node",
            str(ROOT / "tests" / "node" / "keepalive_client.mjs"),
            f"127.0.0.1:{port}",
            f"ka-{uuid.uuid4().hex[:8]}",
            "12",  # seconds of streaming: several connection ages, three keepalive pings
            "4000",  # keepalive_time_ms
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(client.communicate(), 60)
    finally:
        await host.stop(0)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    print("\n".join(json.dumps(line) for line in lines))
    assert client.returncode == 0, err.decode()
    done = lines[-1]
    assert done["done"] and done["resumes"] == 0, done
    # The image, then a heartbeat a second.
    assert done["messages"] >= 6
