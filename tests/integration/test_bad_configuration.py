"""A service started with a bad setting says which, in one line, and exits 78 (EX_CONFIG): an
operator reading the pod's log finds the setting to fix, not a traceback through the runtime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "gateway",
    "services.bets",
    "services.edge",
    "services.identity",
    "services.live",
    "services.oracle",
    "services.quotes",
    "services.signer",
]


@pytest.mark.parametrize("module", MODULES)
def test_a_bad_setting_is_named_in_one_line_and_exits_78(module: str) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "BETMESH_GRACE_SECONDS": "soon",  # every gRPC service reads it
        "BETMESH_EDGE_PORT": "eighty",  # the edge's own
    }
    done = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 78, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invalid configuration: ")
    named = "BETMESH_EDGE_PORT" if module == "services.edge" else "BETMESH_GRACE_SECONDS"
    assert named in lines[0]
