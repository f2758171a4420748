#!/usr/bin/env bash
# Runs every test of the project, installing or starting what the tests need:
#   formatting and lints, Rust tests on SQLite and on PostgreSQL, the React
#   client's type check, unit tests and build, the examples, and the end-to-end
#   suite (real socket.io-client) against a real server on both databases.
#
# PostgreSQL: TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres,
# an account that may create databases). With CI=true a missing PostgreSQL fails
# the run; elsewhere the PostgreSQL runs are skipped with a clear message.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat-backend/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A test run builds each workspace crate once: incremental state would only fill the disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
PG_ADMIN_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_PORT=6379
skipped=()

step() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
  have apt-get || return 1
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ "$APT_UPDATED" -eq 0 ]; then
    $sudo apt-get update -qq && APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

postgres_up() {
  have pg_isready && pg_isready -q -h 127.0.0.1 -p 5432
}

ensure_postgres() {
  if postgres_up; then return 0; fi
  if have pg_ctlcluster && [ -d /etc/postgresql ]; then
    step "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do postgres_up && return 0; sleep 1; done
  fi
  return 1
}

ensure_redis() {
  if have redis-cli && redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
  if ! have redis-server; then apt_install redis-server || return 1; fi
  step "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || return 1
  for _ in $(seq 1 20); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}

# npm ci only when the lock file changed since the last install.
npm_install() {
  local dir=$1
  local stamp="$dir/node_modules/.install-stamp"
  local sum
  sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 0; fi
  step "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$sum" > "$stamp"
}

step "checking services"
PG_OK=1
if ! ensure_postgres; then
  PG_OK=0
  if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is not reachable at 127.0.0.1:5432 and could not be started (CI=true: failing)." >&2
    exit 1
  fi
  skipped+=("PostgreSQL tests: PostgreSQL is not reachable at 127.0.0.1:5432")
fi
if ! ensure_redis; then
  if [ "${CI:-}" = "true" ]; then
    echo "Redis is not reachable at 127.0.0.1:$REDIS_PORT and could not be started (CI=true: failing)." >&2
    exit 1
  fi
  skipped+=("Redis checks: Redis is not reachable at 127.0.0.1:$REDIS_PORT")
fi

# nginx (multi-instance tests), Chromium (browser tests) and ffmpeg from Debian's packages.
if ! have nginx && [ ! -x /usr/sbin/nginx ]; then
  step "installing nginx"
  apt_install nginx || skipped+=("nginx could not be installed")
fi
if [ ! -x /usr/bin/chromium ]; then
  step "installing Chromium"
  apt_install chromium || skipped+=("Chromium could not be installed")
fi
# ffmpeg makes the voice notes (Ogg/Opus, WebM/Opus, MP4/AAC, MP3) the upload tests send.
if ! have ffmpeg; then
  step "installing ffmpeg"
  apt_install ffmpeg || skipped+=("ffmpeg could not be installed")
fi

# coturn: the TURN relay the call tests start on loopback themselves. Its package would start (and
# with systemd enable) a system-wide turnserver: policy-rc.d refuses the start during the install,
# and the unit is disabled.
install_coturn() {
  local sudo="" policy=/usr/sbin/policy-rc.d placed=0 status=0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && placed=1
  fi
  apt_install coturn || status=1
  if [ "$placed" -eq 1 ]; then $sudo rm -f "$policy"; fi
  if [ -d /run/systemd/system ]; then $sudo systemctl disable --now coturn >/dev/null 2>&1 || true; fi
  return $status
}
if [ ! -x /usr/bin/turnserver ]; then
  step "installing coturn"
  install_coturn || skipped+=("coturn could not be installed")
fi

# python-socketio, the Python client of the compatibility tests, in a virtual environment of its
# own (E2E_PYTHON names the interpreter), installed from PyPI when missing or changed.
PY_ENV="$HOME/.cache/chat-backend/py"
PY_REQUIREMENTS=e2e/clients/requirements.txt
PY_STAMP="$PY_ENV/.install-stamp"
if ! [ -f "$PY_STAMP" ] || [ "$(cat "$PY_STAMP")" != "$(sha256sum "$PY_REQUIREMENTS" | cut -d' ' -f1)" ]; then
  step "installing python-socketio"
  if ! python3 -m venv "$PY_ENV" 2>/dev/null; then
    apt_install python3-venv && python3 -m venv "$PY_ENV"
  fi
  "$PY_ENV/bin/pip" install -q --disable-pip-version-check -r "$PY_REQUIREMENTS"
  sha256sum "$PY_REQUIREMENTS" | cut -d' ' -f1 > "$PY_STAMP"
fi
export E2E_PYTHON="$PY_ENV/bin/python"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests on SQLite"
cargo test --workspace --locked

if [ "$PG_OK" -eq 1 ]; then
  step "Rust tests on PostgreSQL"
  TEST_POSTGRES_URL="$PG_ADMIN_URL" cargo test --workspace --locked
fi

step "examples"
cargo run -q --locked -p examples --example embed_axum -- --smoke
cargo run -q --locked -p examples --example room_bot -- --smoke

step "client: type check, unit tests, build"
npm_install client
(cd client && npm run -s typecheck && npm test --silent && npm run -s build)

step "end-to-end tests with socket.io-client (SQLite)"
cargo build -q --locked -p chat-server
npm_install e2e
export CHAT_SERVER_BIN="$CARGO_TARGET_DIR/debug/chat-server"
(cd e2e && E2E_DB=sqlite npm test --silent)

if [ "$PG_OK" -eq 1 ]; then
  step "end-to-end tests with socket.io-client (PostgreSQL, including three instances behind nginx)"
  (cd e2e && E2E_DB=postgres npm test --silent)
fi

step "browser tests (Chromium driven by playwright-core)"
(cd e2e && npm run -s test:browser)

if [ ${#skipped[@]} -gt 0 ]; then
  printf '\nSKIPPED:\n'
  printf ' - %s\n' "${skipped[@]}"
fi
printf '\nAll tests passed.\n'
