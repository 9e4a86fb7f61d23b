#!/bin/bash
# `make bench`: every benchmark of BENCHMARKS.md in one bounded run (< 10 minutes), with the
# references measured in the same run, then the report (scripts/bench_report.py).
#
# Runs in a private network namespace (unshare -n, as root) so that its loopback ports, port
# range and backlog settings touch nobody else; falls back to the host's loopback otherwise.
# The broker side (every broker process, or the reference server) is pinned to BROKER_CPUS,
# the load side to LOAD_CPUS, the same for the broker and for each reference.
# Before each measurement it waits (bounded) for the machine to be idle and records the level.
#
# Environment: BUILD (build), OUT (bench-out), BENCH_RUNS (3), BENCH_SECONDS (4),
# BROKER_CPUS (0), LOAD_CPUS (1), HOLDS ("10000 50000 100000"), IDLE_WAIT_MAX (15 s),
# REFERENCE_BROKER (a shell command starting an upstream-compatible broker with plain HTTP on
# 127.0.0.1:$PORT; "{port}" in it is replaced too; unset: the reference is skipped),
# REFERENCE_BROKER_PATTERN (the relay pattern it allows; default snowflake.torproject.net$),
# BENCH_ONLY (a subset of the sections at the end, e.g. "held_polls"), HOLD_FRONTENDS (8).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
if [ -z "${SFB_BENCH_INNER:-}" ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
    exec unshare -n env SFB_BENCH_INNER=netns "$0" "$@"
fi
export SFB_BENCH_INNER=${SFB_BENCH_INNER:-host}

BUILD=${BUILD:-build}
OUT=${OUT:-bench-out}
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-4}
BROKER_CPUS=${BROKER_CPUS:-0}
LOAD_CPUS=${LOAD_CPUS:-1}
HOLDS=${HOLDS:-10000 50000 100000}
IDLE_WAIT_MAX=${IDLE_WAIT_MAX:-15}
PATTERN='snowflake.torproject.net$'
PORT=8080
PROM=127.0.0.1:9090
L=$BUILD/tests/load
BODIES=tests/load/bodies
OFFER="--offer-file $BODIES/client-offer.txt"
ANSWER="--answer-file $BODIES/proxy-answer.txt"
RUN=$(mktemp -d /tmp/sfb-bench.XXXXXX) # short: ipc:// paths must fit in 107 bytes
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
T_START=$(date +%s)
PIDS=""

log() { echo "bench: $*" >&2; }

cleanup() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    PIDS=""
}
trap 'cleanup; rm -rf "$RUN"' EXIT
trap 'exit 130' INT TERM

