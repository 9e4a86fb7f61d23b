#!/bin/sh
# Install the Debian packages the build, the broker and the test suite need, when missing.
# Run as root on Debian 12. Idempotent: does nothing when everything is present.
set -eu
PKGS="build-essential pkg-config cmake clang libclang-rt-14-dev clang-format
libh2o-evloop-dev libssl-dev libzmq3-dev libczmq-dev libmsgpack-dev libmaxminddb-dev libjansson-dev
libcmocka-dev mmdb-bin libmaxmind-db-writer-perl tor-geoipdb
python3 python3-zmq python3-msgpack curl openssl iproute2 bc
snowflake-proxy snowflake-client docker-compose systemd prometheus
wrk gnuplot-nox util-linux"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $missing
