#!/usr/bin/env bash
# Creates bench/.venv-penaltyblog: penaltyblog (benchmark oracle only, never a runtime dependency)
# plus what betmesh's football code needs. Run from anywhere: bench/football/setup.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/bench/.venv-penaltyblog"
if [ ! -x "$venv/bin/python" ]; then
  python3.11 -m venv "$venv"
  echo "*" > "$venv/.gitignore"  # keep the benchmark venv out of git
fi
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet penaltyblog==1.13.1 numpy scipy protobuf googleapis-common-protos
# Our code is put on sys.path by compare.py (repo root and gen/python), so no editable install
# is needed; the runtime .venv is never touched.
"$venv/bin/python" -c "import penaltyblog, numpy, scipy, google.protobuf; print('penaltyblog', penaltyblog.__version__)"
