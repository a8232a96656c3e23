package dev.aggregator.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.Fill;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.query.QueryResult;
import dev.aggregator.storage.RocksRollupStore;
import dev.aggregator.storage.StaleWriteException;
import dev.aggregator.testing.TestEvents;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints into a real RocksDB store: answers are the same before, after and after reopening.
 */
class CheckpointTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private static final long HOUR = 3_600_000L;
  private static final long[] PARTITIONS = {3_600, 1_440, 720, 366};

  @TempDir Path dir;

  private static final CatalogLimits LIMITS =
      CatalogLimits.defaults().withCombinations(List.of(List.of("device", "country")));

  private RollupEngine open(RocksRollupStore store) {
    return open(store, LIMITS);
  }

  private static RollupEngine open(RocksRollupStore store, CatalogLimits limits) {
    return new RollupEngine(Tier.DEFAULTS, limits, 1_000_000, Duration.ofMinutes(1), store);
  }

  private static List<Event> events(int n, long from) {
    List<Event> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(
          TestEvents.event(i % 3 == 0 ? "buy" : "view")
              .at(from + i * 7_919L % (3 * HOUR))
              .user("u" + (i % 97))
              .prop("country", "c" + (i % 7))
              .prop("device", i % 2 == 0 ? "mobile" : "desktop")
              .prop("value", i % 113)
              .build());
    }
    return list;
  }

  /**
   * Answers that touch every tier and dimensions, for the exact functions. (KLL compaction flips
   * coins, so percentiles of merged sketches may differ within their error bound; the oracle test
   * checks those bounds.)
   */
  private static List<String> answers(RollupEngine engine) throws Exception {
    QueryEngine q = new QueryEngine(engine, () -> NOW);
    long start = Granularity.D1.bucketStart(NOW - 2 * 86_400_000L);
    List<String> out = new ArrayList<>();
    for (Granularity g : List.of(Granularity.M5, Granularity.H1, Granularity.D1)) {
      for (AggregateFunction f : AggregateFunction.values()) {
        if (f.needsSketch()) {
          continue;
        }
        String metric = f.appliesToCount() ? "view" : "view_value";
        QueryResult r =
            q.run(
                new Query(
                    metric,
                    start,
                    NOW,
                    g,
                    f,
                    Fill.NONE,
                    Map.of("device", List.of("mobile")),
                    List.of("country"),
                    3,
                    null));
        out.add(g.label() + " " + f.label() + " " + r.series());
      }
    }
    return out;
  }

  @Test
  void rowsOverTheByteBudgetAreCheckpointedBeforeTheNextBatchNotKeptUntilTheHeapRunsOut()
      throws Exception {
    // Events spread over three hours of minutes: each batch adds thousands of new rows. No
    // checkpointer thread runs; the engine itself must stay within 1.5 MB.
    long budget = 1_500_000;
    List<String> expected;
    RollupEngine unbounded =
        new RollupEngine(Tier.DEFAULTS, LIMITS, 10_000_000, Duration.ofMinutes(1), null);
    List<Event> all = events(60_000, NOW - 3 * HOUR);
    unbounded.apply(all, -1, NOW, (i, e, o) -> {});
    expected = answers(unbounded);
    assertThat(unbounded.memoryBytes())
        .as("the workload needs more than the budget")
        .isGreaterThan(3 * budget);
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine engine =
          new RollupEngine(Tier.DEFAULTS, LIMITS, 10_000_000, budget, Duration.ofMinutes(1), store);
      long most = 0;
      for (int from = 0; from < all.size(); from += 1_000) {
        engine.apply(all.subList(from, from + 1_000), from, NOW, (i, e, o) -> {});
        most = Math.max(most, engine.memoryBytes());
      }
      assertThat(engine.checkpointSequence()).as("checkpoints were written").isGreaterThan(0);
      // One batch past the budget at most: the check runs before each batch.
      assertThat(most).isLessThan(budget + budget / 2);
      assertThat(answers(engine)).isEqualTo(expected);
    }
  }

  @Test
  void answersAreTheSameBeforeAndAfterACheckpointAndAfterReopening() throws Exception {
    List<String> before;
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine engine = open(store);
      engine.apply(events(5_000, NOW - 3 * HOUR), 0, NOW, (i, e, o) -> {});
      before = answers(engine);

      engine.checkpoint();

      assertThat(engine.checkpointSequence()).isEqualTo(4_999);
      assertThat(engine.memoryRows()).as("everything went to the store").isZero();
      assertThat(answers(engine)).as("after the checkpoint").isEqualTo(before);
    }
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine reopened = open(store);
      assertThat(reopened.checkpointSequence()).isEqualTo(4_999);
      assertThat(answers(reopened))
          .as("the catalog and rows come back from the store")
          .isEqualTo(before);
    }
  }

  @Test
  void aSecondEngineOverTheSameStoreIsRefusedInsteadOfCountingItsRowsTwice() throws Exception {
    List<Event> events = events(3_000, NOW - 3 * HOUR);
    RollupEngine memoryOnly = open(null);
    memoryOnly.apply(events, NOW, (i, e, o) -> {});
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine first = open(store);
      RollupEngine second = open(store); // e.g. a task restarted while the old one still runs
      first.apply(events, 0, NOW, (i, e, o) -> {});
      second.apply(events, 0, NOW, (i, e, o) -> {});

      assertThat(first.checkpoint()).isTrue();
      assertThatThrownBy(second::checkpoint).isInstanceOf(StaleWriteException.class);

      assertThat(answers(open(store))).as("each event counted once").isEqualTo(answers(memoryOnly));
      assertThat(second.memoryRows()).as("the refused rows stay in memory, not lost").isPositive();
    }
  }

  @Test
  void mergesEventsAfterACheckpointWithTheStoredRows() throws Exception {
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine engine = open(store);
      RollupEngine memoryOnly = open(null);
      List<Event> all = events(6_000, NOW - 3 * HOUR);
      for (int part = 0; part < 3; part++) {
        List<Event> slice = all.subList(part * 2_000, (part + 1) * 2_000);
        engine.apply(slice, part * 2_000L, NOW, (i, e, o) -> {});
        memoryOnly.apply(slice, NOW, (i, e, o) -> {});
        if (part < 2) {
          engine.checkpoint(); // some rows stored twice over, some only in memory
        }
      }
      assertThat(answers(engine)).isEqualTo(answers(memoryOnly));
    }
  }

  @Test
  void aCombinationDeclaredAfterEventsArrivedAnswersOnlyFromThenOn() throws Exception {
    long start = Granularity.H1.bucketStart(NOW - 3 * HOUR);
    Query both =
        new Query(
            "view",
            start,
            NOW + HOUR,
            Granularity.H1,
            AggregateFunction.COUNT,
            Fill.NONE,
            Map.of("device", List.of("mobile"), "country", List.of("c1")),
            List.of(),
            10,
            null);
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine engine = open(store, CatalogLimits.defaults());
      engine.apply(events(1_000, NOW - 3 * HOUR), 0, NOW, (i, e, o) -> {});
      engine.checkpoint();
    }
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine engine = open(store, LIMITS); // device+country declared now
      QueryEngine q = new QueryEngine(engine, () -> NOW);
      assertThatThrownBy(() -> q.run(both))
          .isInstanceOf(InvalidQueryException.class)
          .hasMessageContaining("was declared after events of view arrived");

      long from = NOW + HOUR; // after the newest event time seen before the declaration
      List<Event> later = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        later.add(
            TestEvents.event("view")
                .at(from + i)
                .prop("country", "c1")
                .prop("device", i < 3 ? "mobile" : "desktop")
                .build());
      }
      engine.apply(later, 1_000, NOW, (i, e, o) -> {});
      Query fromThen =
          new Query(
              "view",
              Granularity.H1.bucketStart(from),
              NOW + 2 * HOUR,
              Granularity.H1,
              AggregateFunction.COUNT,
              Fill.NONE,
              both.filters(),
              List.of(),
              10,
              null);
      QueryResult r = q.run(fromThen);
      assertThat(r.data()).hasSize(1);
      assertThat(r.data().get(0).value()).isEqualTo(3);
    }
  }

  @Test
  void aStoreFromBeforeMarginalSeriesAnswersOneKeyQueriesOnlyFromThenOn() throws Exception {
    Query byDevice =
        new Query(
            "view",
            Granularity.H1.bucketStart(NOW - 3 * HOUR),
            NOW + HOUR,
            Granularity.H1,
            AggregateFunction.COUNT,
            Fill.NONE,
            Map.of("device", List.of("mobile")),
            List.of(),
            10,
            null);
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine engine = open(store);
      engine.apply(events(1_000, NOW - 3 * HOUR), 0, NOW, (i, e, o) -> {});
      engine.checkpoint();
      try (var batch = store.batch()) { // as the full-combination design left its stores
        batch.deleteMeta("format");
        store.write(batch);
      }
    }
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      QueryEngine q = new QueryEngine(open(store), () -> NOW);
      assertThatThrownBy(() -> q.run(byDevice))
          .isInstanceOf(InvalidQueryException.class)
          .hasMessageContaining("by a single dimension hold events from");
      Query total =
          new Query(
              "view",
              byDevice.start(),
              byDevice.end(),
              Granularity.H1,
              AggregateFunction.COUNT,
              Fill.NONE,
              Map.of(),
              List.of(),
              10,
              null);
      assertThat(q.run(total).data()).as("the total is whole").isNotEmpty();
    }
  }

  @Test
  void aQueryRacingCheckpointsNeverCountsARowTwice() throws Exception {
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine engine = open(store);
      QueryEngine q = new QueryEngine(engine, () -> NOW);
      long start = Granularity.D1.bucketStart(NOW - 86_400_000L);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<String> wrong = new AtomicReference<>();
      long[] applied = {0, 0}; // finished, started
      Thread reader =
          new Thread(
              () -> {
                while (!stop.get() && wrong.get() == null) {
                  try {
                    long floor;
                    synchronized (applied) {
                      floor = applied[0]; // applies finished before the query
                    }
                    QueryResult r =
                        q.run(
                            new Query(
                                "view",
                                start,
                                NOW,
                                Granularity.D1,
                                AggregateFunction.COUNT,
                                Fill.NONE));
                    double got = r.data().stream().mapToDouble(QueryResult.Point::value).sum();
                    long ceiling;
                    synchronized (applied) {
                      ceiling = applied[1]; // applies started by its end
                    }
                    if (got < floor || got > ceiling) {
                      wrong.set("got " + got + ", want between " + floor + " and " + ceiling);
                    }
                  } catch (Exception e) {
                    wrong.set(e.toString());
                  }
                }
              });
      reader.start();
      long sequence = 0;
      for (int round = 0; round < 20; round++) {
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
          batch.add(
              TestEvents.event("view").at(NOW - HOUR + i).prop("country", "c" + i % 50).build());
        }
        synchronized (applied) {
          applied[1] += batch.size();
        }
        engine.apply(batch, sequence, NOW, (i, e, o) -> {});
        sequence += batch.size();
        synchronized (applied) {
          applied[0] += batch.size();
        }
        engine.checkpoint();
      }
      stop.set(true);
      reader.join();
      assertThat(wrong.get()).as("a query saw a count outside what was applied").isNull();
    }
  }
}
