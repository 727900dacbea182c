"""The player web app and the operator console in headless Chromium, against the real mesh.

The mesh runs as real processes (launcher.mesh.Mesh on the test PostgreSQL and Redis), the edge
serves the built app and translates gRPC-web, and the player signs in through the OpenID
provider configured like FranceConnect (tests/oidc). web/tests/browser.mjs drives Chromium with
playwright-core and asks this side, over a line protocol, for what feeds and operators do:
prices through consensus, a match replayed from the live simulator's script, results observed
and published on the local chain. Screenshots land in the artifacts directory.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from launcher.embedded import ROOT, free_port
from launcher.mesh import Mesh, MeshConfig
from tests.browser.match_day import MatchDay
from tests.browser.web_build import CHROMIUM, ensure_web_build
from tests.e2e.auth import Operator
from tests.oidc.harness import Identity, RunningProvider, run_provider, years_ago

SCRIPT = ROOT / "web" / "tests" / "browser.mjs"
PLAYER = Identity("camille", "Camille Anne", "MARTIN", years_ago(34))
CLIENT_ID = "betmesh-web"
SCRIPT_TIMEOUT_SECONDS = 900

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no Chromium at {CHROMIUM}: ./scripts/bootstrap.sh installs it (apt, as root)",
)


def artifacts_dir() -> Path:
    configured = os.environ.get("BETMESH_TEST_ARTIFACTS")
    base = Path(configured) if configured else ROOT / ".betmesh" / "test-artifacts"
    path = base / "browser"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="module")
def edge_port() -> int:
    # Chosen before anything starts: the provider registers the edge's callback URL and identity
    # is configured with it.
    return free_port()


@pytest.fixture(scope="module")
def provider(edge_port: int) -> Iterator[RunningProvider]:
    secret = secrets.token_urlsafe(24)
    edge = f"http://127.0.0.1:{edge_port}"
    client = {
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "redirect_uris": [f"{edge}/auth/franceconnect/callback"],
        "post_logout_redirect_uris": [f"{edge}/auth/franceconnect/logout/callback"],
    }
    with run_provider([PLAYER], secret, [client]) as running:
        yield running


@pytest.fixture(scope="module")
def web_dist() -> Path:
    return ensure_web_build()


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    redis_url: str,
    provider: RunningProvider,
    edge_port: int,
    web_dist: Path,
) -> Iterator[tuple[Mesh, str]]:
    edge = f"http://127.0.0.1:{edge_port}"
    franceconnect = {
        "BETMESH_IDENTITY_FRANCECONNECT_ISSUER": provider.issuer,
        "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_ID": CLIENT_ID,
        "BETMESH_IDENTITY_FRANCECONNECT_CLIENT_SECRET": provider.client_secret,
        "BETMESH_IDENTITY_FRANCECONNECT_REDIRECT_URI": f"{edge}/auth/franceconnect/callback",
        "BETMESH_IDENTITY_FRANCECONNECT_POST_LOGOUT_REDIRECT_URI": (
            f"{edge}/auth/franceconnect/logout/callback"
        ),
        "BETMESH_IDENTITY_RETURN_TO_ALLOWED": f"{edge}/",
    }
    config = MeshConfig(
        state_dir=tmp_path_factory.mktemp("web-mesh"),
        database_url=database_url,
        redis_url=redis_url,
        replicas={"football": 3},
        log_stream=None,
        instance_env={"identity": franceconnect},
        edge_port=edge_port,
        extra_env={"BETMESH_EDGE_WEB_ROOT": str(web_dist)},
    )
    with Mesh(config) as running:
        # The launcher takes another port if ours was taken meanwhile: the provider and identity
        # would then send the browser where no edge listens.
        assert running.edge_url == edge, f"the edge is at {running.edge_url}, not {edge}"
        yield running, edge


@pytest.mark.timeout(SCRIPT_TIMEOUT_SECONDS + 300)  # the mesh's start-up and a whole match
def test_player_and_operator_in_a_real_browser(mesh: tuple[Mesh, str]) -> None:
    running, edge = mesh
    operator = Operator(running.addresses["identity"], running.demo_client_id, running.demo_secret)
    day = MatchDay(running.addresses, operator)
    commands: dict[str, Callable[[], Any]] = {
        "pre_match": day.pre_match,
        "kick_off": day.kick_off,
        "dangerous_event": day.until_dangerous,
        "results": day.results,
        "done": dict,
    }
    artifacts = artifacts_dir()
    env = {
        **os.environ,
        "BETMESH_EDGE_URL": edge,
        "BETMESH_WEB_ARTIFACTS": str(artifacts),
        "BETMESH_FC_LOGIN": PLAYER.login,
        "BETMESH_FC_PASSWORD": PLAYER.password,
        "BETMESH_OPERATOR_CLIENT_ID": running.demo_client_id,
        "BETMESH_OPERATOR_SECRET": running.demo_secret,
        "BETMESH_CHROMIUM": CHROMIUM,
    }
    process = subprocess.Popen(
        ["node", str(SCRIPT)],
        cwd=ROOT / "web",
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    transcript: list[str] = []
    timer = threading.Timer(SCRIPT_TIMEOUT_SECONDS, process.kill)
    timer.start()
    try:
        assert process.stdout is not None and process.stdin is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            if not line.startswith("@@ "):
                transcript.append(line)
                continue
            command = json.loads(line[3:])["cmd"]
            transcript.append(f"[mesh] {command}")
            try:
                answer = commands[command]()
            except Exception as exc:  # the script reports it, with its own step name
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            process.stdin.write(json.dumps(answer) + "\n")
            process.stdin.flush()
        code = process.wait(30)
    finally:
        timer.cancel()
        day.close()
        if process.poll() is None:
            process.kill()
    output = "\n".join(transcript)
    assert code == 0, f"browser script failed (exit {code}):\n{output}\n(artifacts: {artifacts})"
    assert output.rstrip().endswith("OK"), output
    shots = (
        "01-sign-in",
        "01b-anonymous-board",
        "02-pre-match-bet",
        "03-live-odds",
        "04-settled",
        "05-operator",
    )
    for name in (*shots, "06-operator-settled"):
        assert (artifacts / f"{name}.png").stat().st_size > 0
