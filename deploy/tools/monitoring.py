"""Offline checks of deploy/monitoring/: the alert rules and the Grafana dashboards.

- the PrometheusRule's groups pass `promtool check rules`, and its alerts pass the unit tests in
  rules.test.yaml (`promtool test rules`);
- every dashboard is well formed (the fields Grafana needs to import it: uid, title, panels with
  ids, grid positions, types and Prometheus targets), every panel query is valid PromQL (each is
  checked by promtool as a recording rule), and each metric a rule or a panel reads is one that
  docs/operations.md names, so that neither the docs nor the queries drift from the code;
- every alert's runbook is an anchor docs/operations.md has.

promtool comes from Debian's `prometheus` package, unpacked into deploy/.tools (no daemon is
installed or started): `apt-get download` needs only the package lists CI's machine has.

    python -m deploy.tools.monitoring
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
TOOLS = ROOT / "deploy" / ".tools"
OPERATIONS = ROOT / "docs" / "operations.md"

# What Prometheus derives from a histogram or counter: the documented name is the base.
_SUFFIXES = ("_bucket", "_count", "_sum", "_total")
# A metric name is not part of a recording rule's name (level:metric:operations).
_METRIC = re.compile(r"(?<![:\w])((?:betmesh|rpc|process)_[a-z0-9_]+)(?![:\w])")
# Label names sit inside selectors and grouping clauses: dropped before looking for metrics.
_LABELS = re.compile(r"\{[^}]*\}|\b(?:by|without)\s*\([^)]*\)")
_DOCUMENTED = re.compile(r"^\|\s*`((?:betmesh|rpc|process)_[a-z0-9_]+)`", re.MULTILINE)
_PANEL_FIELDS = ("id", "type", "title", "gridPos", "targets")


def promtool() -> Path:
    found = shutil.which("promtool")
    if found:
        return Path(found)
    local = TOOLS / "usr" / "bin" / "promtool"
    if local.exists():
        return local
    TOOLS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", "prometheus"], cwd=tmp, check=True)
        (package,) = Path(tmp).glob("prometheus_*.deb")
        subprocess.run(["dpkg-deb", "-x", str(package), str(TOOLS)], check=True)
    return local


def rule_groups() -> list[dict[str, Any]]:
    # deploy/.venv's PyYAML; the rest of this module runs on the project's venv too.
    import yaml  # type: ignore[import-untyped,unused-ignore]

    document = yaml.safe_load((MONITORING / "rules.yaml").read_text())
    assert document["kind"] == "PrometheusRule", "rules.yaml must be a PrometheusRule"
    groups: list[dict[str, Any]] = document["spec"]["groups"]
    return groups


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text())
        for path in sorted((MONITORING / "dashboards").glob("*.json"))
    }


def dashboard_problems(name: str, board: dict[str, Any]) -> list[str]:
    problems = [f"{name}: no {key}" for key in ("uid", "title", "panels") if not board.get(key)]
    ids: set[int] = set()
    for panel in board.get("panels", []):
        label = f"{name}: panel {panel.get('title', '?')!r}"
        problems += [f"{label}: no {key}" for key in _PANEL_FIELDS if key not in panel]
        if panel.get("id") in ids:
            problems.append(f"{label}: duplicate id {panel.get('id')}")
        ids.add(panel.get("id", -1))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")):
            problems.append(f"{label}: gridPos needs integer h, w, x, y")
        for target in panel.get("targets", []):
            if not target.get("expr") or not target.get("refId"):
                problems.append(f"{label}: every target needs expr and refId")
    return problems


def metric_names(expression: str) -> set[str]:
    names = set()
    for found in _METRIC.findall(_LABELS.sub(" ", expression)):
        suffix = next((s for s in _SUFFIXES if found.endswith(s)), "")
        names.add(found[: len(found) - len(suffix)])
    return names


_RUNBOOK = re.compile(r"^docs/operations\.md#([a-z0-9-]+)$")


def runbook_problems(groups: list[dict[str, Any]], operations: str) -> list[str]:
    """Every alert names a runbook, an anchor docs/operations.md has (`<a id="...">`): a page
    whose link leads nowhere leaves the operator guessing."""
    problems = []
    for group in groups:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            runbook = rule.get("annotations", {}).get("runbook", "")
            found = _RUNBOOK.match(runbook)
            if found is None:
                problems.append(
                    f"{rule['alert']}: runbook {runbook!r} is not docs/operations.md#..."
                )
            elif f'id="{found.group(1)}"' not in operations:
                problems.append(
                    f"{rule['alert']}: docs/operations.md has no anchor {found.group(1)}"
                )
    return problems


def documented_metrics() -> set[str]:
    return set(_DOCUMENTED.findall(OPERATIONS.read_text()))


def main() -> int:
    tool = promtool()
    groups = rule_groups()
    boards = dashboards()
    problems: list[str] = []
    expressions = [rule["expr"] for group in groups for rule in group["rules"]]
    panel_rules = []
    for name, board in boards.items():
        problems += dashboard_problems(name, board)
        for index, panel in enumerate(board.get("panels", [])):
            for target in panel.get("targets", []):
                expressions.append(target["expr"])
                panel_rules.append(
                    {"record": f"dashboard:{Path(name).stem}:{index}", "expr": target["expr"]}
                )
    documented = documented_metrics()
    unknown = set().union(*(metric_names(e) for e in expressions)) - documented
    problems += [f"{m} is queried but not named in docs/operations.md" for m in sorted(unknown)]
    problems += runbook_problems(groups, OPERATIONS.read_text())
    import yaml  # type: ignore[import-untyped,unused-ignore]

    with tempfile.TemporaryDirectory() as tmp:
        generated = MONITORING / "rules.generated.yaml"
        panels = Path(tmp) / "panels.yaml"
        generated.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        panels.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": panel_rules}]}))
        try:
            for command in (
                [str(tool), "check", "rules", str(generated), str(panels)],
                [str(tool), "test", "rules", "rules.test.yaml"],
            ):
                result = subprocess.run(
                    command, check=False, cwd=MONITORING, capture_output=True, text=True
                )
                print(result.stdout, end="")
                if result.returncode != 0:
                    problems.append(f"{' '.join(command[1:3])} failed:\n{result.stderr}")
        finally:
            generated.unlink(missing_ok=True)
    for problem in problems:
        print(f"monitoring: {problem}", file=sys.stderr)
    print(f"monitoring: {len(groups)} rule groups, {len(boards)} dashboards checked")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
