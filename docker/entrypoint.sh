#!/bin/sh
# Container entry point: ROLE [extra flags]. Environment variables give the deployment's
# endpoints; every flag of the binary may still be passed after the role.
#   frontend: SFB_ADDR (:8080), SFB_MATCHER, SFB_METRICSD, SFB_CERT/SFB_KEY (else plain HTTP),
#             SFB_TRUSTED_HOPS
#   matcher:  SFB_ROUTER, SFB_PUB, SFB_BRIDGE_LIST, SFB_ALLOWED_RELAY_PATTERN, SFB_STATE_DIR,
#             SFB_METRICS_INTERVAL (must equal metricsd's)
#   metricsd: SFB_EVENTS, SFB_LISTEN, SFB_MATCHER, SFB_METRICS_LOG, SFB_METRICS_INTERVAL,
#             SFB_PROMETHEUS_ADDR, SFB_STATE_DIR
#   events:   SFB_EVENTS
# SFB_BIN_DIR (default /usr/local/bin) lets the test suite run this script outside a container.
set -eu
BIN=${SFB_BIN_DIR:-/usr/local/bin}
role=${1:-frontend}
[ $# -gt 0 ] && shift
case "$role" in
frontend)
    set -- --addr "${SFB_ADDR:-:8080}" --matcher "${SFB_MATCHER:-tcp://matcher:5555}" \
        --metricsd "${SFB_METRICSD:-tcp://metricsd:5557}" \
        --trusted-hops "${SFB_TRUSTED_HOPS:-0}" "$@"
    if [ -n "${SFB_CERT:-}" ]; then
        set -- --cert "$SFB_CERT" --key "${SFB_KEY:?SFB_KEY must be set with SFB_CERT}" "$@"
    else
        set -- --disable-tls "$@"
    fi
    exec "$BIN/snowflake-frontend" "$@"
    ;;
matcher)
    set -- --router "${SFB_ROUTER:-tcp://*:5555}" --pub "${SFB_PUB:-tcp://*:5556}" \
        --allowed-relay-pattern "${SFB_ALLOWED_RELAY_PATTERN:-snowflake.torproject.net\$}" \
        --metrics-interval "${SFB_METRICS_INTERVAL:-24h}" --state-dir "${SFB_STATE_DIR:-/var/lib/snowflake/state}" "$@"
    if [ -n "${SFB_BRIDGE_LIST:-}" ]; then
        set -- --bridge-list-path "$SFB_BRIDGE_LIST" "$@"
    fi
    exec "$BIN/snowflake-matcher" "$@"
    ;;
metricsd)
    set -- --events "${SFB_EVENTS:-tcp://matcher:5556}" --listen "${SFB_LISTEN:-tcp://*:5557}" \
        --matcher "${SFB_MATCHER:-tcp://matcher:5555}" \
        --metrics-log "${SFB_METRICS_LOG:-/var/log/snowflake/metrics.log}" \
        --metrics-interval "${SFB_METRICS_INTERVAL:-24h}" \
        --state-dir "${SFB_STATE_DIR:-/var/lib/snowflake/state}" "$@"
    if [ -n "${SFB_PROMETHEUS_ADDR:-}" ]; then
        set -- --prometheus-addr "$SFB_PROMETHEUS_ADDR" "$@"
    fi
    exec "$BIN/snowflake-metricsd" "$@"
    ;;
events)
    exec "$BIN/snowflake-events" --events "${SFB_EVENTS:-tcp://matcher:5556}" "$@"
    ;;
*)
    echo "usage: snowflake-entrypoint frontend|matcher|metricsd|events [flags]" >&2
    exit 2
    ;;
esac
