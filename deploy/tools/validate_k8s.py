"""CI: renders every overlay, validates each object against the pinned Kubernetes schemas
(kubernetes-validate, strict: unknown fields fail) and runs the project's own rules.

    deploy/.venv/bin/python -m deploy.tools.validate_k8s
"""

from __future__ import annotations

import sys
from pathlib import Path

from deploy.tools.checks import check
from deploy.tools.render import RenderError, build

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
# The EKS version deploy/aws creates (KUBERNETES_VERSION there); CI fails if they drift apart.
KUBERNETES_VERSION = "1.34.0"
# Objects of API groups the schemas do not cover are listed here on purpose (none today).
# cert-manager's kinds: checked by the project's own rules (checks.py, _tls) instead.
NOT_IN_SCHEMAS: frozenset[str] = frozenset({"Certificate", "Issuer"})
# Overlays meant for one-node clusters, where replicas of a sport may share a node.
RELAXED_SCHEDULING = frozenset({"dev"})


def validate_overlay(directory: Path) -> list[str]:
    import kubernetes_validate  # type: ignore[import-not-found,unused-ignore]

    problems = []
    try:
        objects = build(directory)
    except RenderError as exc:
        return [f"render: {exc}"]
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if obj.get("kind") in NOT_IN_SCHEMAS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            problems.append(f"{name}: schema: {path}: {exc.message}")
        except (
            kubernetes_validate.SchemaNotFoundError,
            kubernetes_validate.InvalidSchemaError,
        ) as exc:
            problems.append(f"{name}: no schema in Kubernetes {KUBERNETES_VERSION}: {exc}")
    strict = directory.name not in RELAXED_SCHEDULING
    problems += check(objects, strict_scheduling=strict)
    return problems


def main() -> int:
    failed = False
    overlays = sorted(p for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").is_file())
    for directory in overlays:
        problems = validate_overlay(directory)
        count = len(build(directory)) if not any(p.startswith("render:") for p in problems) else 0
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(
            f"k8s overlay {directory.name}: {count} objects,"
            f" Kubernetes {KUBERNETES_VERSION}: {status}"
        )
        for problem in problems:
            print(f"  {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
