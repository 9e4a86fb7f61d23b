#!/bin/sh
# `make run`: the whole broker on loopback. Ctrl-C (or SIGTERM) stops every process cleanly.
# Environment overrides: RUNDIR, BRIDGE_LIST, ALLOWED_RELAY_PATTERN, HTTP_ADDR, TLS_ADDR,
# METRICS_INTERVAL.
set -eu
BUILD=${BUILD:-build}
RUNDIR=${RUNDIR:-$PWD/run}
BRIDGE_LIST=${BRIDGE_LIST:-$PWD/scripts/sample-bridge-list.jsonl}
ALLOWED_RELAY_PATTERN=${ALLOWED_RELAY_PATTERN:-snowflake.torproject.net\$}
HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
TLS_ADDR=${TLS_ADDR:-127.0.0.1:8443}
METRICS_INTERVAL=${METRICS_INTERVAL:-24h}
mkdir -p "$RUNDIR/state"
MATCHER="ipc://$RUNDIR/matcher.ipc"
EVENTS="ipc://$RUNDIR/events.ipc"
METRICSD="ipc://$RUNDIR/metricsd.ipc"
CERT=$RUNDIR/cert.pem
KEY=$RUNDIR/key.pem
if [ ! -s "$CERT" ] || [ ! -s "$KEY" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -keyout "$KEY" -out "$CERT" -subj /CN=localhost \
        -addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1
fi

pids=""
stop() {
    trap - INT TERM
    echo "stopping..."
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    exit 0
}
trap stop INT TERM

if [ -x "$BUILD/metricsd/snowflake-metricsd" ]; then
    "$BUILD/metricsd/snowflake-metricsd" --events "$EVENTS" --listen "$METRICSD" \
        --matcher "$MATCHER" --metrics-log "$RUNDIR/metrics.log" \
        --metrics-interval "$METRICS_INTERVAL" --state-dir "$RUNDIR/state" &
    pids="$pids $!"
fi
"$BUILD/matcher/snowflake-matcher" --router "$MATCHER" --pub "$EVENTS" \
    --bridge-list-path "$BRIDGE_LIST" --allowed-relay-pattern "$ALLOWED_RELAY_PATTERN" \
    --metrics-interval "$METRICS_INTERVAL" --state-dir "$RUNDIR/state" &
pids="$pids $!"
# Frontends answer with the error forms until they reach the matcher: start them once it is up.
waitfile() {
    i=0
    while [ ! -S "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    [ -S "$1" ] || { echo "$1 did not appear" >&2; stop; }
}
waitfile "$RUNDIR/matcher.ipc"
"$BUILD/frontend/snowflake-frontend" --addr "$HTTP_ADDR" --disable-tls \
    --matcher "$MATCHER" --metricsd "$METRICSD" &
pids="$pids $!"
"$BUILD/frontend/snowflake-frontend" --addr "$TLS_ADDR" --cert "$CERT" --key "$KEY" \
    --matcher "$MATCHER" --metricsd "$METRICSD" &
pids="$pids $!"

cat <<BANNER

  Snowflake broker running (Ctrl-C stops everything)
    HTTP   http://$HTTP_ADDR/    (proxies: /proxy, clients: /client, /amp/client/...)
    HTTPS  https://$TLS_ADDR/   (self-signed: $CERT)
    debug  http://$HTTP_ADDR/debug   stats  http://$HTTP_ADDR/metrics   http://$HTTP_ADDR/prometheus
    matcher ROUTER $MATCHER, events PUB $EVENTS, metricsd $METRICSD
    bridge list $BRIDGE_LIST, allowed relay pattern '$ALLOWED_RELAY_PATTERN'
    stats log $RUNDIR/metrics.log (interval $METRICS_INTERVAL)

BANNER
# Wait for any child to exit (or a signal); then stop the rest.
while :; do
    for p in $pids; do
        if ! kill -0 "$p" 2>/dev/null; then
            echo "a broker process exited; stopping the others" >&2
            stop
        fi
    done
    sleep 1 &
    wait $! 2>/dev/null || true
done
