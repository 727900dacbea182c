#!/usr/bin/env bash
# Creates or refreshes the project's own tools: .venv from requirements.lock, node_modules from
# package-lock.json. Idempotent and quick when nothing changed (stamps hold the lock hashes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

find_python() {
  for candidate in "${BETMESH_PYTHON:-}" python3.11 python3; do
    [[ -z "$candidate" ]] && continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return
    fi
  done
  log "Python 3.11 is required (set BETMESH_PYTHON to its path)"
  exit 1
}

lock_hash() { sha256sum "$@" | sha256sum | cut -c1-16; }

py_stamp="$(lock_hash requirements.lock pyproject.toml)"
if [[ ! -x .venv/bin/python || "$(cat .venv/.betmesh-stamp 2>/dev/null)" != "$py_stamp" ]]; then
  log "installing Python dependencies into .venv (pinned by requirements.lock)"
  [[ -x .venv/bin/python ]] || "$(find_python)" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
  .venv/bin/uv pip sync --quiet --python .venv/bin/python requirements.lock
  .venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .
  echo "$py_stamp" >.venv/.betmesh-stamp
fi

node_stamp="$(lock_hash package-lock.json)"
if [[ ! -d node_modules || "$(cat node_modules/.betmesh-stamp 2>/dev/null)" != "$node_stamp" ]]; then
  command -v npm >/dev/null || { log "Node.js 20+ with npm is required"; exit 1; }
  log "installing Node tools (buf, anvil) from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$node_stamp" >node_modules/.betmesh-stamp
fi
