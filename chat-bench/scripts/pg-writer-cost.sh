#!/usr/bin/env bash
# PostgreSQL's time per stored message during one chat-bench run.
#
#   pg-writer-cost.sh DATABASE chat-bench-args...
#
# Two figures, divided by the messages stored during the run (counted from the moment chat-bench
# starts connecting its sockets: nothing is sent before that):
# - CPU: the CPU time of every PostgreSQL process (backends, WAL writer, checkpointer,
#   autovacuum; those that exited are counted through the postmaster), from /proc, from the
#   moment chat-bench starts sending to its end (the sockets' connecting is left out);
# - the statement log: with LOG_STATEMENTS=1 (the default), statement logging is turned on for
#   DATABASE (new connections only: start the server after this, as --spawn-server does) and
#   every statement's durations from the connecting on are summed from the log
#   (pg-statements.py). A duration is wall time: it includes waiting for a core and for the
#   disk, and writing the log costs CPU itself, so take the CPU figure from a run with
#   LOG_STATEMENTS=0.
# It also prints how many updates of `conversations` were HOT. Example:
#
#   pg-writer-cost.sh chat_bench $B/chat-bench --spawn-server \
#     --database-url postgres://postgres@127.0.0.1:5432/chat_bench \
#     groups -c 2000 -m 2 --users 1000 -x 15000 -t 3
#
# PGLOG (default /var/log/postgresql/postgresql-15-main.log) and PSQL (default
# `psql -h 127.0.0.1 -U postgres`) can be overridden. PostgreSQL must run on this machine, as a
# user of its own (postgres).
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,25p' "$0"
  exit 2
fi
db=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
log=${PGLOG:-/var/log/postgresql/postgresql-15-main.log}
psql_cmd=${PSQL:-psql -h 127.0.0.1 -U postgres}
log_statements=${LOG_STATEMENTS:-1}
state=$(mktemp -d)
trap 'rm -rf "$state"; $psql_cmd -qtA -c "ALTER DATABASE $db RESET log_min_duration_statement" >/dev/null' EXIT

sql() { $psql_cmd -qtA -d "$db" -c "$1 /* pg-writer-cost */"; }
# CPU ticks of every PostgreSQL process, and of the exited ones through the postmaster.
# One awk over /proc, so that the reading is quick next to the run.
pg_ticks() {
  local postmaster
  postmaster=$(pgrep -o -u postgres -x postgres)
  # shellcheck disable=SC2046
  awk -v pm="/proc/$postmaster/stat" '{
      sub(/^.*\) /, "")
      t += $12 + $13
      if (FILENAME == pm) t += $14 + $15
    } END { print t + 0 }' $(pgrep -u postgres -x postgres | sed 's|.*|/proc/&/stat|') 2>/dev/null
}
counts() {
  sql "SELECT (SELECT count(*) FROM messages), n_tup_upd, n_tup_hot_upd \
       FROM pg_stat_user_tables WHERE relname = 'conversations'"
}

if [[ $log_statements == 1 ]]; then
  $psql_cmd -qtA -c "ALTER DATABASE $db SET log_min_duration_statement = 0" >/dev/null
fi

# chat-bench's progress goes to stderr; the line announcing the connections marks the start.
"$@" 2> >(while IFS= read -r line; do
  printf '%s\n' "$line" >&2
  if [[ ! -e $state/offset && $line == "chat-bench: connecting"* ]]; then
    stat -c %s "$log" >"$state/offset.tmp"
    counts >"$state/before"
    mv "$state/offset.tmp" "$state/offset"
  fi
  if [[ ! -e $state/ticks && $line == "chat-bench: sending"* ]]; then
    pg_ticks >"$state/ticks.tmp"
    mv "$state/ticks.tmp" "$state/ticks"
  fi
done)
# The process substitution may still be writing its files.
for _ in $(seq 50); do [[ -e $state/ticks ]] && break; sleep 0.1; done
if [[ ! -e $state/ticks ]]; then
  echo "pg-writer-cost: chat-bench never started sending" >&2
  exit 1
fi
# Read before autovacuum starts on the rows just written.
ticks=$(($(pg_ticks) - $(cat "$state/ticks")))
sleep 2 # the statistics collector reports with a delay
IFS='|' read -r m0 u0 h0 <"$state/before"
IFS='|' read -r m1 u1 h1 < <(counts)
stored=$((m1 - m0))
echo "stored messages: $stored; conversations updated: $((u1 - u0)), of them HOT: $((h1 - h0))"
hz=$(getconf CLK_TCK)
awk -v t="$ticks" -v hz="$hz" -v n="$stored" 'BEGIN {
  printf "PostgreSQL CPU: %.2f s, %.1f us per stored message\n", t / hz, n ? t / hz * 1e6 / n : 0 }'
[[ $log_statements == 1 ]] || exit 0
python3 "$here/pg-statements.py" --log "$log" --from "$(cat "$state/offset")" --database "$db" \
  --messages "$stored"
