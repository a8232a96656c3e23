#!/usr/bin/env bash
# A real cluster on this machine: a Kafka broker (KRaft), PostgreSQL (Debian's), a Flink session
# cluster (JobManager with its web UI + a TaskManager, two JVMs) running the rollup job, and two
# aggregator servers in cluster mode.
#
#   cluster/local.sh up     builds what is missing, starts everything, prints each server as
#                           "server http://127.0.0.1:PORT"
#   cluster/local.sh down   stops everything it started
#   cluster/local.sh kill-taskmanager   kill -9 of the TaskManager, a new one in its place (a fault)
#
# Needs JDK 17+, Maven and Debian's postgresql package (initdb, pg_ctl). State, logs and pids live
# in $AGGREGATOR_LOCAL_DIR (default /tmp/aggregator-local: as root, PostgreSQL runs as the postgres
# user, who must be able to reach it). Ports: $LOCAL_PORT_BASE (default 19000)
# + 92 Kafka, + 93 its controller, + 32 PostgreSQL, + 81 the Flink web UI, + 1 and + 2 the servers.
# AGGREGATOR_ADMIN_KEY, if set, is every server's admin key (else each prints where its key is).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE=${AGGREGATOR_LOCAL_DIR:-/tmp/aggregator-local}
BASE=${LOCAL_PORT_BASE:-19000}
KAFKA_PORT=$((BASE + 92))
CONTROLLER_PORT=$((BASE + 93))
PG_PORT=$((BASE + 32))
FLINK_PORT=$((BASE + 81))
SERVER_PORTS="$((BASE + 1)) $((BASE + 2))"
PARTITIONS=${LOCAL_PARTITIONS:-8}
PARALLELISM=${LOCAL_PARALLELISM:-2}
TOPIC=events
JDBC="jdbc:postgresql://127.0.0.1:$PG_PORT/postgres"
SERVER_JAR=server/target/aggregator.jar
JOB_JAR=$(ls cluster/target/aggregator-cluster-*-job.jar 2>/dev/null | head -n 1 || true)
# What Flink needs opened on Java 17+ (the parent POM's flink.jvmArgs, which its scripts also pass).
FLINK_OPENS=$(sed -n 's:.*<flink.jvmArgs>\(.*\)</flink.jvmArgs>.*:\1:p' pom.xml)

log() { echo "local.sh: $*" >&2; }

# Waits until 127.0.0.1:$1 accepts connections, or fails (at once if process $2 of $STATE/$2.pid
# exited) showing the end of its log.
await_port() {
  for _ in $(seq 1 240); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    if ! kill -0 "$(cat "$STATE/$2.pid")" 2>/dev/null; then break; fi
    sleep 0.5
  done
  log "$2 did not come up on port $1; the end of $STATE/$2.log:"
  tail -n 30 "$STATE/$2.log" >&2 || true
  exit 1
}

# Starts "$@" in the background with its output in $STATE/$1.log and its pid in $STATE/$1.pid.
start() {
  local name=$1; shift
  nohup "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: as root, its commands run as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_taskmanager() {
  # shellcheck disable=SC2086 # the list of options is meant to split
  start taskmanager java -Xmx640m -XX:MaxDirectMemorySize=192m -XX:MaxMetaspaceSize=256m \
    $FLINK_OPENS -cp "$STATE/lib/flink/*" \
    org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$STATE/flink/conf"
}

# A fault: the TaskManager killed as a crash would (kill -9), a new one started in its place. The
# job restarts from its last checkpoint on the new one.
kill_taskmanager() {
  kill -9 "$(cat "$STATE/taskmanager.pid")"
  log "killed the TaskManager (kill -9); starting a new one"
  start_taskmanager
}

