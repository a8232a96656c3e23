package dev.aggregator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.StoredRollups;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.cluster.flink.LogRecord;
import dev.aggregator.cluster.flink.RollupJob;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventIds;
import dev.aggregator.event.Timestamps;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.RecordBuffer;
import dev.aggregator.storage.RollupStore;
import dev.aggregator.testing.StandardWorkload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Flink job on a real Flink cluster (a MiniCluster: JobManager and a TaskManager with two slots
 * in this JVM), a real Kafka broker and a real PostgreSQL: the standard workload appended through
 * {@code KafkaEventLog} as ingest servers append it, aggregated by the job at parallelism 2 into 4
 * rollup partitions, and read back by a query server's {@link StoredRollups} over the 4 schemas —
 * answering as one in-memory engine fed the same events once each, also after a task fails in the
 * middle and the job restarts from its last checkpoint, with clients' retries dropped by the job's
 * keyed dedup state across that restart, and after PostgreSQL crashes and restarts mid-stream.
 */
class RollupJobTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-12-03T12:00:00Z");
  private static final int PARTITIONS = 4;
  private static final String[] TYPES = {"page_view", "click", "session_start", "search"};

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  // The failure the test injects once, in the task that sees record number FAIL_AT.
  private static final AtomicLong SEEN = new AtomicLong();
  private static volatile long failAt = Long.MAX_VALUE;
  private static final AtomicBoolean FAILED = new AtomicBoolean();

  @Test
  void answersAsOneEngineAndCountsEachEventOnceAcrossATaskFailure() throws Exception {
    LocalKafka kafka = LocalKafka.shared();
    LocalPostgres pg = LocalPostgres.shared();
    String topic = "flink-events";
    kafka.createTopic(topic, 3);

    // 36,000 standard events (20 % late, 1 % clients' retries, in every third), a sixth without id.
    StandardWorkload workload = new StandardWorkload(21, () -> NOW, 20_000);
    RollupEngine oracle =
        new RollupEngine(
            Tier.DEFAULTS, CatalogLimits.defaults(), 10_000_000, Duration.ofMinutes(1), null);
    Set<String> seen = new HashSet<>();
    List<List<Event>> thirds = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    List<List<QueryAnswers.Answer>> expected = new ArrayList<>();
    long retries = 0;
    for (List<Event> third : thirds) {
      while (third.size() < 12_000) {
        StandardWorkload.Generated g = workload.next();
        if (g.event() == null) {
          continue;
        }
        Event e = g.event();
        if (third.size() % 6 == 0 && g.kind() != StandardWorkload.Kind.DUPLICATE) {
          e = new Event(null, e.eventType(), e.userId(), e.timestamp(), e.source(), e.properties());
        }
        third.add(e);
        if (e.id() == null || seen.add(e.id())) {
          oracle.apply(List.of(e), NOW, (i, x, o) -> {});
        } else {
          retries++;
        }
      }
      expected.add(answers(oracle));
    }
    assertThat(retries).as("clients' retries in the workload").isPositive();
    assertThat(expected.get(0))
        .as("answers with numbers in them (rarer types have empty filtered ones)")
        .filteredOn(a -> !a.toString().contains(" refused: ") && !a.toString().endsWith(" []"))
        .hasSizeGreaterThan(expected.get(0).size() / 4);

    RollupJob.Options options = new RollupJob.Options();
    options.bootstrapServers = kafka.bootstrap();
    options.topic = topic;
    options.jdbcUrl = pg.jdbcUrl();
    options.jdbcProperties = pg.properties();
    options.schemaPrefix = pg.newSchema() + "_p";
    options.partitions = PARTITIONS;
    options.parallelism = 2;
    options.checkpointInterval = Duration.ofMillis(500);
    options.clock = () -> NOW;

    try (KafkaEventLog log =
            KafkaEventLog.open(KafkaEventLog.Options.defaults(kafka.bootstrap(), topic, "flink"));
        Reader reader = new Reader(pg, options)) {
      append(log, thirds.get(0));

      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
      Configuration restarts = new Configuration();
      restarts.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
      restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 30);
      restarts.set(
          RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(500));
      env.configure(restarts);
      RollupJob.build(env, options, RollupJobTest::failOnce);
      JobClient job = env.executeAsync("rollups under test");
      try {
        // One reader holds its snapshots the whole time, as a query server does: the job's
        // checkpoints must not wait for it.
        reader.await(expected.get(0), "the first third, committed at checkpoints");

        failAt = SEEN.get() + 4_000; // a third of the way into the second third
        append(log, thirds.get(1));
        reader.await(expected.get(1), "every event once, retries dropped, after a task failure");
        assertThat(FAILED).as("the injected failure happened").isTrue();

        // PostgreSQL crashes and comes back while the third third is read: checkpoints fail, the
        // job restarts until it can reload its partitions, and each event still counts once.
        append(log, thirds.get(2));
        pg.crashAndRestart(Duration.ofSeconds(2));
        reader.await(expected.get(2), "every event once, after PostgreSQL crashed and restarted");
      } finally {
        job.cancel().get(30, TimeUnit.SECONDS);
      }
    }
  }

  /** A query server's view of the 4 partitions' schemas; reopened when PostgreSQL went away. */
  private static final class Reader implements AutoCloseable {
    private final LocalPostgres pg;
    private final RollupJob.Options options;
    private final List<PostgresRollupStore> stores = new ArrayList<>();
    private StoredRollups rollups;

    Reader(LocalPostgres pg, RollupJob.Options options) throws java.io.IOException {
      this.pg = pg;
      this.options = options;
      open();
    }

    private void open() throws java.io.IOException {
      for (int p = 0; p < PARTITIONS; p++) {
        stores.add(
            PostgresRollupStore.open(
                pg.jdbcUrl(),
                pg.properties(),
                options.schema(p),
                Tier.bucketsPerPartition(Tier.DEFAULTS)));
      }
      rollups = new StoredRollups(List.<RollupStore>copyOf(stores), Tier.DEFAULTS);
    }

    /** Refreshes until the answers are {@code expected}; fails with the difference after 2 min. */
    void await(List<QueryAnswers.Answer> expected, String what) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      List<QueryAnswers.Answer> actual = List.of();
      do {
        Thread.sleep(250);
        try {
          if (rollups == null) {
            open();
          }
          rollups.refresh();
          actual = answers(rollups);
        } catch (java.io.IOException | RuntimeException down) {
          close(); // PostgreSQL restarted: connections and snapshots are gone
        }
      } while (!actual.equals(expected) && System.nanoTime() < deadline);
      assertThat(actual).as(what).isEqualTo(expected);
    }

    @Override
    public void close() {
      if (rollups != null) {
        try {
          rollups.close();
        } catch (RuntimeException ignored) {
          // a broken connection: nothing to release
        }
        rollups = null;
      }
      for (PostgresRollupStore s : stores) {
        try {
          s.close();
        } catch (RuntimeException ignored) {
          // as above
        }
      }
      stores.clear();
    }
  }

  private static DataStream<LogRecord> failOnce(DataStream<LogRecord> records) {
    return records
        .map(
            r -> {
              if (SEEN.incrementAndGet() >= failAt && FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("a task failure, injected by the test");
              }
              return r;
            })
        .name("fails once");
  }

  private static List<QueryAnswers.Answer> answers(
      dev.aggregator.aggregation.RollupSource rollups) {
    List<QueryAnswers.Answer> out = new ArrayList<>();
    for (String type : TYPES) {
      out.addAll(QueryAnswers.of(rollups, false, NOW, type));
    }
    return out;
  }

  /** As an ingest server does: ids assigned to events without one, 1,000 events an append. */
  private static void append(KafkaEventLog log, List<Event> events) throws Exception {
    List<CompletableFuture<Long>> acks = new ArrayList<>();
    for (int from = 0; from < events.size(); from += 1_000) {
      RecordBuffer records = new RecordBuffer(256 << 10);
      for (Event e : events.subList(from, Math.min(events.size(), from + 1_000))) {
        if (e.id() == null) {
          UUID id = EventIds.newId(NOW);
          EventCodec.encode(
              new Event(
                  id.toString(),
                  e.eventType(),
                  e.userId(),
                  e.timestamp(),
                  e.source(),
                  e.properties()),
              id,
              NOW,
              records);
        } else {
          EventCodec.encode(e, NOW, records);
        }
      }
      acks.add(log.append(records.array(), records.length(), records.records()));
    }
    for (CompletableFuture<Long> a : acks) {
      a.get(60, TimeUnit.SECONDS);
    }
  }
}
