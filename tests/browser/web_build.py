"""The built web app the edge serves. scripts/bootstrap.sh installs web/node_modules and builds
web/dist whenever the app's sources or the contracts change (`./betmesh test` runs it first); a
bare `pytest` run gets the same by calling it here (quick when nothing changed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from launcher.embedded import ROOT

CHROMIUM = os.environ.get("BETMESH_CHROMIUM", "/usr/bin/chromium")


def ensure_web_build() -> Path:
    subprocess.run([str(ROOT / "scripts" / "bootstrap.sh")], cwd=ROOT, check=True)
    index = ROOT / "web" / "dist" / "index.html"
    if not index.is_file():
        raise RuntimeError(f"scripts/bootstrap.sh did not build the web app ({index} missing)")
    return index.parent