up() {
  if [ -e "$STATE/up" ]; then
    log "already up (cluster/local.sh down first)"; exit 1
  fi
  mkdir -p "$STATE"
  if [ ! -f "$SERVER_JAR" ] || [ -z "$JOB_JAR" ]; then
    log "building the server and the job jar"
    mvn -B -q -DskipTests package >&2
    JOB_JAR=$(ls cluster/target/aggregator-cluster-*-job.jar | head -n 1)
  fi
  for lib in kafka flink; do
    if [ ! -d "$STATE/lib/$lib" ]; then
      log "copying the $lib jars out of Maven"
      mvn -B -q -f cluster/local/pom.xml -P"$lib" dependency:copy-dependencies \
        -DoutputDirectory="$STATE/lib/$lib" >&2
    fi
  done
  touch "$STATE/up"

  # Kafka, one node as broker and controller.
  mkdir -p "$STATE/kafka"
  cat >"$STATE/kafka/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$STATE/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  local kcp="$STATE/lib/kafka/*"
  if [ ! -d "$STATE/kafka/data" ]; then
    java -cp "$kcp" kafka.tools.StorageTool format -t "$(java -cp "$kcp" kafka.tools.StorageTool random-uuid)" \
      -c "$STATE/kafka/server.properties" >"$STATE/kafka-format.log" 2>&1
  fi
  start kafka java -Xmx512m -cp "$kcp" kafka.Kafka "$STATE/kafka/server.properties"
  await_port "$KAFKA_PORT" kafka
  java -cp "$kcp" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --create --if-not-exists --topic "$TOPIC" --partitions 6 >"$STATE/topic.log" 2>&1
  log "Kafka on 127.0.0.1:$KAFKA_PORT, topic $TOPIC"

  # PostgreSQL, a cluster of its own in the state directory.
  local bin; bin=$(pg_bin)
  if [ -z "$bin" ]; then log "PostgreSQL is not installed (apt-get install postgresql)"; exit 1; fi
  if [ ! -d "$STATE/pg/data" ]; then
    mkdir -p "$STATE/pg"
    if [ "$(id -u)" = 0 ]; then chown postgres "$STATE/pg"; fi
    as_pg "$bin/initdb" -D "$STATE/pg/data" -A trust -U postgres -E UTF8 >"$STATE/pg-init.log" 2>&1
  fi
  as_pg "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/log" -w \
    -o "-p $PG_PORT -k $STATE/pg -c listen_addresses=127.0.0.1" start >/dev/null
  log "PostgreSQL on 127.0.0.1:$PG_PORT"

  # Flink: a JobManager (REST and web UI) and a TaskManager with 2 slots.
  mkdir -p "$STATE/flink/conf"
  cat >"$STATE/flink/conf/config.yaml" <<EOF
jobmanager.rpc.address: 127.0.0.1
jobmanager.bind-host: 127.0.0.1
taskmanager.bind-host: 127.0.0.1
taskmanager.host: 127.0.0.1
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
rest.port: $FLINK_PORT
jobmanager.memory.process.size: 768m
taskmanager.numberOfTaskSlots: 2
# What Flink's start scripts would compute and pass to a TaskManager (-Xmx: framework + task heap,
# MaxDirectMemorySize: framework + task off-heap + network, as below).
taskmanager.cpu.cores: 2
taskmanager.memory.framework.heap.size: 128m
taskmanager.memory.task.heap.size: 512m
taskmanager.memory.framework.off-heap.size: 128m
taskmanager.memory.task.off-heap.size: 0m
taskmanager.memory.network.min: 64m
taskmanager.memory.network.max: 64m
taskmanager.memory.managed.size: 256m
taskmanager.memory.jvm-metaspace.size: 256m
taskmanager.memory.jvm-overhead.min: 192m
taskmanager.memory.jvm-overhead.max: 192m
parallelism.default: $PARALLELISM
state.backend.type: rocksdb
execution.checkpointing.dir: file://$STATE/flink/checkpoints
execution.checkpointing.savepoint-dir: file://$STATE/flink/savepoints
restart-strategy.type: fixed-delay
restart-strategy.fixed-delay.attempts: 1000
restart-strategy.fixed-delay.delay: 2 s
EOF
  local fcp="$STATE/lib/flink/*"
  # shellcheck disable=SC2086 # the list of options is meant to split
  start jobmanager java -Xmx512m $FLINK_OPENS -cp "$fcp" \
    org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$STATE/flink/conf"
  await_port "$FLINK_PORT" jobmanager
  start_taskmanager
  for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$FLINK_PORT/taskmanagers" | grep -q '"slotsNumber"'; then break; fi
    if ! kill -0 "$(cat "$STATE/taskmanager.pid")" 2>/dev/null; then
      log "the TaskManager exited; the end of its log:"; tail -n 30 "$STATE/taskmanager.log" >&2; exit 1
    fi
    sleep 0.5
  done
  log "Flink web UI on http://127.0.0.1:$FLINK_PORT"
  # shellcheck disable=SC2086
  FLINK_CONF_DIR="$STATE/flink/conf" java $FLINK_OPENS -cp "$fcp" org.apache.flink.client.cli.CliFrontend \
    run -d -c dev.aggregator.cluster.flink.RollupJob "$JOB_JAR" \
    --bootstrap "127.0.0.1:$KAFKA_PORT" --topic "$TOPIC" --jdbc "$JDBC" --jdbc-user postgres \
    --partitions "$PARTITIONS" --parallelism "$PARALLELISM" --checkpoint-ms 1000 \
    >"$STATE/submit.log" 2>&1 || { log "submitting the job failed:"; tail -n 30 "$STATE/submit.log" >&2; exit 1; }
  log "rollup job submitted ($PARTITIONS partitions, parallelism $PARALLELISM)"

  # Two servers in cluster mode, each with its own data directory (node id, dead letters, keys).
  local n=0
  for port in $SERVER_PORTS; do
    n=$((n + 1))
    start "server$n" java -Xmx512m -jar "$SERVER_JAR" --mode cluster --port "$port" \
      --data-dir "$STATE/server$n" --kafka "127.0.0.1:$KAFKA_PORT" --kafka-topic "$TOPIC" \
      --postgres-url "$JDBC" --postgres-user postgres --rollup-partitions "$PARTITIONS"
  done
  n=0
  for port in $SERVER_PORTS; do
    n=$((n + 1))
    await_port "$port" "server$n"
    echo "server http://127.0.0.1:$port"
  done
}

down() {
  for name in server2 server1 taskmanager jobmanager kafka; do
    if [ -f "$STATE/$name.pid" ]; then
      kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
    fi
  done
  for name in server2 server1 taskmanager jobmanager kafka; do
    if [ -f "$STATE/$name.pid" ]; then
      local pid; pid=$(cat "$STATE/$name.pid")
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$STATE/$name.pid"
    fi
  done
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$STATE/pg/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null || true
  fi
  rm -f "$STATE/up"
  log "stopped (state kept in $STATE; delete it for a fresh start)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  kill-taskmanager) kill_taskmanager ;;
  *) echo "usage: cluster/local.sh up|down|kill-taskmanager" >&2; exit 2 ;;
esac
