"""docs/settings.md is what the settings objects say: a setting added or changed without
regenerating it (`scripts/settings_reference.py`) fails here, so the reference cannot drift."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_settings_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "settings_reference", ROOT / "scripts" / "settings_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    rendered = module.render()
    assert "BETMESH_METRICS_PORT" in rendered and "BETMESH_TLS_CERT_FILE" in rendered
    assert (ROOT / "docs" / "settings.md").read_text() == rendered, (
        "docs/settings.md is stale: run .venv/bin/python scripts/settings_reference.py"
    )
