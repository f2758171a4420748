#!/usr/bin/env bash
# Builds the web client and the server, then runs the server on the embedded
# default: a SQLite file in ./data, the in-process adapter, the client served
# at http://127.0.0.1:3000 (override with PORT, HOST, DATABASE_URL, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat-backend/target}"

(cd client && npm ci --no-audit --no-fund --loglevel=error && npm run -s build)
cargo build --release --locked -p chat-server
exec "$CARGO_TARGET_DIR/release/chat-server" "$@"
