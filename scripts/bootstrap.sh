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

# The web app (web/): its own node_modules from web/package-lock.json, then a build whenever its
# sources or the contracts changed, so the edge (`betmesh up`/`demo`) serves the current app.
if [[ -f web/package-lock.json ]]; then
  web_stamp="$(lock_hash web/package-lock.json)"
  if [[ ! -d web/node_modules || "$(cat web/node_modules/.betmesh-stamp 2>/dev/null)" != "$web_stamp" ]]; then
    log "installing the web app's dependencies from web/package-lock.json"
    (cd web && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$web_stamp" >web/node_modules/.betmesh-stamp
  fi
  build_stamp="$(
    find protos third_party/protovalidate web/src web/protos web/index.html web/vite.config.ts web/tsconfig.json \
      web/buf.gen.yaml web/package-lock.json web/scripts -type f -not -path 'web/src/gen/*' |
      LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16
  )"
  if [[ ! -f web/dist/index.html || "$(cat web/dist/.betmesh-stamp 2>/dev/null)" != "$build_stamp" ]]; then
    log "building the web app (web/dist)"
    (cd web && npm run --silent build >&2)
    echo "$build_stamp" >web/dist/.betmesh-stamp
  fi
fi

# Headless Chromium for the browser tests (tests/browser), and only for them: `./betmesh test`
# sets BETMESH_BROWSER_TESTS=1; `demo` and `up` install nothing outside the repository. As root
# with apt (CI) Debian's chromium package is installed system-wide, and said so; elsewhere the
# browser tests skip with a message saying so. BETMESH_CHROMIUM names another binary.
if [[ "${BETMESH_BROWSER_TESTS:-}" == 1 && ! -x "${BETMESH_CHROMIUM:-/usr/bin/chromium}" ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing Debian's chromium system-wide (apt) for the browser tests only"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
  else
    log "no Chromium at ${BETMESH_CHROMIUM:-/usr/bin/chromium} (not root with apt): browser tests will skip"
  fi
fi
