package dev.aggregator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.StoredRollups;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.storage.StaleWriteException;
import dev.aggregator.testing.StandardWorkload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
      List<QueryAnswers.Answer> expected = QueryAnswers.of(memory, false, NOW);
      assertThat(expected)
          .filteredOn(a -> !a.toString().contains(" refused: ") && !a.toString().endsWith(" []"))
          .hasSizeGreaterThan(expected.size() / 2);
      assertThat(QueryAnswers.of(engine, false, NOW))
          .as("rows in PostgreSQL and in memory")
          .isEqualTo(expected);
      engine.checkpoint();
      assertThat(QueryAnswers.of(engine, false, NOW)).as("all in PostgreSQL").isEqualTo(expected);

      try (StoredRollups reader = new StoredRollups(store, Tier.DEFAULTS)) {
        assertThat(reader.position().sequence()).isEqualTo(sequence - 1);
        assertThat(QueryAnswers.of(reader, true, NOW))
            .as("a reader with no engine")
            .isEqualTo(QueryAnswers.of(engine, true, NOW));
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
      assertThat(QueryAnswers.of(reopened, false, NOW))
          .as("reopened: each event counted once")
          .isEqualTo(QueryAnswers.of(memory, false, NOW));
    }
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
}
