#!/usr/bin/env bash
# Installs every Debian package connectd needs to build, run and test.
# Idempotent: does nothing when all packages are already present.
set -euo pipefail

BUILD_PKGS="build-essential pkg-config librdkafka-dev libmosquitto-dev libpq-dev
default-libmysqlclient-dev libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev
libssl-dev zlib1g-dev"
TEST_PKGS="postgresql mariadb-server influxdb mosquitto mosquitto-clients kcat python3-pytest
python3-requests python3-psycopg2 python3-pymysql python3-paho-mqtt
python3-confluent-kafka python3-jwt python3-cryptography python3-flask wrk
python3-pytest-timeout python3-pytest-rerunfailures
libcmocka-dev curl procps"

want="$BUILD_PKGS"
[ "${1:-}" = "--build-only" ] || want="$want $TEST_PKGS"

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
