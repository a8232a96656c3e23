#!/usr/bin/env bash
# The local cluster as a user runs it (.ci/run calls this): cluster/local.sh up; 1,000 events sent
# to both servers, their count read back through each once the Flink job has committed them to
# PostgreSQL; 2,000 more while the TaskManager is killed and replaced; cluster/local.sh down
# whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
export AGGREGATOR_ADMIN_KEY=${AGGREGATOR_ADMIN_KEY:-local-smoke-admin-key-0123}
AUTH="Authorization: Bearer $AGGREGATOR_ADMIN_KEY"
STATE=${AGGREGATOR_LOCAL_DIR:-/tmp/aggregator-local}
trap 'cluster/local.sh down' EXIT

mapfile -t SERVERS < <(cluster/local.sh up | sed -n 's/^server //p')
[ "${#SERVERS[@]}" = 2 ] || { echo "smoke: expected two servers, got: ${SERVERS[*]}" >&2; exit 1; }

now=$(date -u +%s)
type="smoke_$now"
stamp=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)

# Writes events $1..$2 of the smoke type to file $3, one NDJSON line each.
events() {
  : >"$3"
  for i in $(seq "$1" "$2"); do
    echo "{\"id\":\"$type-$i\",\"eventType\":\"$type\",\"userId\":\"u$((i % 37))\",\"timestamp\":\"$stamp\",\"properties\":{\"value\":$i,\"country\":\"US\"}}" >>"$3"
  done
}

# Posts file $2 to server $1 until it is taken (429 and refused connections retried).
post() {
  for _ in $(seq 1 100); do
    if curl -sf -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary "@$2" \
      "$1/api/events/batch" >/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "smoke: $1 did not take a batch" >&2; return 1
}

# Waits until both servers count $1 events of the smoke type.
await_count() {
  local answer="" counted
  for _ in $(seq 1 240); do
    counted=0
    for server in "${SERVERS[@]}"; do
      answer=$(curl -s -H "$AUTH" \
        "$server/api/analytics/query?metric=$type&function=count&granularity=1d&start=now-2d" || true)
      if echo "$answer" | grep -q "\"value\":$1[,}]"; then counted=$((counted + 1)); fi
    done
    if [ "$counted" = 2 ]; then return 0; fi
    sleep 0.5
  done
  echo "smoke: the servers did not both count $1 events; last answer: $answer" >&2
  for f in "$STATE"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done
  return 1
}

# 1,000 events to the first server, then again to the second: every event of the second time is
# a client's retry that only the job's dedup state can drop.
events 1 1000 "$STATE/smoke.ndjson"
for server in "${SERVERS[@]}"; do post "$server" "$STATE/smoke.ndjson"; done
await_count 1000
echo "smoke: 1,000 events sent to both servers, counted once through each"

# 20 batches of 100 more, to either server in turn, with the TaskManager killed (kill -9) after
# the fifth: the job restarts from its last checkpoint on a new one, and counts each event once.
for b in $(seq 0 19); do
  events $((1001 + b * 100)) $((1000 + (b + 1) * 100)) "$STATE/smoke-$b.ndjson"
  post "${SERVERS[$((b % 2))]}" "$STATE/smoke-$b.ndjson"
  if [ "$b" = 4 ]; then cluster/local.sh kill-taskmanager; fi
  sleep 0.2
done
await_count 3000
echo "smoke: 2,000 more with the TaskManager killed mid-stream, each counted once"