# ---- the machine ------------------------------------------------------------------------
setup_net() {
    if [ "$SFB_BENCH_INNER" = netns ]; then
        ip link set lo up
        # per-namespace knobs: 64k ports per source address, long accept queues
        sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
        sysctl -qw net.core.somaxconn=65535
        sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
    else
        PORT=18080
        PROM=127.0.0.1:19090
        log "not root or no unshare: using the host's loopback (ports $PORT, ${PROM#*:})"
    fi
    # 100k held polls: one fd per connection on each side (sfb-load and the frontend)
    ulimit -Hn 1048576 2>/dev/null || true
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# Print the CPU idle percentage over 2 s, waiting (up to IDLE_WAIT_MAX s) for >= 90 %.
wait_idle() {
    local start idle t0 i0 t1 i1
    start=$(date +%s)
    while :; do
        read -r t0 i0 < <(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
        sleep 2
        read -r t1 i1 < <(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
        idle=$(( (i1 - i0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1) ))
        if [ "$idle" -ge 90 ] || [ $(( $(date +%s) - start )) -ge "$IDLE_WAIT_MAX" ]; then
            echo "$idle"
            return
        fi
    done
}

# Sum utime+stime (clock ticks) of the given processes, all threads.
cpu_ticks() {
    local sum=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && sum=$(( sum + $(awk '{print $14+$15}' "/proc/$p/stat") ))
    done
    echo $sum
}

wait_port() {
    for _ in $(seq 200); do
        ss -Hlnt "sport = :$1" | grep -q . && return 0
        sleep 0.05
    done
    log "nothing listens on port $1"
    return 1
}

wait_file() {
    for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
    log "$1 did not appear"
    return 1
}

# ---- servers ----------------------------------------------------------------------------
# start_broker NFRONTENDS PROXY_TIMEOUT: metricsd, matcher and N frontends (--reuseport).
start_broker() {
    local n=$1 hold=$2 i
    rm -rf "$RUN/state" && mkdir -p "$RUN/state"
    taskset -c "$BROKER_CPUS" "$BUILD/metricsd/snowflake-metricsd" --events "ipc://$RUN/ev" \
        --listen "ipc://$RUN/md" --matcher "ipc://$RUN/mt" --metrics-log "$RUN/metrics.log" \
        --state-dir "$RUN/state" --prometheus-addr "$PROM" 2>>"$OUT/metricsd.log" &
    PIDS="$PIDS $!"
    taskset -c "$BROKER_CPUS" "$BUILD/matcher/snowflake-matcher" --router "ipc://$RUN/mt" \
        --pub "ipc://$RUN/ev" --allowed-relay-pattern "$PATTERN" --proxy-timeout "$hold" \
        --state-dir "$RUN/state" 2>>"$OUT/matcher.log" &
    PIDS="$PIDS $!"
    wait_file "$RUN/mt"
    # n frontends sharing PORT (--reuseport), or with FE_PORTS one frontend per port listed
    local ports=${FE_PORTS:-} p
    [ -n "$ports" ] || ports=$(for i in $(seq "$n"); do echo "$PORT"; done)
    for p in $ports; do
        taskset -c "$BROKER_CPUS" "$BUILD/frontend/snowflake-frontend" --addr "127.0.0.1:$p" \
            --disable-tls --reuseport --matcher "ipc://$RUN/mt" --metricsd "ipc://$RUN/md" \
            --proxy-timeout "$hold" 2>>"$OUT/frontend.log" &
        PIDS="$PIDS $!"
    done
    for p in $ports; do wait_port "$p"; done
    sleep 0.3
}

start_hello() {
    taskset -c "$BROKER_CPUS" "$L/sfb-hello" "$PORT" --reuseport &
    PIDS="$PIDS $!"
    wait_port "$PORT"
}

start_reference() {
    local cmd=${REFERENCE_BROKER//\{port\}/$PORT}
    PORT=$PORT taskset -c "$BROKER_CPUS" sh -c "exec $cmd" >>"$OUT/reference.log" 2>&1 &
    PIDS="$PIDS $!"
    wait_port "$PORT"
    sleep 0.5
}

# ---- measurements -----------------------------------------------------------------------
# measure NAME RUN SFB-LOAD-ARGS...: one run, appended to $RESULTS with idle level and the
# server CPU per response (all processes in $PIDS and their threads).
measure() {
    local name=$1 run=$2 idle t0 t1 json
    shift 2
    idle=$(wait_idle)
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $PIDS)
    json=$(taskset -c "$LOAD_CPUS" "$L/sfb-load" --ports "$PORT" "$@")
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $PIDS)
    echo "$json" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read()); name, run, idle, ticks, tck, cmd = sys.argv[1:7]
r.update(name=name, run=int(run), idle_pct=int(idle), server_ticks=int(ticks))
r["server_cpu_us_per_req"] = round(int(ticks) * 1e6 / int(tck) / max(r["total"], 1), 1)
r["cmd"] = cmd
print(json.dumps(r))' "$name" "$run" "$idle" $((t1 - t0)) "$(getconf CLK_TCK)" \
        "sfb-load --ports $PORT $*" >>"$RESULTS"
    log "$name #$run: $(tail -1 "$RESULTS" | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("%.0f req/s, p99 %.0f us, errors %d, %s us CPU/req, idle %d%%" % (r["rps"], r["p99_us"],
      r["errors"], r["server_cpu_us_per_req"], r["idle_pct"]))')"
}

