package dev.aggregator.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.aggregation.RollupEngine.Outcome;
import dev.aggregator.aggregation.RollupReader.RowNeeds;
import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.storage.RocksRollupStore;
import dev.aggregator.testing.StandardWorkload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollups kept in several shards, updated in parallel, hold exactly the rows one shard holds: every
 * row of every series in every tier, in memory and after checkpoints into RocksDB, on the standard
 * workload (its late and historical events included) with a declared combination.
 */
class ShardedRollupsTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private static final long[] PARTITIONS = {3_600, 1_440, 720, 366};
  private static final CatalogLimits LIMITS =
      CatalogLimits.defaults().withCombinations(List.of(List.of("country", "device")));

  @TempDir Path dir;

  private final ExecutorService helpers = Executors.newFixedThreadPool(2);

  @AfterEach
  void stop() {
    helpers.shutdownNow();
  }

  @Test
  void threeShardsHoldExactlyTheRowsOfOne() throws Exception {
    StandardWorkload workload = new StandardWorkload(7, () -> NOW, 20_000); // 20 % late
    List<List<Event>> batches = new ArrayList<>();
    for (int b = 0; b < 24; b++) {
      List<Event> batch = new ArrayList<>();
      for (int i = 0; i < 1_000; i++) {
        StandardWorkload.Generated g = workload.next();
        if (g.event() != null) {
          batch.add(g.event());
        }
      }
      batches.add(batch);
    }
    try (RocksRollupStore oneStore = RocksRollupStore.open(dir.resolve("one"), PARTITIONS);
        RocksRollupStore threeStore = RocksRollupStore.open(dir.resolve("three"), PARTITIONS)) {
      RollupEngine one = engine(oneStore, 1);
      RollupEngine three = engine(threeStore, 3);
      long sequence = 0;
      for (int b = 0; b < batches.size(); b++) {
        List<Event> batch = batches.get(b);
        List<Outcome> oneOutcomes = new ArrayList<>();
        List<Outcome> threeOutcomes = new ArrayList<>();
        one.apply(batch, sequence, NOW, (i, e, o) -> oneOutcomes.add(o));
        three.apply(batch, sequence, NOW, (i, e, o) -> threeOutcomes.add(o));
        sequence += batch.size();
        assertThat(threeOutcomes).isEqualTo(oneOutcomes);
        if (b == 8 || b == 18) {
          assertThat(one.checkpoint()).isTrue();
          assertThat(three.checkpoint()).isTrue();
        }
      }
      assertThat(three.seriesCount()).isEqualTo(one.seriesCount()).isGreaterThan(5_000);
      Map<String, String> rows = rows(one);
      assertThat(rows.size()).as("rows compared").isGreaterThan(50_000);
      assertSame(rows(three), rows);

      // And once everything is in the store, also after reopening with another shard count.
      one.checkpoint();
      three.checkpoint();
      assertSame(rows(engine(threeStore, 2)), rows(engine(oneStore, 1)));
    }
  }

  /** Agreeing maps, or a failure naming the first few keys that differ (the maps are large). */
  static void assertSame(Map<String, String> actual, Map<String, String> expected) {
    List<String> differ = new ArrayList<>();
    for (Map.Entry<String, String> e : expected.entrySet()) {
      if (!agree(e.getValue(), actual.get(e.getKey())) && differ.size() < 5) {
        differ.add(e.getKey() + ": expected " + e.getValue() + ", got " + actual.get(e.getKey()));
      }
    }
    for (String key : actual.keySet()) {
      if (!expected.containsKey(key) && differ.size() < 5) {
        differ.add(key + ": not expected, got " + actual.get(key));
      }
    }
    assertThat(differ).as("rows that differ (of %d)", expected.size()).isEmpty();
    assertThat(actual.size()).isEqualTo(expected.size());
  }

  private RollupEngine engine(RocksRollupStore store, int shards) {
    return new RollupEngine(
        Tier.DEFAULTS,
        LIMITS,
        10_000_000,
        RollupEngine.defaultMemoryBytes(),
        Duration.ofMinutes(1),
        store,
        shards,
        shards == 1 ? null : helpers);
  }

  /**
   * A row's count, fields (count, sum to 12 digits: a checkpoint rolls rows up in its tables'
   * order, and floating-point addition is not associative; min, max, values kept and their median)
   * and distinct users (exact below 32, the HLL estimate above: HLL sketches are deterministic).
   * Not its bytes: KLL compaction draws random bits, so a value sketch's items depend on which rows
   * updated first.
   */
  private static String describe(RollupRow row) {
    StringBuilder out = new StringBuilder().append(row.count());
    for (int f = 0; f < row.fields.length; f++) {
      FieldSummary s = row.field(f);
      if (s != null) {
        out.append(" f")
            .append(f)
            .append('=')
            .append(s.count())
            .append(',')
            .append(String.format("%.12g", s.sum()));
        out.append(',').append(s.min()).append(',').append(s.max());
        if (s.values() != null) {
          out.append(",n=").append(s.values().count());
          if (s.values().isExact()) {
            out.append(",median=").append(s.values().quantile(0.5));
          }
        }
      }
    }
    if (row.users() != null) {
      out.append(" users=").append(row.users().estimate());
    }
    return out.toString();
  }

  /**
   * Whether two descriptions agree: equal, or equal but for a distinct-user estimate past the exact
   * limit, within 2 standard errors — an HLL union's estimate depends on the order of its merges,
   * which follows the tables' iteration order at a checkpoint.
   */
  private static boolean agree(String a, String b) {
    if (a.equals(b)) {
      return true;
    }
    if (a == null || b == null || !a.contains(" users=") || !b.contains(" users=")) {
      return false;
    }
    String restA = a.substring(0, a.indexOf(" users="));
    String restB = b.substring(0, b.indexOf(" users="));
    double ua = Double.parseDouble(a.substring(a.indexOf(" users=") + 7));
    double ub = Double.parseDouble(b.substring(b.indexOf(" users=") + 7));
    double bound = 2 * UserSketch.relativeStandardError() * Math.max(ua, ub);
    return restA.equals(restB)
        && Math.min(ua, ub) > UserSketch.EXACT_LIMIT
        && Math.abs(ua - ub) <= bound;
  }

  /** Every row, merged per bucket: "tier/series/bucket" to {@link #describe}. */
  static Map<String, String> rows(RollupSource rollups) {
    return rollups.read(
        r -> {
          Map<String, String> out = new TreeMap<>();
          int series = r.catalog().seriesCount();
          for (int t = 0; t < r.tiers().size(); t++) {
            for (int s = 0; s < series; s++) {
              Map<Long, RollupRow> merged = new TreeMap<>();
              r.readRows(
                  t,
                  s,
                  0,
                  Long.MAX_VALUE,
                  new RowNeeds(-2, true, true),
                  (bucket, row) -> merged.computeIfAbsent(bucket, k -> new RollupRow()).merge(row));
              int tier = t;
              int id = s;
              merged.forEach(
                  (bucket, row) -> out.put(tier + "/" + id + "/" + bucket, describe(row)));
            }
          }
          return out;
        });
  }
}
