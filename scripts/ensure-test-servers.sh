#!/usr/bin/env bash
# Installs the real servers the adapter tests use, from Debian, when they are missing. Tests start their own
# instances on loopback ports; nothing here starts a system service.
set -euo pipefail
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
# InfluxDB 1.x (v1 HTTP API) for the Influx output's api: v1; the package's service is never started by the tests.
command -v influxd >/dev/null 2>&1 || [ -x /usr/bin/influxd ] || need+=(influxdb)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# PostgreSQL 15 for the site store and its work queue; tests run their own cluster (initdb into a temp folder).
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
# NATS with JetStream, measured against PostgreSQL as the site's work queue.
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test servers: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
