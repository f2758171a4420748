#!/usr/bin/env bash
# Many concurrent authenticated Socket.IO connections over several chat-server instances on one
# machine: N instances on a fresh PostgreSQL database and Redis (a key prefix of the run's own),
# one `chat-bench idle` generator per instance holding its share of the connections, all at once.
#
# A process may hold only so many open files (here 20,000), so neither one server nor one
# generator can hold 100,000 sockets: each instance and each generator holds TOTAL/N of them.
# While the generators hold their connections, the script samples the sum of the instances'
# VmRSS and counts the established TCP connections on the instances' ports (server side, peers
# 127.0.0.2 and up, i.e. the generators' WebSockets; REST clients come from 127.0.0.1), so the
# peak count shows how many were open at the same time.
#
# Prints one summary line on stdout (progress and per-instance lines on stderr) and writes
# summary.json, the generators' reports (gen-<i>.json), the samples and the logs to --out-dir.
# Stops what it started (by PID: SIGTERM, SIGKILL after 5 s), deletes its Redis keys and drops
# its database, also on error or Ctrl-C.
#
# Usage: chat-bench/scripts/connections.sh [--total 100000] [--instances 6] [--users 50]
#          [--settle 60] [--connect-concurrency 16] [--connect-timeout 30]
#          [--gen-timeout 900] [--db-pool CONNECTIONS] [--out-dir DIR]
# --db-pool is each instance's DATABASE_MAX_CONNECTIONS, by default 80 / instances (at most 32),
# so that the instances together stay under PostgreSQL's max_connections (100 by default).
# Environment: CARGO_TARGET_DIR (binaries in $CARGO_TARGET_DIR/release, default
# target in the workspace), PG_URL (postgres://postgres@127.0.0.1:5432), REDIS_URL
# (redis://127.0.0.1:6379).
set -euo pipefail

TOTAL=100000
INSTANCES=6
USERS=50
SETTLE=60
CONNECT_CONCURRENCY=16
CONNECT_TIMEOUT=30
GEN_TIMEOUT=900
DB_POOL=
OUT_DIR=
# Most connections one chat-bench idle process opens (MAX_IDLE_CONNECTIONS in src/cli.rs).
MAX_PER_PROCESS=18000
# Open files a process needs besides its connections (generator: RESERVED_FILES in src/cli.rs;
# server: database pool, Redis, listener, log).
RESERVED_FILES=200

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --total | -k) TOTAL=$2; shift 2 ;;
        --instances | -n) INSTANCES=$2; shift 2 ;;
        --users) USERS=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        --connect-concurrency) CONNECT_CONCURRENCY=$2; shift 2 ;;
        --connect-timeout) CONNECT_TIMEOUT=$2; shift 2 ;;
        --gen-timeout) GEN_TIMEOUT=$2; shift 2 ;;
        --db-pool) DB_POOL=$2; shift 2 ;;
        --out-dir) OUT_DIR=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "connections.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

