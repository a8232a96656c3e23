package dev.aggregator.cluster;

import dev.aggregator.aggregation.StoredRollups;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.cluster.flink.RollupJob;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventIds;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.Fill;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.RecordBuffer;
import dev.aggregator.storage.RollupStore;
import dev.aggregator.testing.StandardWorkload;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Not a test: the measurement behind BENCHMARKS.md "Cluster mode: the Flink job", skipped unless
 * {@code -Dbench=true}. Prints, for parallelism 1 and 2 on a MiniCluster beside a real broker and
 * PostgreSQL (all on this box): events/s aggregated from a filled topic into PostgreSQL, the JVM's
 * CPU per event (job and broker; PostgreSQL is another process), and the latency from an append's
 * acknowledgement to its rows being visible to a query server, p50/p99 over 40 appends.
 *
 * <pre>
 * mvn -B -o test -pl cluster -Dtest=RollupJobThroughputBench -Dbench=true -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
@EnabledIfSystemProperty(named = "bench", matches = "true")
class RollupJobThroughputBench {
  private static final int EVENTS = Integer.getInteger("bench.events", 1_000_000);
  private static final long NOW = System.currentTimeMillis();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  @Test
  void measure() throws Exception {
    LocalKafka kafka = LocalKafka.shared();
    LocalPostgres pg = LocalPostgres.shared();
    for (int parallelism : new int[] {1, 2}) {
      String topic = "bench-" + parallelism;
      kafka.createTopic(topic, 4);
      RollupJob.Options o = options(kafka, pg, topic, parallelism);
      StandardWorkload workload = new StandardWorkload(31, () -> NOW, 20_000);
      try (KafkaEventLog log =
          KafkaEventLog.open(KafkaEventLog.Options.defaults(kafka.bootstrap(), topic, topic))) {
        long appendStart = System.nanoTime();
        append(log, workload, EVENTS);
        double appendSeconds = (System.nanoTime() - appendStart) / 1e9;

        o.bounded = true;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        RollupJob.build(env, o, UnaryOperator.identity());
        long cpu0 = cpuNanos();
        long t0 = System.nanoTime();
        env.executeAsync("bench p" + parallelism).getJobExecutionResult().get(30, TimeUnit.MINUTES);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpuPerEvent = (cpuNanos() - cpu0) / (double) EVENTS;
        System.out.printf(
            "BENCH parallelism=%d events=%d appended in %.1f s; aggregated into PostgreSQL in %.1f s"
                + " = %.0f events/s, JVM CPU %.1f µs/event%n",
            parallelism, EVENTS, appendSeconds, seconds, EVENTS / seconds, cpuPerEvent / 1000);

        // Latency: an unbounded job checkpointing every 200 ms; append 1,000 events, wait until a
        // query server sees them.
        o.bounded = false;
        o.checkpointInterval = Duration.ofMillis(200);
        StreamExecutionEnvironment live = StreamExecutionEnvironment.getExecutionEnvironment();
        RollupJob.build(live, o, UnaryOperator.identity());
        JobClient job = live.executeAsync("latency p" + parallelism);
        List<PostgresRollupStore> stores = new ArrayList<>();
        for (int p = 0; p < o.partitions; p++) {
          stores.add(
              PostgresRollupStore.open(
                  pg.jdbcUrl(),
                  pg.properties(),
                  o.schema(p),
                  Tier.bucketsPerPartition(Tier.DEFAULTS)));
        }
        try (StoredRollups reader =
            new StoredRollups(List.<RollupStore>copyOf(stores), Tier.DEFAULTS)) {
          long expected = total(reader);
          double[] latencies = new double[40];
          for (int i = 0; i < latencies.length; i++) {
            int added = appendVisible(log, workload, 1_000);
            long acked = System.nanoTime();
            expected += added;
            do {
              Thread.sleep(5);
              reader.refresh();
            } while (total(reader) < expected);
            latencies[i] = (System.nanoTime() - acked) / 1e6;
          }
          Arrays.sort(latencies);
          System.out.printf(
              "BENCH parallelism=%d ack-to-visible ms: p50 %.0f, p99 %.0f, max %.0f%n",
              parallelism,
              latencies[latencies.length / 2],
              latencies[(int) Math.ceil(latencies.length * 0.99) - 1],
              latencies[latencies.length - 1]);
        } finally {
          job.cancel().get(30, TimeUnit.SECONDS);
          for (PostgresRollupStore s : stores) {
            s.close();
          }
        }
      }
    }
  }

