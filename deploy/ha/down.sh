#!/usr/bin/env bash
# Stop the cluster up.sh started and remove its files.
set -uo pipefail
dir="${EKTP_HA_DIR:-/tmp/ektp-ha}"
for name in node1 node2 etcd; do
  if [ -f "$dir/$name.pid" ]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null; fi
done
sleep 2
pkill -u postgres -f "$dir/" 2>/dev/null
for name in node1 node2; do
  [ -d "$dir/$name" ] && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/$name" stop -m immediate >/dev/null 2>&1
done
sleep 1
rm -rf "$dir"
