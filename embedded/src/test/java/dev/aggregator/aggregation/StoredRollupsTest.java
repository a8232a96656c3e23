package dev.aggregator.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.Fill;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.storage.RocksRollupStore;
import dev.aggregator.testing.StandardWorkload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reader with no engine, over the store alone, answers what the writer's engine answers at its
 * last checkpoint: the catalog replayed from the journal names the same series, every row of every
 * tier (derived ones included) is there, and a refresh takes in the next checkpoint whole.
 */
class StoredRollupsTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private static final long[] PARTITIONS = {3_600, 1_440, 720, 366};
  private static final CatalogLimits LIMITS =
      CatalogLimits.defaults().withCombinations(List.of(List.of("country", "device")));

  @TempDir Path dir;

  @Test
  void answersAsTheWritersEngineAtItsLastCheckpoint() throws Exception {
    StandardWorkload workload = new StandardWorkload(11, () -> NOW, 20_000); // 20 % late
    try (RocksRollupStore store = RocksRollupStore.open(dir, PARTITIONS)) {
      RollupEngine engine =
          new RollupEngine(Tier.DEFAULTS, LIMITS, 10_000_000, Duration.ofMinutes(1), store);
      long sequence = apply(engine, workload, 0, 12);
      engine.checkpoint();

      try (StoredRollups reader = new StoredRollups(store, Tier.DEFAULTS)) {
        assertThat(reader.position().sequence()).isEqualTo(engine.checkpointSequence());
        List<String> first = answers(reader);
        assertThat(first)
            .as("answers with numbers in them, not refusals or empty series")
            .filteredOn(a -> !a.contains(" refused: ") && !a.endsWith(" []"))
            .hasSizeGreaterThan(first.size() / 2);
        assertThat(first).isEqualTo(answers(engine));
        ShardedRollupsTest.assertSame(
            ShardedRollupsTest.rows(reader), ShardedRollupsTest.rows(engine));

        // The writer goes on: new values, series and a second checkpoint.
        apply(engine, workload, sequence, 12);
        assertThat(answers(reader))
            .as("not refreshed yet: still the first checkpoint")
            .isEqualTo(first);
        engine.checkpoint();
        assertThat(answers(reader)).as("a refresh is what moves the reader on").isEqualTo(first);

        assertThat(reader.refresh()).isTrue();
        assertThat(reader.refresh()).as("nothing new").isFalse();
        assertThat(reader.position().sequence()).isEqualTo(engine.checkpointSequence());
        List<String> second = answers(reader);
        assertThat(second).isNotEqualTo(first).isEqualTo(answers(engine));
        ShardedRollupsTest.assertSame(
            ShardedRollupsTest.rows(reader), ShardedRollupsTest.rows(engine));
      }
    }
  }

  private static long apply(
      RollupEngine engine, StandardWorkload workload, long from, int batches) {
    long sequence = from;
    for (int b = 0; b < batches; b++) {
      List<Event> batch = new ArrayList<>();
      for (int i = 0; i < 1_000; i++) {
        StandardWorkload.Generated g = workload.next();
        if (g.event() != null) {
          batch.add(g.event());
        }
      }
      engine.apply(batch, sequence, NOW, (i, e, o) -> {});
      sequence += batch.size();
    }
    return sequence;
  }

  /**
   * Every function, plain, filtered by one and two keys (the declared combination's), grouped by
   * one and two, in three tiers: the planner resolves each against the catalog the reader replayed.
   */
  private static List<String> answers(RollupSource rollups) {
    QueryEngine q = new QueryEngine(rollups, () -> NOW);
    long start = NOW - 86_400_000L;
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
        String metric = f.appliesToCount() ? "page_view" : "page_view_value";
        for (Map<String, List<String>> filter : filters) {
          for (List<String> groupBy : groupings) {
            Query query = new Query(metric, start, NOW, g, f, Fill.NONE, filter, groupBy, 5, null);
            try {
              out.add(query + " " + q.run(query).series());
            } catch (InvalidQueryException refused) { // percentiles of a selection: raw events
              out.add(query + " refused: " + refused.getMessage());
            }
          }
        }
      }
    }
    return out;
  }
}
