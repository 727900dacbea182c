"""The committed contract artifact is exactly what the project's compile command produces."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from services.oracle.adapters.chain.contract import ARTIFACT, ROOT


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed to compile")
def test_recompiling_gives_the_committed_artifact() -> None:
    built = subprocess.run(
        ["node", "contracts/build.mjs", "--stdout"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert built == ARTIFACT.read_text(), "run `node contracts/build.mjs` and commit the artifact"
