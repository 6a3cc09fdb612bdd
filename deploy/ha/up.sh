#!/usr/bin/env bash
# A PostgreSQL 15 cluster with a synchronous standby and automatic failover on this
# machine: one etcd member (the consensus store) and two Patroni nodes, primary and
# standby, on 127.0.0.1:5441 and :5442 (REST API :8009, :8010). Everything lives in
# $EKTP_HA_DIR (default /tmp/ektp-ha); down.sh stops it and removes it.
#
#   deploy/ha/up.sh            # then:
#   export EKTP_DATABASE_URL='postgresql+psycopg://postgres@/ektp?host=127.0.0.1:5441&host=127.0.0.1:5442&target_session_attrs=read-write'
#
# Needs the Debian packages patroni, etcd-server and postgresql-15; run as root (the
# database runs as the postgres user).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${EKTP_HA_DIR:-/tmp/ektp-ha}"
mkdir -p "$dir"
chown postgres:postgres "$dir"

if ! curl -fsS http://127.0.0.1:2379/health >/dev/null 2>&1; then
  runuser -u postgres -- etcd --name ektp-etcd --data-dir "$dir/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster ektp-etcd=http://127.0.0.1:2380 >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:2379/health >/dev/null 2>&1 && break; sleep 0.2; done
fi

start_node() {  # name, port, rest port
  sed -e "s|@NAME@|$1|g" -e "s|@PORT@|$2|g" -e "s|@REST@|$3|g" -e "s|@DIR@|$dir|g" \
    "$here/patroni.yml.in" >"$dir/$1.yml"
  chown postgres:postgres "$dir/$1.yml"
  runuser -u postgres -- patroni "$dir/$1.yml" >"$dir/$1.log" 2>&1 &
  echo $! >"$dir/$1.pid"
}

wait_for() {  # port, what (primary|replica)
  for _ in $(seq 1 120); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/$2")" = 200 ]; then return 0; fi
    sleep 0.5
  done
  echo "node on REST port $1 did not become $2; see $dir/*.log" >&2
  return 1
}

start_node node1 5441 8009
wait_for 8009 primary
start_node node2 5442 8010
wait_for 8010 replica
for _ in $(seq 1 60); do
  patronictl -c "$dir/node1.yml" list 2>/dev/null | grep -q "Sync Standby" && break
  sleep 0.5
done
psql -h 127.0.0.1 -p 5441 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'ektp'" | grep -q 1 \
  || psql -h 127.0.0.1 -p 5441 -U postgres -c "CREATE DATABASE ektp" >/dev/null
patronictl -c "$dir/node1.yml" list
