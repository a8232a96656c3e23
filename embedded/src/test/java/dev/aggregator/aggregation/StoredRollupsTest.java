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

  /**
   * Cluster mode's layout: the event types split over three writers (as the Flink job's key groups
   * split them), each with its own store and its residue of series ids; one reader over the three
   * stores answers every type as one engine that saw every event.
   */
  @Test
  void partitionsWrittenApartAreReadAsOne() throws Exception {
    StandardWorkload workload = new StandardWorkload(12, () -> NOW, 20_000);
    int partitions = 3;
    List<RocksRollupStore> stores = new ArrayList<>();
    List<RollupEngine> writers = new ArrayList<>();
    try {
      for (int p = 0; p < partitions; p++) {
        RocksRollupStore store = RocksRollupStore.open(dir.resolve("p" + p), PARTITIONS);
        stores.add(store);
        writers.add(
            new RollupEngine(
                Tier.DEFAULTS,
                LIMITS,
                10_000_000,
                RollupEngine.defaultMemoryBytes(),
                Duration.ofMinutes(1),
                store,
                new SeriesIds(p, partitions)));
      }
      // Checkpointed too, so that its sketches are merged in the same order as the partitions'.
      RocksRollupStore wholeStore = RocksRollupStore.open(dir.resolve("whole"), PARTITIONS);
      stores.add(wholeStore);
      RollupEngine whole =
          new RollupEngine(Tier.DEFAULTS, LIMITS, 10_000_000, Duration.ofMinutes(1), wholeStore);
      long sequence = 0;
      for (int b = 0; b < 12; b++) {
        List<List<Event>> split = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
          split.add(new ArrayList<>());
        }
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
          StandardWorkload.Generated g = workload.next();
          if (g.event() != null) {
            batch.add(g.event());
            split.get(Math.floorMod(g.event().eventType().hashCode(), partitions)).add(g.event());
          }
        }
        whole.apply(batch, sequence, NOW, (i, e, o) -> {});
        for (int p = 0; p < partitions; p++) {
          writers.get(p).apply(split.get(p), sequence, NOW, (i, e, o) -> {});
        }
        sequence += batch.size();
      }
      for (RollupEngine w : writers) {
        w.checkpoint();
      }
      whole.checkpoint();

      try (StoredRollups reader =
          new StoredRollups(List.copyOf(stores.subList(0, partitions)), Tier.DEFAULTS)) {
        for (int p = 0; p < partitions; p++) {
          int partition = p;
          writers
              .get(p)
              .read(
                  r -> {
                    for (EventSchema schema : r.catalog().schemas()) {
                      assertThat(Math.floorMod(schema.name().hashCode(), partitions))
                          .as("a partition's writer saw only its own types")
                          .isEqualTo(partition);
                    }
                    return null;
                  });
        }
        for (String type : new String[] {"page_view", "click", "session_start", "search"}) {
          List<String> expected = answers(whole, type);
          assertThat(expected)
              .filteredOn(a -> !a.contains(" refused: ") && !a.endsWith(" []"))
              .as(type + " has numbers in its answers")
              .hasSizeGreaterThan(expected.size() / 2);
          assertSameWithinSketchBounds(answers(reader, type), expected);
        }
      }
    } finally {
      for (RocksRollupStore store : stores) {
        store.close();
      }
    }
  }

  /**
   * Equal, except that a percentile past {@link ValueSketch#EXACT_LIMIT} values may differ within
   * the KLL sketch's bound — KLL compaction draws random bits, so two engines fed the same events
   * hold different (equally valid) sketches; values here spread over about 0–1,000, so a rank error
   * of ~1.3 % moves a quantile by about 13, and 30 is allowed — that distinct users past the exact
   * range may differ within the HLL union's bound (its estimate depends on the merge order), and
   * that sums of doubles added in another order (rows are rolled up in their table's order, which
   * follows the series ids) may differ in the last bits.
   */
  private static void assertSameWithinSketchBounds(List<String> actual, List<String> expected) {
    assertThat(actual).hasSameSizeAs(expected);
    java.util.regex.Pattern value = java.util.regex.Pattern.compile("value=([-0-9.E]+)");
    for (int i = 0; i < expected.size(); i++) {
      String e = expected.get(i);
      String a = actual.get(i);
      assertThat(value.matcher(a).replaceAll("value=?"))
          .isEqualTo(value.matcher(e).replaceAll("value=?"));
      java.util.regex.Matcher ma = value.matcher(a);
      java.util.regex.Matcher me = value.matcher(e);
      while (me.find() && ma.find()) {
        double want = Double.parseDouble(me.group(1));
        double tolerance =
            e.contains("function=P")
                ? 30.0
                : e.contains("function=UNIQUE_USERS")
                    ? 3 * UserSketch.relativeStandardError() * want
                    : 1e-9 * Math.abs(want);
        assertThat(Double.parseDouble(ma.group(1)))
            .as(e)
            .isCloseTo(want, org.assertj.core.data.Offset.offset(tolerance));
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
    return answers(rollups, "page_view");
  }

  private static List<String> answers(RollupSource rollups, String type) {
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
        String metric = f.appliesToCount() ? type : type + "_value";
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
