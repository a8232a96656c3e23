package dev.aggregator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.RollupSource;
import dev.aggregator.aggregation.StoredRollups;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.Fill;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.storage.StaleWriteException;
import dev.aggregator.testing.StandardWorkload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The engine's checkpoints into a real PostgreSQL: answers are those of an engine that kept
 * everything in memory, a query server's {@link StoredRollups} over PostgreSQL alone answers the
 * same, an engine reopened from it too, and a second writer is fenced off.
 */
class PostgresCheckpointTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");

  /** RocksDB's partition sizes: an hour of 1 s, a day of 1 m, 30 days of 1 h, a year of 1 d. */
  private static final long[] PARTITIONS = {3_600, 1_440, 720, 366};

  private static final CatalogLimits LIMITS =
      CatalogLimits.defaults().withCombinations(List.of(List.of("country", "device")));

  @Test
  void answersAsInMemoryAlsoFromAStoreOnlyReaderAndAfterReopening() throws Exception {
    LocalPostgres pg = LocalPostgres.shared();
    String schema = pg.newSchema();
    List<List<Event>> batches = batches(16);
    RollupEngine memory = engine(null);
    try (PostgresRollupStore store =
        PostgresRollupStore.open(pg.jdbcUrl(), pg.properties(), schema, PARTITIONS)) {
      RollupEngine engine = engine(store);
      long sequence = 0;
      for (int b = 0; b < batches.size(); b++) {
        engine.apply(batches.get(b), sequence, NOW, (i, e, o) -> {});
        memory.apply(batches.get(b), NOW, (i, e, o) -> {});
        sequence += batches.get(b).size();
        if (b == 5 || b == 11) {
          assertThat(engine.checkpoint()).isTrue(); // rows merged with stored ones the second time
        }
      }
      List<String> expected = answers(memory, false);
      assertThat(expected)
          .filteredOn(a -> !a.contains(" refused: ") && !a.endsWith(" []"))
          .hasSizeGreaterThan(expected.size() / 2);
      assertThat(answers(engine, false)).as("rows in PostgreSQL and in memory").isEqualTo(expected);
      engine.checkpoint();
      assertThat(answers(engine, false)).as("all in PostgreSQL").isEqualTo(expected);

      try (StoredRollups reader = new StoredRollups(store, Tier.DEFAULTS)) {
        assertThat(reader.position().sequence()).isEqualTo(sequence - 1);
        assertThat(answers(reader, true))
            .as("a reader with no engine")
            .isEqualTo(answers(engine, true));
      }

      RollupEngine stale = engine(store); // follows the checkpoint just written
      engine.apply(batches(1).get(0), sequence, NOW, (i, e, o) -> {});
      stale.apply(batches(1).get(0), sequence, NOW, (i, e, o) -> {});
      assertThat(engine.checkpoint()).isTrue();
      assertThatThrownBy(stale::checkpoint).isInstanceOf(StaleWriteException.class);
    }
    try (PostgresRollupStore store =
        PostgresRollupStore.open(pg.jdbcUrl(), pg.properties(), schema, PARTITIONS)) {
      RollupEngine reopened = engine(store);
      memory.apply(batches(1).get(0), NOW, (i, e, o) -> {});
      assertThat(answers(reopened, false))
          .as("reopened: each event counted once")
          .isEqualTo(answers(memory, false));
    }
  }

  private static final java.util.regex.Pattern VALUE =
      java.util.regex.Pattern.compile("value=(-?[0-9]+\\.[0-9E-]+)");

  /**
   * Values to 12 significant digits: a checkpoint merges a row's stored and in-memory deltas in
   * another order than one table in memory, and floating-point addition is not associative.
   */
  private static String roundSums(String answer) {
    return VALUE
        .matcher(answer)
        .replaceAll(m -> "value=" + String.format("%.12g", Double.parseDouble(m.group(1))));
  }

  private static RollupEngine engine(PostgresRollupStore store) {
    return new RollupEngine(Tier.DEFAULTS, LIMITS, 10_000_000, Duration.ofMinutes(1), store);
  }

  /** The standard workload (20 % late), 1,000 events a batch; the same events for every call. */
  private static List<List<Event>> batches(int n) {
    StandardWorkload workload = new StandardWorkload(5, () -> NOW, 20_000);
    List<List<Event>> out = new ArrayList<>();
    for (int b = 0; b < n; b++) {
      List<Event> batch = new ArrayList<>();
      for (int i = 0; i < 1_000; i++) {
        StandardWorkload.Generated g = workload.next();
        if (g.event() != null) {
          batch.add(g.event());
        }
      }
      out.add(batch);
    }
    return out;
  }

  /**
   * Exact functions (and, with {@code sketches}, percentiles and distinct users: equal only where
   * both read the same stored rows — KLL compaction flips coins as rows merge), plain, filtered by
   * one and two keys, grouped by one and two, in three tiers.
   */
  private static List<String> answers(RollupSource rollups, boolean sketches) {
    QueryEngine q = new QueryEngine(rollups, () -> NOW);
    List<Map<String, List<String>>> filters =
        List.of(
            Map.of(),
            Map.of("country", List.of("US", "DE")),
            Map.of("country", List.of("US"), "device", List.of("mobile")));
    List<List<String>> groupings =
        List.of(List.of(), List.of("device"), List.of("country", "device"));
    List<String> out = new ArrayList<>();
    for (Granularity g : List.of(Granularity.M1, Granularity.H1, Granularity.D1)) {
      for (AggregateFunction f : AggregateFunction.values()) {
        if (f.needsSketch() && !sketches) {
          continue;
        }
        String metric = f.appliesToCount() ? "page_view" : "page_view_value";
        for (Map<String, List<String>> filter : filters) {
          for (List<String> groupBy : groupings) {
            Query query =
                new Query(
                    metric, NOW - 86_400_000L, NOW, g, f, Fill.NONE, filter, groupBy, 5, null);
            try {
              out.add(query + " " + roundSums(q.run(query).series().toString()));
            } catch (InvalidQueryException refused) {
              out.add(query + " refused: " + refused.getMessage());
            }
          }
        }
      }
    }
    return out;
  }
}