repeat() { # repeat NAME SFB-LOAD-ARGS...
    local name=$1 i
    shift
    for i in $(seq "$RUNS"); do measure "$name" "$i" "$@"; done
}

record() { # record JSON NAME RUN IDLE CMD: tag a tool's JSON line and append it
    python3 -c '
import json, sys
r = json.loads(sys.argv[1]); r.update(name=sys.argv[2], run=int(sys.argv[3]),
idle_pct=int(sys.argv[4]), cmd=sys.argv[5]); print(json.dumps(r))' "$@" >>"$RESULTS"
    log "$2 #$3: $1"
}

http_references() {
    log "reference: h2o hello world (GET /hello)"
    start_hello
    repeat hello --scenario get --path /hello --conns 50 --duration "$SECS"
    if command -v wrk >/dev/null; then
        local idle
        idle=$(wait_idle)
        local w
        w=$(taskset -c "$LOAD_CPUS" wrk -t1 -c50 -d"${SECS}s" "http://127.0.0.1:$PORT/hello" |
            awk '/Requests\/sec/{print $2}')
        record "{\"rps\":$w}" wrk-hello 1 "$idle" "wrk -t1 -c50 -d${SECS}s http://127.0.0.1:$PORT/hello"
    fi
    cleanup
}

http_broker() {
    log "broker, 1 frontend, --proxy-timeout 1ms (the shortest hold the flags allow)"
    start_broker 1 1ms
    repeat proxy-idle --scenario proxy --conns 50 --duration "$SECS"
    repeat proxy-refused --scenario proxy --pattern '127.0.0.1$' --conns 50 --duration "$SECS"
    # shellcheck disable=SC2086
    repeat client-noproxy --scenario client $OFFER --conns 50 --duration "$SECS"
    cleanup
    local n
    for n in 2 4; do
        log "broker, $n frontends (--reuseport)"
        start_broker "$n" 1ms
        # shellcheck disable=SC2086
        repeat "client-noproxy-fe$n" --scenario client $OFFER --conns 50 --duration "$SECS"
        cleanup
    done
    log "broker, default hold: full rendezvous"
    start_broker 1 10s
    # shellcheck disable=SC2086
    repeat rendezvous --scenario rendezvous $OFFER $ANSWER --proxies 200 --clients 50 \
        --duration "$SECS"
    cleanup
}

http_reference_broker() {
    if [ -z "${REFERENCE_BROKER:-}" ]; then
        log "REFERENCE_BROKER unset: no external broker measured"
        echo '{"name":"reference-skipped"}' >>"$RESULTS"
        return
    fi
    local pat=${REFERENCE_BROKER_PATTERN:-$PATTERN}
    log "reference broker: $REFERENCE_BROKER"
    start_reference
    repeat ref-proxy-refused --scenario proxy --pattern '127.0.0.1$' --conns 50 --duration "$SECS"
    # shellcheck disable=SC2086
    repeat ref-client-noproxy --scenario client $OFFER --conns 50 --duration "$SECS"
    # shellcheck disable=SC2086
    repeat ref-rendezvous --scenario rendezvous $OFFER $ANSWER --pattern "$pat" --proxies 200 \
        --clients 50 --duration "$SECS"
    cleanup
}