log() { echo "connections.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

for n in TOTAL INSTANCES USERS CONNECT_CONCURRENCY GEN_TIMEOUT; do
    [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer, got '${!n}'"
done
[[ $SETTLE =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--settle must be a number of seconds"
[[ $CONNECT_TIMEOUT =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--connect-timeout must be a number of seconds"
((INSTANCES <= 64)) || die "--instances: at most 64"
if [[ -z $DB_POOL ]]; then
    DB_POOL=$((80 / INSTANCES))
    ((DB_POOL <= 32)) || DB_POOL=32
    ((DB_POOL >= 2)) || DB_POOL=2
fi
[[ $DB_POOL =~ ^[1-9][0-9]*$ ]] || die "--db-pool must be a positive integer"
PER=$(((TOTAL + INSTANCES - 1) / INSTANCES))
((PER <= MAX_PER_PROCESS)) ||
    die "$TOTAL connections over $INSTANCES instances is $PER per generator, at most $MAX_PER_PROCESS: add instances"

TARGET_DIR=${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/target}
BIN=$TARGET_DIR/release
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
for b in chat-server chat-bench; do
    [[ -x $BIN/$b ]] || die "$BIN/$b not found: cargo build --release -p chat-server -p chat-bench"
done
for tool in psql redis-cli ss curl jq timeout; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done

# Every server and generator holds PER sockets plus a few files: raise the soft open-file limit
# to the hard one (children inherit it) and check it is enough.
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]]; then
    ulimit -Sn $((PER + RESERVED_FILES)) 2>/dev/null || true
else
    ulimit -Sn "$hard"
fi
soft=$(ulimit -Sn)
if [[ $soft != unlimited ]] && ((PER + RESERVED_FILES > soft)); then
    die "$PER connections per process need about $((PER + RESERVED_FILES)) open files, the limit is $soft (hard $hard): add instances"
fi

RUN_ID=$(date +%s)$$
DB_NAME=chat_conn_$RUN_ID
REDIS_PREFIX=cn-$RUN_ID
if [[ -z $OUT_DIR ]]; then
    OUT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/connections-$RUN_ID.XXXX")
else
    mkdir -p "$OUT_DIR"
fi
OUT_DIR=$(cd "$OUT_DIR" && pwd -P)
# Copies of the binaries, so a build replacing them during the run changes nothing.
mkdir -p "$OUT_DIR/bin"
cp "$BIN/chat-server" "$BIN/chat-bench" "$OUT_DIR/bin/"
SERVER_BIN=$OUT_DIR/bin/chat-server
BENCH_BIN=$OUT_DIR/bin/chat-bench
JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n') # 64 hex characters
((${#JWT_SECRET} >= 32)) || die "could not make a JWT secret"

SERVER_PIDS=()
PORTS=()
GEN_PIDS=()
DB_CREATED=0

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# True while $1 is still the chat-server this script started (not a reused PID).
our_server() {
    alive "$1" && [[ $(readlink "/proc/$1/exe" 2>/dev/null) == "$SERVER_BIN" ]]
}

# Sends signal $2 to each PID for which test $1 holds, waits up to $3 s for them to end, then
# SIGKILLs what is left. Only PIDs this script started are passed.
stop_all() {
    local ours=$1 signal=$2 grace=$3 pid deadline
    shift 3
    for pid in "$@"; do
        if "$ours" "$pid"; then kill "-$signal" "$pid" 2>/dev/null || true; fi
    done
    deadline=$((SECONDS + grace))
    for pid in "$@"; do
        while "$ours" "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        if "$ours" "$pid"; then
            log "process $pid did not stop within $grace s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

stop_servers() {
    stop_all our_server TERM 5 "${SERVER_PIDS[@]}"
    SERVER_PIDS=()
}

# Each generator PID is the `timeout` wrapping one chat-bench; it passes SIGINT on (chat-bench
# then closes its sockets and exits).
stop_generators() {
    stop_all alive INT 10 "${GEN_PIDS[@]}"
    GEN_PIDS=()
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    ((${#GEN_PIDS[@]} == 0)) || stop_generators
    if ((${#SERVER_PIDS[@]} > 0)); then
        log "stopping ${#SERVER_PIDS[@]} instance(s)"
        stop_servers
    fi
    local pattern n keys=0
    for pattern in "{$REDIS_PREFIX}:*" "$REDIS_PREFIX:*"; do
        n=$(timeout 60 redis-cli -u "$REDIS_URL" --scan --pattern "$pattern" |
            timeout 60 xargs -r -n 500 redis-cli -u "$REDIS_URL" DEL | awk '{s += $1} END {print s + 0}')
        keys=$((keys + ${n:-0}))
    done
    log "deleted $keys Redis keys of prefix $REDIS_PREFIX"
    if ((DB_CREATED)); then
        if timeout 60 psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null; then
            log "dropped database $DB_NAME"
        else
            log "could not drop database $DB_NAME"
        fi
    fi
    rm -rf "${OUT_DIR:?}"/data-* "${OUT_DIR:?}/bin"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

timeout 10 redis-cli -u "$REDIS_URL" ping | grep -q PONG || die "Redis at $REDIS_URL does not answer"
timeout 30 psql "$PG_URL/postgres" -qAtc "CREATE DATABASE $DB_NAME" >/dev/null ||
    die "cannot create database $DB_NAME at $PG_URL"
DB_CREATED=1
log "run $RUN_ID: database $DB_NAME, Redis prefix $REDIS_PREFIX, output in $OUT_DIR"

# A free TCP port of 127.0.0.1 below the ephemeral range (so no outgoing connection takes it).
free_port() {
    local port
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 12000))
        [[ " ${PORTS[*]} " == *" $port "* ]] && continue
        if [[ -z $(ss -Hltn "sport = :$port") ]]; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

start_instance() {
    local i=$1 port
    port=$(free_port) || die "no free port found"
    mkdir -p "$OUT_DIR/data-$i"
    env HOST=127.0.0.1 PORT="$port" \
        DATABASE_URL="$PG_URL/$DB_NAME" DATABASE_MAX_CONNECTIONS="$DB_POOL" REDIS_URL="$REDIS_URL" REDIS_PREFIX="$REDIS_PREFIX" \
        JWT_SECRET="$JWT_SECRET" DATA_DIR="$OUT_DIR/data-$i" CLIENT_DIR="$OUT_DIR/data-$i/no-client" \
        RATE_LIMIT_PER_SECOND=0 AUTH_RATE_LIMIT_PER_MINUTE=0 \
        SOCKET_EVENTS_PER_SECOND=100000 SOCKET_EVENTS_BURST=100000 HANDSHAKES_PER_MINUTE=0 GROUPS_PER_HOUR=0 SOCKETS_PER_USER=0 METRICS_ADDR= RUST_LOG=warn \
        "$SERVER_BIN" </dev/null >"$OUT_DIR/server-$i.log" 2>&1 &
    SERVER_PIDS+=("$!")
    PORTS+=("$port")
}

wait_healthy() {
    local i=$1 deadline=$((SECONDS + 60))
    until curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:${PORTS[$i]}/health" 2>/dev/null; do
        if ! alive "${SERVER_PIDS[$i]}"; then
            tail -n 20 "$OUT_DIR/server-$i.log" >&2
            die "instance $i exited at start"
        fi
        if ((SECONDS > deadline)); then
            tail -n 20 "$OUT_DIR/server-$i.log" >&2
            die "instance $i did not answer /health within 60 s"
        fi
        sleep 0.2
    done
}

# The first instance applies the migrations alone; then the others.
start_instance 0
wait_healthy 0
for ((i = 1; i < INSTANCES; i++)); do start_instance "$i"; done
for ((i = 1; i < INSTANCES; i++)); do wait_healthy "$i"; done
log "$INSTANCES instance(s) up: ports ${PORTS[*]}, PIDs ${SERVER_PIDS[*]}, database pools of $DB_POOL"

rss_sum() {
    local pid kib sum=0
    for pid in "${SERVER_PIDS[@]}"; do
        kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || kib=
        [[ -n $kib ]] || { echo "?"; return; }
        sum=$((sum + kib))
    done
    echo "$sum"
}

# Established connections accepted by the instances from the generators' source addresses.
SPORTS=$(printf 'sport = :%s or ' "${PORTS[@]}")
SPORTS=${SPORTS% or }
established() {
    ss -Htn state established "( $SPORTS ) and not dst 127.0.0.1" | wc -l
}

rss_idle=$(rss_sum)
t0=$SECONDS
for ((i = 0; i < INSTANCES; i++)); do
    k=$((TOTAL / INSTANCES + (i < TOTAL % INSTANCES ? 1 : 0)))
    timeout -s INT -k 15 "$GEN_TIMEOUT" "$BENCH_BIN" \
        --url "http://127.0.0.1:${PORTS[$i]}" --server-pid "${SERVER_PIDS[$i]}" \
        --connect-concurrency "$CONNECT_CONCURRENCY" --connect-timeout "$CONNECT_TIMEOUT" \
        --out "$OUT_DIR/gen-$i.json" \
        idle -k "$k" --users "$USERS" --settle "$SETTLE" \
        </dev/null >"$OUT_DIR/gen-$i.out" 2>"$OUT_DIR/gen-$i.err" &
    GEN_PIDS+=("$!")
done
log "$INSTANCES generator(s) started: $TOTAL connections, $USERS users and --settle $SETTLE each"

# Sample while any generator runs (each is bounded by --gen-timeout).
peak=0 peak_rss="?" peak_t=0 ramp_start=0 ramp_end='' full_last=''
printf 't_s\testablished\tserver_rss_kib\n' >"$OUT_DIR/samples.tsv"
last_report=-10
while :; do
    running=0
    for pid in "${GEN_PIDS[@]}"; do alive "$pid" && running=$((running + 1)); done
    ((running > 0)) || break
    t=$((SECONDS - t0))
    est=$(established)
    rss=$(rss_sum)
    printf '%s\t%s\t%s\n' "$t" "$est" "$rss" >>"$OUT_DIR/samples.tsv"
    ((est > 0)) || ramp_start=$t
    if ((est > peak)); then
        peak=$est peak_rss=$rss peak_t=$t
    fi
    [[ -n $ramp_end ]] || ((est < TOTAL)) || ramp_end=$t
    ((est < TOTAL)) || full_last=$t
    if ((t - last_report >= 10)); then
        log "t=${t}s: $est established, server RSS $rss KiB, $running generator(s) running"
        last_report=$t
    fi
    sleep 2
done

gen_failed=0
for ((i = 0; i < INSTANCES; i++)); do
    if wait "${GEN_PIDS[$i]}"; then :; else
        rc=$?
        gen_failed=$((gen_failed + 1))
        log "generator $i failed (exit $rc): $(tail -n 3 "$OUT_DIR/gen-$i.err" | tr '\n' ' ')"
    fi
done
GEN_PIDS=()
wall=$((SECONDS - t0))

# Per-instance figures from the generators' reports, and their sums.
reports=()
for ((i = 0; i < INSTANCES; i++)); do
    f=$OUT_DIR/gen-$i.json
    if [[ -s $f ]]; then
        reports+=("$f")
        jq -r --arg i "$i" '.results as $r | "instance \($i): \($r.setup.connections - $r.setup.connect_failures)/\($r.setup.connections) opened in \($r.setup.connect_s) s = \($r.setup.connects_per_s) connects/s, \($r.alive_at_end) alive at end, server RSS \($r.server_rss_before_kib) -> \($r.server_rss_after_kib) KiB = \($r.server_kib_per_connection) KiB/connection, generator \($r.bench_kib_per_connection) KiB/connection\(if $r.first_error then ", first error: \($r.first_error)" else "" end)"' "$f" >&2
    fi
done
((${#reports[@]} > 0)) || die "no generator wrote a report (see $OUT_DIR/gen-*.err)"

jq -s \
    --argjson total "$TOTAL" --argjson instances "$INSTANCES" --argjson users "$USERS" \
    --argjson settle "$SETTLE" --argjson peak "$peak" --arg peak_rss "$peak_rss" \
    --argjson peak_t "$peak_t" --arg rss_idle "$rss_idle" --argjson wall "$wall" \
    --argjson ramp_start "$ramp_start" --arg ramp_end "$ramp_end" --arg full_last "$full_last" \
    --argjson gen_failed "$gen_failed" --arg out_dir "$OUT_DIR" '
    def r1: (. * 10 | round) / 10;
    def sum(f): map(f) | add;
    (map(.results)) as $r
    | ($r | sum(.setup.connections - .setup.connect_failures)) as $opened
    | ($r | sum(.server_rss_after_kib - .server_rss_before_kib)) as $grew
    | {
        total_asked: $total,
        instances: $instances,
        reports: length,
        generators_failed: $gen_failed,
        users_per_generator: $users,
        settle_s: $settle,
        opened: $opened,
        connect_failures: ($r | sum(.setup.connect_failures)),
        alive_at_end: ($r | sum(.alive_at_end)),
        peak_established: $peak,
        peak_at_s: $peak_t,
        server_rss_idle_kib: ($rss_idle | tonumber? // null),
        server_rss_at_peak_kib: ($peak_rss | tonumber? // null),
        server_rss_before_kib: ($r | sum(.server_rss_before_kib)),
        server_rss_after_kib: ($r | sum(.server_rss_after_kib)),
        server_kib_per_connection: (if $opened > 0 then $grew / $opened | r1 else null end),
        server_kib_per_connection_by_instance: ($r | map(.server_kib_per_connection)),
        generator_kib_per_connection: (if $opened > 0 then ($r | sum(.bench_kib_per_connection * (.setup.connections - .setup.connect_failures))) / $opened | r1 else null end),
        connects_per_s_sum: ($r | sum(.setup.connects_per_s) | round),
        connect_s_max: ($r | map(.setup.connect_s) | max),
        ramp_s: (if $ramp_end == "" then null else ($ramp_end | tonumber) - $ramp_start end),
        connects_per_s_wall: (if $ramp_end == "" or ($ramp_end | tonumber) <= $ramp_start then null
            else $total / (($ramp_end | tonumber) - $ramp_start) | round end),
        all_held_s: (if $ramp_end == "" then null else ($full_last | tonumber) - ($ramp_end | tonumber) end),
        wall_s: $wall,
        first_errors: ($r | map(.first_error) | map(select(. != null)) | .[:3]),
        out_dir: $out_dir
      }' "${reports[@]}" >"$OUT_DIR/summary.json"

jq -r '"connections: chat-server x\(.instances) (PostgreSQL + Redis), \(.opened)/\(.total_asked) opened (\(.connect_failures) failed), \(.alive_at_end) alive at end, \(.peak_established) established at once at peak (server side); server RSS \(.server_rss_at_peak_kib / 1024 | round) MiB at peak, +\(.server_rss_after_kib - .server_rss_before_kib | . / 1024 | round) MiB for the connections = \(.server_kib_per_connection) KiB/connection (by instance: \(.server_kib_per_connection_by_instance | map(tostring) | join(", "))); \(.connects_per_s_sum) connects/s (sum over the \(.instances) generators in parallel, slowest \(.connect_s_max) s; \(if .ramp_s then "0 -> \(.total_asked) established in at most \(.ramp_s) s by the samples = at least \(.connects_per_s_wall)/s, all held at once for at least \(.all_held_s) s" else "the samples never saw all \(.total_asked) at once" end)); generator \(.generator_kib_per_connection) KiB/connection"' \
    "$OUT_DIR/summary.json"

if ((gen_failed > 0 || ${#reports[@]} < INSTANCES)); then
    die "$gen_failed generator(s) failed, ${#reports[@]}/$INSTANCES reports"
fi
