#!/bin/bash
# Deployment files: the compose file validates offline (Debian's docker-compose v1), each
# container entry point starts its binary as a plain process with the compose defaults, and
# the systemd units pass systemd-analyze verify.  usage: test_deploy.sh BINDIR
set -u
BINDIR=$(cd "$1" && pwd)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
pass=0
failn=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $*"; failn=$((failn + 1)); }
T=$(mktemp -d /tmp/sfb-deploy-XXXXXX)
trap 'rm -rf "$T"' EXIT

# 1. compose file
if command -v docker-compose >/dev/null; then
    if docker-compose -f "$TOP/docker/compose.yaml" config > "$T/compose.out" 2>&1 &&
        grep -q 'snowflake-broker-c' "$T/compose.out"; then
        ok "docker-compose config validates docker/compose.yaml"
    else
        bad "docker-compose config"; cat "$T/compose.out"
    fi
else
    bad "docker-compose is not installed (scripts/install-deps.sh installs it)"
fi

# 2. entry points, as plain processes: each role must reach --check-config's success
mkdir -p "$T/bin"
for b in frontend/snowflake-frontend matcher/snowflake-matcher metricsd/snowflake-metricsd \
    metricsd/snowflake-events; do
    [ -x "$BINDIR/$b" ] && ln -sf "$BINDIR/$b" "$T/bin/"
done
run_role() { # run_role ROLE [env...] -- checks that the binary accepted the generated flags
    local role=$1
    shift
    env SFB_BIN_DIR="$T/bin" SFB_STATE_DIR="$T" SFB_METRICS_LOG="$T/metrics.log" "$@" \
        sh "$TOP/docker/entrypoint.sh" "$role" --check-config > "$T/$role.out" 2>&1
}
run_role matcher SFB_BRIDGE_LIST="$TOP/docker/bridge-list.jsonl" &&
    ok "entrypoint matcher" || { bad "entrypoint matcher"; cat "$T/matcher.out"; }
run_role frontend && ok "entrypoint frontend (plain)" ||
    { bad "entrypoint frontend"; cat "$T/frontend.out"; }
if [ -x "$T/bin/snowflake-metricsd" ]; then
    run_role metricsd SFB_PROMETHEUS_ADDR=127.0.0.1:0 && ok "entrypoint metricsd" ||
        { bad "entrypoint metricsd"; cat "$T/metricsd.out"; }
else
    bad "snowflake-metricsd not built"
fi
sh "$TOP/docker/entrypoint.sh" nonsense > /dev/null 2>&1
[ $? -eq 2 ] && ok "entrypoint refuses an unknown role" || bad "entrypoint unknown role"

# 3. systemd units, with ExecStart pointed at the built binaries
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units"
    for u in "$TOP"/docker/systemd/*.service; do
        n=$(basename "$u")
        n=${n/@.service/@a.service}
        sed -e "s#/usr/local/bin/#$T/bin/#g" "$u" > "$T/units/$n"
    done
    if SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no "$T"/units/*.service \
        > "$T/verify.out" 2>&1 && ! grep -q . "$T/verify.out"; then
        ok "systemd-analyze verify"
    else
        bad "systemd-analyze verify"; cat "$T/verify.out"
    fi
else
    bad "systemd-analyze is not installed"
fi
echo "$pass passed, $failn failed"
[ $failn -eq 0 ]