# RLIMIT_NOFILE cannot be raised past the hard limit here (no CAP_SYS_RESOURCE in this
# container: 20000), so N held polls are spread over HOLD_FRONTENDS frontends on their own
# ports and over ceil(N / 16000) sfb-load processes; every sfb-load samples the broker's RSS
# once /debug shows all N pooled.
held_polls() {
    local n i nfe=${HOLD_FRONTENDS:-8} nload share pids ports idle lpids out
    for n in $HOLDS; do
        ports=$(seq $((PORT + 1)) $((PORT + nfe)) | tr '\n' ' ')
        log "broker, $nfe frontends (ports ${ports% }), $n held proxy polls"
        FE_PORTS=$ports start_broker "$nfe" 20s
        pids=$(echo $PIDS | tr ' ' ',')
        nload=$(( (n + 15999) / 16000 ))
        idle=$(wait_idle)
        lpids=""
        for i in $(seq "$nload"); do
            share=$(( n / nload + (i <= n % nload ? 1 : 0) ))
            taskset -c "$LOAD_CPUS" "$L/sfb-load" --ports "$(echo $ports | tr ' ' ,)" \
                --scenario hold --hold "$share" --debug-expect "$n" --src 4 \
                --connect-rate $((25000 / nload)) --duration 90 --rss-pids "$pids" \
                >"$RUN/hold.$i.json" &
            lpids="$lpids $!"
        done
        for i in $lpids; do wait "$i" || true; done
        out=$(cat "$RUN"/hold.*.json | python3 -c '
import json, sys
rs = [json.loads(l) for l in sys.stdin if l.strip()]
n, idle, nfe, cmd = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
m = dict(rs[0]); m["processes"] = len(rs); m["frontends"] = nfe
for k in ("held", "early", "errors", "non2xx", "total"):
    m[k] = sum(r[k] for r in rs)
for k in m["bodies"]:
    m["bodies"][k] = sum(r["bodies"][k] for r in rs)
for k in m["conn_errors"]:
    m["conn_errors"][k] = sum(r["conn_errors"][k] for r in rs)
m.update(hold=n, debug_held=min(r["debug_held"] for r in rs),
         rss_before_kb=min(r["rss_before_kb"] for r in rs),
         rss_held_kb=max(r["rss_held_kb"] for r in rs), idle_pct=idle, cmd=cmd)
m["errors"] += max(0, n - m["bodies"]["no_match"] - m["errors"])  # unanswered
m["bytes_per_held"] = round((m["rss_held_kb"] - m["rss_before_kb"]) * 1024 / n)
print(json.dumps(m))' "$n" "$idle" "$nfe" "$nload × sfb-load --scenario hold --hold $((n / nload)) --debug-expect $n --src 4 --ports (the $nfe frontend ports)")
        echo "$out" | sed 's/"name":[^,]*,//' | python3 -c '
import json, sys; r = json.load(sys.stdin); r["name"] = sys.argv[1]; print(json.dumps(r))' \
            "hold-$n" >>"$RESULTS"
        log "hold-$n: $(tail -1 "$RESULTS" | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("held %d (debug %d), RSS %d -> %d kB, %d B/poll, no match %d, errors %d" % (r["held"],
      r["debug_held"], r["rss_before_kb"], r["rss_held_kb"], r["bytes_per_held"],
      r["bodies"]["no_match"], r["errors"]))')"
        rm -f "$RUN"/hold.*.json
        cleanup
    done
}

