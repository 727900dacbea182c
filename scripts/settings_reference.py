"""Writes docs/settings.md, every process's environment variables, from the typed settings
objects themselves, so that the reference cannot drift from the code.

Each service's settings are read from an empty environment while `Env` records every variable
asked for: its name, type, default (or "required") and the comment written just above the line
that reads it (or above the settings field it fills). A variable read only under another
setting (e.g. a KYC provider's keys) shows once that branch is taken: each service is read a
second time with the production-like values in VARIANTS.

    .venv/bin/python scripts/settings_reference.py          # rewrite docs/settings.md
    .venv/bin/python scripts/settings_reference.py --check  # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import ast
import importlib
import linecache
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUTPUT = ROOT / "docs" / "settings.md"

# (process, module:class) in the order a newcomer meets them.
SERVICES = [
    ("quotes", "services.quotes.settings:QuotesSettings"),
    ("gateway", "gateway.settings:GatewaySettings"),
    ("live", "services.live.settings:LiveSettings"),
    ("bets", "services.bets.settings:BetsSettings"),
    ("identity", "services.identity.settings:IdentitySettings"),
    ("oracle", "services.oracle.settings:OracleSettings"),
    ("signer", "services.signer.settings:SignerSettings"),
    ("edge", "services.edge.settings:EdgeSettings"),
]
# Values that open the branches an empty environment does not take.
VARIANTS: list[dict[str, str]] = [
    {},
    {"BETMESH_ENVIRONMENT": "production", "BETMESH_AUTH_MODE": "tokens"},
]
SHARED = "service_runtime"


@dataclass
class Variable:
    name: str
    kind: str
    default: str
    note: str
    source: str


def _comment_above(filename: str, lineno: int) -> str:
    """The `#` comment block right above a line, or at its end."""
    line = linecache.getline(filename, lineno)
    lines: list[str] = []
    number = lineno - 1
    while number > 0:
        text = linecache.getline(filename, number).strip()
        if not text.startswith("#"):
            break
        lines.insert(0, text.lstrip("#").strip())
        number -= 1
    if not lines and "  # " in line:
        lines.append(line.split("  # ", 1)[1].strip())
    return " ".join(lines)


def _format_default(default: object) -> str:
    if isinstance(default, list):
        return ",".join(str(d) for d in default) or "(empty)"
    if isinstance(default, str) and default.startswith(str(ROOT)):
        # A default under the checkout (the web app's build) is the same in every clone.
        return "<repository>" + default[len(str(ROOT)) :]
    if default == "":
        return "(empty)"
    return str(default)


def field_comments(paths: list[Path]) -> dict[str, dict[str, str]]:
    """Comments written above the fields of the settings dataclasses, by file and field name."""
    found: dict[str, dict[str, str]] = {}
    for path in paths:
        lines = path.read_text().splitlines()
        own = found.setdefault(str(path.relative_to(ROOT)), {})
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    comment: list[str] = []
                    number = item.lineno - 2
                    while number >= 0 and lines[number].strip().startswith("#"):
                        comment.insert(0, lines[number].strip().lstrip("#").strip())
                        number -= 1
                    if comment:
                        own.setdefault(item.target.id, " ".join(comment))
    return found


def annotate(variables: list[Variable], comments: dict[str, dict[str, str]]) -> None:
    """A variable without a comment of its own takes its field's (BETMESH_BETS_CURRENCY fills
    `currency`): the longest field name its name ends with, from the file that reads it first
    (the edge's own client credential says what the edge does with it), then any other file."""
    for variable in variables:
        if variable.note:
            continue
        name = variable.name.removeprefix("BETMESH_").lower()
        own = comments.get(variable.source, {})
        others = [c for path, c in comments.items() if path != variable.source]
        for fields in (own, *others):
            matches = [f for f in fields if name == f or name.endswith("_" + f)]
            if matches:
                variable.note = fields[max(matches, key=len)]
                break


def record(read: Callable[[dict[str, str]], Any]) -> list[Variable]:
    from service_runtime import env as settings

    found: dict[str, Variable] = {}
    original = settings.Env._get

    def recording(self: settings.Env, name: str, default: object, parse: Any, kind: str) -> Any:
        frame = sys._getframe(2)  # the caller of env.str/int/...
        key = self.prefix + name
        if key not in found:
            source = Path(frame.f_code.co_filename)
            try:
                where = str(source.relative_to(ROOT))
            except ValueError:
                where = source.name
            found[key] = Variable(
                key,
                kind,
                "required" if default is settings._MISSING else _format_default(default),
                _comment_above(frame.f_code.co_filename, frame.f_lineno),
                where,
            )
        return original(self, name, default, parse, kind)

    settings.Env._get = recording  # type: ignore[method-assign]
    try:
        for variant in VARIANTS:
            try:
                read(dict(variant))
            except Exception:
                continue
    finally:
        settings.Env._get = original  # type: ignore[method-assign]
    return list(found.values())


def reader(path: str) -> Callable[[dict[str, str]], Any]:
    module, _, name = path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    read: Callable[[dict[str, str]], Any] = cls.from_env
    return read


def render() -> str:
    per_service = {service: record(reader(path)) for service, path in SERVICES}
    sources = {ROOT / v.source for vs in per_service.values() for v in vs}
    comments = field_comments(sorted(p for p in sources if p.exists()))
    for variables in per_service.values():
        annotate(variables, comments)
    shared = {
        v.name: v
        for variables in per_service.values()
        for v in variables
        if v.source.startswith(SHARED)
    }
    out = [
        "# Settings reference",
        "",
        "Every process reads its configuration once at start from `BETMESH_*` environment",
        "variables into one typed settings object, and refuses to start on a missing or malformed",
        "value, naming every offending variable at once. This page is generated from those",
        "objects (`scripts/settings_reference.py`; a test fails when it is stale): the type, the",
        "default and the comment written beside the code that reads each variable.",
        "",
        "OpenTelemetry's own variables (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_ENDPOINT`,",
        "`OTEL_RESOURCE_ATTRIBUTES`, ...) are read by the SDK as documented upstream; `betmesh up",
        "--otlp-endpoint URL` sets the endpoint for every process.",
        "",
    ]

    def table(variables: list[Variable]) -> list[str]:
        rows = ["| variable | type | default | notes |", "|---|---|---|---|"]
        for v in variables:
            note = v.note.replace("|", "\\|")
            default = v.default.replace("|", "\\|")
            rows.append(f"| `{v.name}` | {v.kind} | `{default}` | {note} |")
        return [*rows, ""]

    out += ["## Every gRPC process (`service_runtime`)", ""]
    out += table(sorted(shared.values(), key=lambda v: v.source))
    for service, variables in per_service.items():
        own = [v for v in variables if not v.source.startswith(SHARED)]
        out += [f"## {service}", ""]
        out += table(own) if own else ["Only the shared settings above.", ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print("docs/settings.md is stale: run scripts/settings_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
