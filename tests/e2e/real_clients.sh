#!/bin/bash
# Real Debian snowflake-proxy + snowflake-client complete a WebRTC rendezvous through our broker
# (one matcher, two frontends sharing 127.0.0.1:8080 with SO_REUSEPORT), inside a private
# network namespace with only "lo". Passes only when the relay sink receives the proxy's first
# binary websocket frame, i.e. client data crossed the snowflake.
# usage: real_clients.sh BINDIR [TIMEOUT_SECONDS] [make-run]
#   (run as root; re-execs itself in unshare -n). With "make-run", the broker is started by
#   scripts/run-local.sh exactly as `make run` does (metricsd, matcher, HTTP + TLS frontends).
# Adapted from ../shared/tools/real-clients/e2e.sh.
set -u
BINDIR=$(cd "$1" && pwd)
LIMIT=${2:-60}
MODE=${3:-reuseport}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${SFB_IN_NETNS:-}" ]; then
    SFB_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
PY=/usr/bin/python3
ip link set lo up
D=$(mktemp -d /tmp/sfb-e2e-XXXXXX)
mkdir -p "$D/state"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap cleanup EXIT
waitfor() { # waitfor SECONDS DESCRIPTION COMMAND...
    local end=$((SECONDS + $1)) what=$2
    shift 2
    while ! "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $end ]; then echo "timed out waiting for $what" >&2; return 1; fi
        sleep 0.05
    done
}
listening() { ss -ln"$1" | grep -q "127.0.0.1:$2 "; }
fail() {
    echo "E2E FAIL: $*"
    for f in "$D"/*.log; do echo "---- $f"; tail -n 30 "$f"; done
    exit 1
}

$PY "$HERE/stun.py" 3478 > "$D/stun.log" 2>&1 & pids+=($!)
$PY "$HERE/wsrelay.py" 8081 > "$D/relay.log" 2>&1 & pids+=($!)
if [ "$MODE" = make-run ]; then
    LOGS="run"
    (cd "$HERE/../.." && BUILD="$BINDIR" RUNDIR="$D/run" BRIDGE_LIST="$HERE/bridges-local.json" \
        ALLOWED_RELAY_PATTERN='127.0.0.1$' exec sh scripts/run-local.sh) > "$D/run.log" 2>&1 &
    pids+=($!)
else
    LOGS="matcher frontend0 frontend1"
    "$BINDIR/matcher/snowflake-matcher" --router "ipc://$D/m.ipc" --pub "ipc://$D/e.ipc" \
        --bridge-list-path "$HERE/bridges-local.json" --allowed-relay-pattern '127.0.0.1$' \
        --state-dir "$D/state" > "$D/matcher.log" 2>&1 & pids+=($!)
    waitfor 10 "matcher" test -S "$D/m.ipc" || fail "matcher did not start"
    for i in 0 1; do
        "$BINDIR/frontend/snowflake-frontend" --addr 127.0.0.1:8080 --disable-tls --reuseport \
            --matcher "ipc://$D/m.ipc" > "$D/frontend$i.log" 2>&1 & pids+=($!)
    done
fi
waitfor 10 "stun" listening u 3478 && waitfor 10 "broker" listening t 8080 &&
    waitfor 10 "relay" listening t 8081 || fail "helpers did not start"
T0=$(date +%s.%N)
timeout "$LIMIT" snowflake-proxy -broker http://127.0.0.1:8080/ -relay ws://127.0.0.1:8081/ \
    -allowed-relay-hostname-pattern '127.0.0.1$' -allow-non-tls-relay -keep-local-addresses \
    -stun stun:127.0.0.1:3478 -unsafe-logging -verbose -nat-retest-interval 0s \
    > "$D/proxy.log" 2>&1 & pids+=($!)
TOR_PT_MANAGED_TRANSPORT_VER=1 TOR_PT_CLIENT_TRANSPORTS=snowflake TOR_PT_STATE_LOCATION="$D/state" \
    timeout "$LIMIT" snowflake-client -url http://127.0.0.1:8080/ -ice stun:127.0.0.1:3478 \
    -keep-local-addresses -unsafe-logging -log "$D/client.log" > "$D/client.stdout" 2>&1 & pids+=($!)
$PY "$HERE/socksdrive.py" "$D/client.stdout" "$LIMIT" > "$D/socks.log" 2>&1 & pids+=($!)
waitfor "$LIMIT" "the relay's first binary frame" grep -q 'frame op=2' "$D/relay.log" ||
    fail "no data reached the relay within ${LIMIT}s"
T1=$(date +%s.%N)
echo "E2E PASS ($MODE): real proxy and client met through the broker;" \
    "first relay frame $(echo "$T1 - $T0" | bc) s after start;" \
    "client offers sent: $(grep -c 'Negotiating via HTTP' "$D/client.log")," \
    "answers received: $(grep -c 'Received answer' "$D/client.log")"
for f in $LOGS; do # log lines of the broker processes only (not run-local.sh's banner)
    grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$D/$f.log" | grep -q '127\.0\.0\.1' &&
        fail "$f logged a raw address"
done
rm -rf "$D"
exit 0