matcher_alone() {
    log "matcher alone over ZeroMQ"
    rm -rf "$RUN/state" && mkdir -p "$RUN/state"
    taskset -c "$BROKER_CPUS" "$BUILD/matcher/snowflake-matcher" --router "ipc://$RUN/mt" \
        --pub "ipc://$RUN/ev" --allowed-relay-pattern "$PATTERN" --state-dir "$RUN/state" \
        2>>"$OUT/matcher.log" &
    PIDS="$PIDS $!"
    wait_file "$RUN/mt"
    local i idle json cmd best=""
    for i in $(seq "$RUNS"); do
        idle=$(wait_idle)
        cmd="sfb-mtbench --endpoint ipc://RUN/mt --duration $SECS --window 256"
        json=$(taskset -c "$LOAD_CPUS" "$L/sfb-mtbench" --endpoint "ipc://$RUN/mt" \
            --duration "$SECS" --window 256)
        record "$json" matcher "$i" "$idle" "$cmd"
    done
    # half of the median rendezvous rate, for the hop latency at half load
    local half
    half=$(python3 -c '
import json, statistics, sys
r = [json.loads(l) for l in open(sys.argv[1]) if "\"matcher\"" in l and "\"bench\"" in l]
print(int(statistics.median(x["rendezvous_per_s"] for x in r) / 2))' "$RESULTS")
    for i in $(seq "$RUNS"); do
        idle=$(wait_idle)
        cmd="sfb-mtbench --endpoint ipc://RUN/mt --duration $SECS --window 4096 --rate $half"
        json=$(taskset -c "$LOAD_CPUS" "$L/sfb-mtbench" --endpoint "ipc://$RUN/mt" \
            --duration "$SECS" --window 4096 --rate "$half")
        record "$json" matcher-half "$i" "$idle" "$cmd"
    done
    cleanup
}

start_metricsd() {
    rm -rf "$RUN/state" && mkdir -p "$RUN/state"
    taskset -c "$BROKER_CPUS" "$BUILD/metricsd/snowflake-metricsd" --events "ipc://$RUN/ev" \
        --listen "ipc://$RUN/md" --metrics-log "$RUN/metrics.log" --state-dir "$RUN/state" \
        --prometheus-addr "$PROM" 2>>"$OUT/metricsd.log" &
    MD_PID=$!
    PIDS="$PIDS $MD_PID"
    wait_port "${PROM#*:}"
}

metricsd_ingest() {
    log "metricsd ingest"
    local i idle json args
    for args in "--events 3000000" "--events 3000000 --rate 1000000"; do
        start_metricsd
        for i in $(seq "$RUNS"); do
            idle=$(wait_idle)
            # shellcheck disable=SC2086
            json=$(taskset -c "$LOAD_CPUS" "$L/sfb-evbench" --pub "ipc://$RUN/ev" --prom "$PROM" \
                --pid "$MD_PID" $args)
            record "$json" "metricsd${args#--events 3000000}" "$i" "$idle" "sfb-evbench $args"
        done
        cleanup
    done
    start_metricsd
    idle=$(wait_idle)
    args="--events 1000000 --rate 250000 --mix poll --unique"
    # shellcheck disable=SC2086
    json=$(taskset -c "$LOAD_CPUS" "$L/sfb-evbench" --pub "ipc://$RUN/ev" --prom "$PROM" \
        --pid "$MD_PID" $args)
    record "$json" metricsd-unique 1 "$idle" "sfb-evbench $args"
    cleanup
}

machine() {
    python3 - "$OUT/machine.json" <<EOF
import json, platform, os, subprocess, sys
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
json.dump(dict(nproc=os.cpu_count(), model=model, kernel=platform.release(),
               mem_gb=round(int(mem) / 2**20, 1), commit=rev, netns="$SFB_BENCH_INNER",
               broker_cpus="$BROKER_CPUS", load_cpus="$LOAD_CPUS", runs=$RUNS, seconds=$SECS,
               nofile="$(ulimit -n)", port_range=open("/proc/sys/net/ipv4/ip_local_port_range").read().split(),
               somaxconn=open("/proc/sys/net/core/somaxconn").read().strip(),
               load_before=open("/proc/loadavg").read().split()[:3]),
          open(sys.argv[1], "w"), indent=1)
EOF
}

setup_net
machine
: >"$OUT/matcher.log"; : >"$OUT/frontend.log"; : >"$OUT/metricsd.log"; : >"$OUT/reference.log"
for section in ${BENCH_ONLY:-http_references http_broker http_reference_broker held_polls \
    matcher_alone metricsd_ingest}; do
    "$section"
done
echo "{\"name\":\"elapsed\",\"seconds\":$(( $(date +%s) - T_START ))}" >>"$RESULTS"
log "done in $(( $(date +%s) - T_START )) s; writing the report"
python3 scripts/bench_report.py "$OUT" .