  private static RollupJob.Options options(
      LocalKafka kafka, LocalPostgres pg, String topic, int parallelism) {
    RollupJob.Options o = new RollupJob.Options();
    o.bootstrapServers = kafka.bootstrap();
    o.topic = topic;
    o.groupId = topic;
    o.jdbcUrl = pg.jdbcUrl();
    o.jdbcProperties = pg.properties();
    o.schemaPrefix = pg.newSchema() + "_p";
    o.partitions = 8;
    o.parallelism = parallelism;
    o.checkpointInterval = Duration.ofSeconds(5);
    return o;
  }

  /** Events of the last hour, every type: what the latency loop waits to grow. */
  private static long total(StoredRollups reader) {
    QueryEngine q = new QueryEngine(reader, System::currentTimeMillis);
    long sum = 0;
    for (String type : StandardWorkload.EVENT_TYPES) {
      Query query =
          new Query(
              type,
              0,
              System.currentTimeMillis() + 3_600_000L,
              dev.aggregator.aggregation.Granularity.D1,
              AggregateFunction.COUNT,
              Fill.NONE,
              Map.of(),
              List.of(),
              5,
              null);
      try {
        for (var s : q.run(query).series()) {
          for (var point : s.data()) {
            sum += Math.round(point.value());
          }
        }
      } catch (dev.aggregator.query.InvalidQueryException | RuntimeException notYet) {
        // a type not in the catalog yet
      }
    }
    return sum;
  }

  private static void append(KafkaEventLog log, StandardWorkload workload, int events)
      throws Exception {
    List<CompletableFuture<Long>> acks = new ArrayList<>();
    for (int sent = 0; sent < events; ) {
      RecordBuffer records = new RecordBuffer(512 << 10);
      int n = 0;
      while (n < 1_000) {
        StandardWorkload.Generated g = workload.next();
        if (g.event() == null || g.kind() == StandardWorkload.Kind.DUPLICATE) {
          continue;
        }
        encode(g.event(), records);
        n++;
      }
      sent += n;
      acks.add(log.append(records.array(), records.length(), records.records()));
      if (acks.size() >= 64) {
        for (CompletableFuture<Long> a : acks) {
          a.get(60, TimeUnit.SECONDS);
        }
        acks.clear();
      }
    }
    for (CompletableFuture<Long> a : acks) {
      a.get(60, TimeUnit.SECONDS);
    }
  }

  /** Appends {@code n} current (not late, not historical) events; returns how many. */
  private static int appendVisible(KafkaEventLog log, StandardWorkload workload, int n)
      throws Exception {
    RecordBuffer records = new RecordBuffer(512 << 10);
    int added = 0;
    while (added < n) {
      StandardWorkload.Generated g = workload.next();
      if (g.event() == null || g.kind() != StandardWorkload.Kind.VALID) {
        continue;
      }
      Event e = g.event();
      encode(
          new Event(
              null,
              e.eventType(),
              e.userId(),
              System.currentTimeMillis(),
              e.source(),
              e.properties()),
          records);
      added++;
    }
    log.append(records.array(), records.length(), records.records()).get(60, TimeUnit.SECONDS);
    return added;
  }

  private static void encode(Event e, RecordBuffer records) {
    if (e.id() == null) {
      UUID id = EventIds.newId(System.currentTimeMillis());
      EventCodec.encode(
          new Event(
              id.toString(), e.eventType(), e.userId(), e.timestamp(), e.source(), e.properties()),
          id,
          System.currentTimeMillis(),
          records);
    } else {
      EventCodec.encode(e, System.currentTimeMillis(), records);
    }
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }
}
