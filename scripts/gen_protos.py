"""Regenerates the typed Python stubs from protos/ into gen/python (or --out).

One command for everyone: `python scripts/gen_protos.py`. CI runs it with --check to fail on
drift between the committed stubs and the contracts.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
# protovalidate's buf/validate/validate.proto, vendored (third_party/protovalidate/README.md):
# our contracts import it for their field rules, so its stubs are generated beside ours.
VENDORED = ROOT / "third_party" / "protovalidate"
OUT = ROOT / "gen" / "python"
PACKAGES = ("betmesh", "buf")


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    sources += sorted(str(p.relative_to(VENDORED)) for p in VENDORED.rglob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{VENDORED}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={Path(sys.executable).parent / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={Path(sys.executable).parent / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--mypy_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_grpc_out={out}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Regular packages (not namespace ones) so setuptools, mypy and pytest all find them.
    for package in PACKAGES:
        for folder in [out / package, *(p for p in (out / package).rglob("*") if p.is_dir())]:
            (folder / "__init__.py").touch()


def differences(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b)
    found = [f"only in committed: {n}" for n in cmp.left_only]
    found += [f"missing from committed: {n}" for n in cmp.right_only]
    found += [f"differs: {n}" for n in cmp.diff_files]
    for name, sub in cmp.subdirs.items():
        found += [f"{name}/{d}" for d in differences(a / name, b / name) if sub]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if gen/python is stale")
    args = parser.parse_args()
    if not args.check:
        for package in PACKAGES:
            shutil.rmtree(OUT / package, ignore_errors=True)
        generate(OUT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        drift = []
        for package in PACKAGES:
            if not (OUT / package).is_dir():
                drift.append(f"missing from committed: {package}")
                continue
            drift += [f"{package}/{d}" for d in differences(OUT / package, Path(tmp) / package)]
    drift = [d for d in drift if "__pycache__" not in d]
    if drift:
        print("generated stubs are stale; run: python scripts/gen_protos.py", file=sys.stderr)
        print("\n".join(drift), file=sys.stderr)
        return 1
    print("generated stubs match protos/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
