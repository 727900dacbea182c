"""The web app's own unit tests (web/tests/unit: exact money and odds arithmetic, the odds
board's state folded from stream messages, both languages complete), run under pytest so that
`./betmesh test` runs them too."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from launcher.embedded import ROOT
from tests.browser.web_build import ensure_web_build


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is required for the web app")
def test_web_unit_tests_pass() -> None:
    ensure_web_build()  # web/node_modules
    run = subprocess.run(
        ["npm", "run", "--silent", "test:unit"],
        cwd=ROOT / "web",
        capture_output=True,
        text=True,
        timeout=240,
        check=False,  # the assertion below shows the output
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout, run.stdout[-4000:]
