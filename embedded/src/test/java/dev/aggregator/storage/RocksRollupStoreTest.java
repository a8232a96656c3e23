package dev.aggregator.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RocksRollupStoreTest {
  /** Small partitions, so that short bucket ranges cross several. */
  private static final long[] SMALL = {4, 7, 1};

  /** The engine's: 1 s = an hour, 1 m = a day, 1 h = 30 days, 1 d = a year. */
  private static final long[] ENGINE = {3_600, 1_440, 720, 366};

  @TempDir Path dir;

  // ---------------------------------------------------------------------------------------------
  // Rows

  @Test
  void aWrittenRowIsReadBack() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      write(store, b -> b.putRow(1, 42, 28_421_010, bytes("row")));

      assertThat(store.get(1, 42, 28_421_010)).isEqualTo(bytes("row"));
      assertThat(store.get(1, 42, 28_421_011)).as("the next bucket").isNull();
      assertThat(store.get(1, 43, 28_421_010)).as("another series").isNull();
      assertThat(store.get(2, 42, 28_421_010)).as("another tier").isNull();
    }
  }

  @Test
  void multiGetAnswersWhatGetAnswersForEachKeyInOrder() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      write(
          store,
          b -> {
            for (int s = 0; s < 50; s++) {
              b.putRow(1, s, 1_000 + s, bytes("r" + s)); // odd series across partitions below
              b.putRow(1, s, 900_000 + s, bytes("far" + s));
            }
          });
      int n = 200;
      int[] series = new int[n];
      long[] buckets = new long[n];
      for (int i = 0; i < n; i++) { // present, absent, other partitions, repeated keys
        series[i] = (i * 7) % 60;
        buckets[i] = i % 3 == 0 ? 900_000 + series[i] : 1_000 + series[i] + (i % 5 == 0 ? 1 : 0);
      }
      List<byte[]> got = store.multiGet(1, series, buckets, n);

      assertThat(got).hasSize(n);
      int present = 0;
      for (int i = 0; i < n; i++) {
        byte[] one = store.get(1, series[i], buckets[i]);
        assertThat(got.get(i)).as("key %d", i).isEqualTo(one);
        present += one == null ? 0 : 1;
      }
      assertThat(present).as("the keys mix rows and holes").isBetween(50, n - 50);
      assertThat(store.multiGet(2, series, buckets, n)).as("another tier").containsOnlyNulls();
      assertThat(store.multiGet(1, series, buckets, 0)).isEmpty();
    }
  }

  @Test
  void aConditionalWriteHappensOnlyOverTheValueItRequires() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      write(
          store,
          b -> {
            b.requireMeta("checkpoint", null); // absent: the first checkpoint
            b.putMeta("checkpoint", bytes("1"));
            b.putRow(0, 1, 5, bytes("first"));
          });
      write(
          store,
          b -> {
            b.requireMeta("checkpoint", bytes("1"));
            b.putMeta("checkpoint", bytes("2"));
            b.putRow(0, 1, 5, bytes("second"));
          });

      // A writer still holding checkpoint 1 (or none) is refused, and nothing of its batch lands.
      for (byte[] stale : new byte[][] {bytes("1"), null}) {
        assertThatThrownBy(
                () ->
                    write(
                        store,
                        b -> {
                          b.requireMeta("checkpoint", stale);
                          b.putMeta("checkpoint", bytes("3"));
                          b.putMeta("other", bytes("x"));
                          b.putRow(0, 1, 5, bytes("stale"));
                        }))
            .isInstanceOf(StaleWriteException.class)
            .hasMessageContaining("another writer committed");
      }
      assertThat(store.getMeta("checkpoint")).isEqualTo(bytes("2"));
      assertThat(store.getMeta("other")).isNull();
      assertThat(store.get(0, 1, 5)).isEqualTo(bytes("second"));
    }
  }

  @Test
  void aLaterPutOverwritesTheRow() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      write(store, b -> b.putRow(0, 1, 5, bytes("old")));
      write(store, b -> b.putRow(0, 1, 5, bytes("new")));

      assertThat(str(store.get(0, 1, 5))).isEqualTo("new");
    }
  }

  @Test
  void bucketZeroAndBucketTwoToTheFortyWork() throws IOException {
    long big = 1L << 40;
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      write(
          store,
          b -> {
            b.putRow(0, 0, 0, bytes("zero"));
            b.putRow(0, 0, big, bytes("big"));
            b.putRow(0, Integer.MAX_VALUE, big + 1, bytes("max series"));
          });

      assertThat(str(store.get(0, 0, 0))).isEqualTo("zero");
      assertThat(str(store.get(0, 0, big))).isEqualTo("big");
      assertThat(scan(store, 0, 0, 0, Long.MAX_VALUE)).isEqualTo(rows(0L, "zero", big, "big"));
      assertThat(scan(store, 0, Integer.MAX_VALUE, big, big + 2))
          .isEqualTo(rows(big + 1, "max series"));
    }
  }

  /** Found by the property below (seed -1397676988462821614): a repeat call used to be skipped. */
  @Test
  void aRowWrittenIntoADroppedPartitionIsDroppedByTheNextCall() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, new long[] {4})) {
      store.deleteBefore(0, 4); // drops partition 0 (empty)
      write(store, b -> b.putRow(0, 0, 0, bytes("late")));
      assertThat(scan(store, 0, 0, 0, 1)).hasSize(1);
      store.deleteBefore(0, 4);
      assertThat(scan(store, 0, 0, 0, 1)).isEmpty();
    }
  }

  @Test
  void aScanCanReadJustTheLeadOfEachValue() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, new long[] {1_440})) {
      write(
          store,
          b -> {
            b.putRow(0, 7, 10, bytes("count+sketches"));
            b.putRow(0, 7, 11, bytes("c"));
            b.putRow(0, 7, 2_000, bytes("x".repeat(5_000))); // the next partition
          });
      List<String> leads = new ArrayList<>();
      store.scan(null, 0, 7, 0, 3_000, 5, (bucket, value) -> leads.add(str(value)));
      assertThat(leads).containsExactly("count", "c", "xxxxx");
      List<Integer> whole = new ArrayList<>();
      store.scan(null, 0, 7, 0, 3_000, 0, (bucket, value) -> whole.add(value.length));
      assertThat(whole).containsExactly(14, 1, 5_000);
    }
  }

  @Test
  void rejectsWhatTheKeyCannotHold() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, new long[] {1});
        StoreBatch batch = store.batch()) {
      assertThatThrownBy(() -> batch.putRow(0, 1, -1, bytes("x")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("got bucket -1");
      assertThatThrownBy(() -> batch.putRow(0, 1, 1L << 32, bytes("x")))
          .as("partition 2^32 with one bucket a partition")
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> batch.putRow(1, 1, 0, bytes("x")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("got tier 1");
      assertThatThrownBy(() -> batch.putRow(0, -1, 0, bytes("x")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("got series -1");
      assertThat(batch.size()).as("changes in the batch after rejected puts").isZero();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Scans

  @Test
  void scanVisitsExactlyTheRowsInRangeInBucketOrderAcrossPartitions() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      write(
          store,
          b -> {
            for (long bucket = 20; bucket >= 0; bucket--) {
              b.putRow(0, 7, bucket, bytes("s7-" + bucket));
              b.putRow(0, 6, bucket, bytes("s6-" + bucket));
              b.putRow(0, 8, bucket, bytes("s8-" + bucket));
              b.putRow(1, 7, bucket, bytes("t1-" + bucket));
            }
          });

      // [3, 13) spans partitions 0 (0-3), 1 (4-7), 2 (8-11) and 3 (12-15) of tier 0
      NavigableMap<Long, String> want = new TreeMap<>();
      for (long bucket = 3; bucket < 13; bucket++) {
        want.put(bucket, "s7-" + bucket);
      }
      List<Map.Entry<Long, String>> got = scan(store, 0, 7, 3, 13);
      assertThat(got)
          .withFailMessage("got %s, want %s", got, want.entrySet())
          .isEqualTo(List.copyOf(want.entrySet()));
    }
  }

  @Test
  void scanOfAnEmptyOrInvertedRangeVisitsNothing() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      write(store, b -> b.putRow(0, 1, 5, bytes("x")));

      assertThat(scan(store, 0, 1, 5, 5)).as("[5, 5)").isEmpty();
      assertThat(scan(store, 0, 1, 6, 5)).as("[6, 5)").isEmpty();
      assertThat(scan(store, 0, 1, 6, 100)).as("[6, 100)").isEmpty();
      assertThat(scan(store, 0, 2, 0, 100)).as("another series").isEmpty();
      assertThat(scan(store, 2, 1, 0, 100)).as("an empty tier").isEmpty();
      assertThat(scan(store, 0, 1, -10, 6)).as("[-10, 6)").isEqualTo(rows(5L, "x"));
    }
  }

  @Test
  void scanSkipsEmptyPartitionsInOneSeek() throws IOException {
    // 2^40 / 300 ≈ 3.7 billion partitions, all empty but the first and the last: walking them one
    // by one would take hours
    long bucket = 1L << 40;
    try (RocksRollupStore store = RocksRollupStore.open(dir, new long[] {300})) {
      write(
          store,
          b -> {
            b.putRow(0, 1, 1, bytes("first"));
            b.putRow(0, 1, bucket, bytes("last"));
          });

      assertTimeoutPreemptively(
          Duration.ofSeconds(10),
          () ->
              assertThat(scan(store, 0, 1, 0, Long.MAX_VALUE))
                  .isEqualTo(rows(1L, "first", bucket, "last")));
    }
  }

  @Test
  void scansReuseTheirStateWithoutMixingRanges() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      write(
          store,
          b -> {
            for (long bucket = 0; bucket < 30; bucket++) {
              b.putRow(0, 1, bucket, bytes("a" + bucket));
            }
          });
      store.compact();

      for (int i = 0; i < 50; i++) {
        long from = i % 25;
        long to = from + 1 + i % 7;
        assertThat(scan(store, 0, 1, from, to))
            .as("scan %d of [%d, %d)", i, from, to)
            .hasSize((int) (to - from))
            .allSatisfy(row -> assertThat(row.getKey()).isBetween(from, to - 1));
      }
    }
  }

  @Test
  void aVisitorThatThrowsLeavesTheStoreUsable() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      write(store, b -> b.putRow(0, 1, 1, bytes("x")));
      RuntimeException boom = new IllegalStateException("boom");

      assertThatThrownBy(
              () ->
                  store.scan(
                      0,
                      1,
                      0,
                      10,
                      (bucket, value) -> {
                        throw boom;
                      }))
          .isSameAs(boom);
      assertThat(scan(store, 0, 1, 0, 10)).isEqualTo(rows(1L, "x"));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Retention

  @Test
  void deleteBeforeDropsWholeEarlierPartitionsAndKeepsLaterRows() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      write(
          store,
          b -> {
            for (long bucket = 0; bucket < 20; bucket++) {
              b.putRow(0, 1, bucket, bytes("a" + bucket));
              b.putRow(0, 2, bucket, bytes("b" + bucket));
              b.putRow(1, 1, bucket, bytes("t" + bucket));
            }
          });

      // bucket 10 is in partition 2 (8-11): partitions 0 and 1 go, 8 and 9 stay
      store.deleteBefore(0, 10);

      List<Long> want = List.of(8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L);
      assertThat(buckets(store, 0, 1, 0, 100)).as("series 1").isEqualTo(want);
      assertThat(buckets(store, 0, 2, 0, 100)).as("series 2").isEqualTo(want);
      assertThat(store.get(0, 1, 7)).as("bucket 7").isNull();
      assertThat(buckets(store, 1, 1, 0, 100)).as("tier 1 untouched").hasSize(20);
    }
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      assertThat(buckets(store, 0, 1, 0, 100)).as("series 1 after reopening").hasSize(12);
    }
  }

  @Test
  void deleteBeforeAPartitionsFirstBucketKeepsThatPartition() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      write(
          store,
          b -> {
            for (long bucket = 0; bucket < 12; bucket++) {
              b.putRow(0, 1, bucket, bytes("a" + bucket));
            }
          });

      store.deleteBefore(0, 8);
      store.deleteBefore(0, 3); // earlier than what is gone: nothing to do

      assertThat(buckets(store, 0, 1, 0, 100)).isEqualTo(List.of(8L, 9L, 10L, 11L));
    }
  }

  @Test
  void rowsWrittenAfterDeleteBeforeIntoDeletedPartitionsAreVisible() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      write(store, b -> b.putRow(0, 1, 20, bytes("new")));
      store.deleteBefore(0, 20);

      // a historical event lands in a partition already dropped
      write(store, b -> b.putRow(0, 1, 2, bytes("old")));

      assertThat(scan(store, 0, 1, 0, 100)).isEqualTo(rows(2L, "old", 20L, "new"));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Metadata

  @Test
  void metaIsPutReadAndDeleted() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      write(store, b -> b.putMeta("checkpoint", bytes("17")));
      assertThat(str(store.getMeta("checkpoint"))).isEqualTo("17");

      write(store, b -> b.deleteMeta("checkpoint"));
      assertThat(store.getMeta("checkpoint")).isNull();
      assertThat(store.getMeta("never")).isNull();
    }
  }

  @Test
  void metaWithPrefixListsOnlyThatPrefixInKeyOrder() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      write(
          store,
          b -> {
            b.putMeta("alert/b", bytes("2"));
            b.putMeta("alert/a", bytes("1"));
            b.putMeta("alert/é", bytes("3"));
            b.putMeta("alert", bytes("bare"));
            b.putMeta("alerts", bytes("other"));
            b.putMeta("alarm/x", bytes("other"));
            b.putMeta("catalog/x", bytes("other"));
          });

      Map<String, byte[]> got = store.metaWithPrefix("alert/");
      assertThat(got.keySet()).containsExactly("alert/a", "alert/b", "alert/é");
      assertThat(str(got.get("alert/é"))).isEqualTo("3");
      assertThat(store.metaWithPrefix("").keySet())
          .as("every key")
          .containsExactly(
              "alarm/x", "alert", "alert/a", "alert/b", "alert/é", "alerts", "catalog/x");
      assertThat(store.metaWithPrefix("zzz")).isEmpty();
      assertThat(store.metaWithPrefix("alert/", "alert/b").keySet())
          .as("from a key on, still within the prefix")
          .containsExactly("alert/b", "alert/é");
      assertThat(store.metaWithPrefix("alert/", "a").keySet())
          .as("a key before the prefix starts at the prefix")
          .containsExactly("alert/a", "alert/b", "alert/é");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Batches and durability

  @Test
  void nothingOfABatchIsVisibleBeforeWrite() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE);
        StoreBatch batch = store.batch()) {
      batch.putRow(0, 1, 1, bytes("x"));
      batch.putMeta("checkpoint", bytes("1"));
      batch.deleteMeta("gone");

      assertThat(batch.size()).isEqualTo(3);
      assertThat(store.get(0, 1, 1)).isNull();
      assertThat(store.getMeta("checkpoint")).isNull();

      store.write(batch);
      assertThat(store.get(0, 1, 1)).isNotNull();
      assertThat(store.getMeta("checkpoint")).isNotNull();
    }
  }

  @Test
  void aReaderNeverSeesACheckpointWithoutItsRows() throws Exception {
    int batches = 300;
    try (RocksRollupStore store = RocksRollupStore.open(dir, SMALL)) {
      AtomicReference<String> violation = new AtomicReference<>();
      Thread reader =
          new Thread(
              () -> {
                try {
                  int seen = -1;
                  while (seen < batches - 1 && violation.get() == null) {
                    byte[] checkpoint = store.getMeta("checkpoint");
                    if (checkpoint == null) {
                      continue;
                    }
                    seen = Integer.parseInt(str(checkpoint));
                    // the batch of checkpoint n wrote rows n of series 1 and 2
                    if (store.get(0, 1, seen) == null || store.get(0, 2, seen) == null) {
                      violation.set("checkpoint " + seen + " visible without its rows");
                    }
                  }
                } catch (IOException e) {
                  violation.set(e.toString());
                }
              });
      reader.start();
      for (int n = 0; n < batches; n++) {
        int checkpoint = n;
        write(
            store,
            b -> {
              b.putRow(0, 1, checkpoint, bytes("a"));
              b.putMeta("checkpoint", bytes(Integer.toString(checkpoint)));
              b.putRow(0, 2, checkpoint, bytes("b"));
            });
      }
      reader.join(30_000);
      assertThat(violation.get()).as("what the reader saw").isNull();
    }
  }

  @Test
  void aWrittenBatchSurvivesCloseAndReopen() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      write(
          store,
          b -> {
            b.putRow(1, 3, 28_421_010, bytes("row"));
            b.putMeta("checkpoint", bytes("99"));
          });
    }
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      assertThat(str(store.get(1, 3, 28_421_010))).isEqualTo("row");
      assertThat(str(store.getMeta("checkpoint"))).isEqualTo("99");
      assertThat(scan(store, 1, 3, 0, Long.MAX_VALUE)).isEqualTo(rows(28_421_010L, "row"));

      write(store, b -> b.putRow(1, 3, 28_421_011, bytes("more")));
      assertThat(buckets(store, 1, 3, 0, Long.MAX_VALUE))
          .as("rows after writing to the reopened store")
          .isEqualTo(List.of(28_421_010L, 28_421_011L));
    }
  }

  @Test
  void rejectsABatchOfAnotherStore() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir.resolve("a"), ENGINE);
        RocksRollupStore other = RocksRollupStore.open(dir.resolve("b"), ENGINE);
        StoreBatch batch = other.batch()) {
      assertThatThrownBy(() -> store.write(batch)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aClosedStoreThrowsInsteadOfCrashing() throws IOException {
    RocksRollupStore store = RocksRollupStore.open(dir, ENGINE);
    store.close();
    store.close();

    assertThatThrownBy(() -> store.get(0, 1, 1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> scan(store, 0, 1, 0, 1)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void openingADirectoryTwiceFailsAndLeavesTheFirstStoreWorking() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      assertThatThrownBy(() -> RocksRollupStore.open(dir, ENGINE))
          .isInstanceOf(IOException.class)
          .hasMessageContaining(dir.toString());

      write(store, b -> b.putRow(0, 1, 1, bytes("x")));
      assertThat(store.get(0, 1, 1)).isNotNull();
    }
  }

  @Test
  void diskBytesGrowWithRows() throws IOException {
    try (RocksRollupStore store = RocksRollupStore.open(dir, ENGINE)) {
      long empty = store.diskBytes();
      write(
          store,
          b -> {
            for (int series = 0; series < 100; series++) {
              for (long bucket = 0; bucket < 100; bucket++) {
                b.putRow(1, series, bucket, new byte[60]);
              }
            }
          });
      long full = store.diskBytes();

      assertThat(full)
          .withFailMessage("got %d bytes after 10,000 rows, want more than %d empty", full, empty)
          .isGreaterThan(empty + 10_000 * 17);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The store against a model (property)

  /** Puts applied in one batch, then something that happens to the store. */
  record Step(List<Put> puts, After after) {}

  record Put(int tier, int series, long bucket, int value) {}

  sealed interface After {}

  record Nothing() implements After {}

  record Compact() implements After {}

  record Reopen() implements After {}

  record DeleteBefore(int tier, long bucket) implements After {}

  record Scan(int tier, int series, long from, long to) {}

  @Property(tries = 40)
  void scansAgreeWithASortedMapModel(
      @ForAll("steps") List<Step> steps, @ForAll("scans") List<Scan> scans) throws IOException {
    withTempDir(
        tmp -> {
          // (tier, series) -> bucket -> value
          Map<List<Integer>, NavigableMap<Long, String>> model = new HashMap<>();
          RocksRollupStore store = RocksRollupStore.open(tmp, SMALL);
          try {
            for (Step step : steps) {
              try (StoreBatch batch = store.batch()) {
                for (Put put : step.puts()) {
                  String value = "v" + put.value();
                  batch.putRow(put.tier(), put.series(), put.bucket(), bytes(value));
                  model
                      .computeIfAbsent(List.of(put.tier(), put.series()), k -> new TreeMap<>())
                      .put(put.bucket(), value);
                }
                store.write(batch);
              }
              if (step.after() instanceof Compact) {
                store.compact();
              } else if (step.after() instanceof Reopen) {
                store.close();
                store = RocksRollupStore.open(tmp, SMALL);
              } else if (step.after() instanceof DeleteBefore d) {
                store.deleteBefore(d.tier(), d.bucket());
                long kept = d.bucket() / SMALL[d.tier()] * SMALL[d.tier()];
                model.forEach(
                    (key, rows) -> {
                      if (key.get(0) == d.tier()) {
                        rows.headMap(kept).clear();
                      }
                    });
              }
              for (Scan scan : scans) {
                checkScan(store, model, scan);
              }
            }
          } finally {
            store.close();
          }
        });
  }

  private static void checkScan(
      RocksRollupStore store, Map<List<Integer>, NavigableMap<Long, String>> model, Scan scan)
      throws IOException {
    NavigableMap<Long, String> rows =
        model.getOrDefault(List.of(scan.tier(), scan.series()), new TreeMap<>());
    List<Map.Entry<Long, String>> want =
        scan.from() < scan.to()
            ? List.copyOf(rows.subMap(scan.from(), true, scan.to(), false).entrySet())
            : List.of();
    List<Map.Entry<Long, String>> got =
        scan(store, scan.tier(), scan.series(), scan.from(), scan.to());
    assertThat(got).withFailMessage("%s: got %s, want %s", scan, got, want).isEqualTo(want);
  }

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<Put> put =
        Combinators.combine(
                Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 3),
                Arbitraries.longs().between(0, 40),
                Arbitraries.integers().between(0, 999))
            .as(Put::new);
    Arbitrary<After> after =
        Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.just(new Nothing())),
            Tuple.of(2, Arbitraries.just(new Compact())),
            Tuple.of(2, Arbitraries.just(new Reopen())),
            Tuple.of(
                1,
                Combinators.combine(
                        Arbitraries.integers().between(0, 2), Arbitraries.longs().between(0, 30))
                    .as(DeleteBefore::new)));
    return Combinators.combine(put.list().ofMaxSize(40), after)
        .as(Step::new)
        .list()
        .ofMinSize(1)
        .ofMaxSize(6);
  }

  @Provide
  Arbitrary<List<Scan>> scans() {
    return Combinators.combine(
            Arbitraries.integers().between(0, 2),
            Arbitraries.integers().between(0, 3),
            Arbitraries.longs().between(-2, 45),
            Arbitraries.longs().between(-2, 45))
        .as(Scan::new)
        .list()
        .ofMinSize(1)
        .ofMaxSize(12);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  interface BatchFiller {
    void fill(StoreBatch batch);
  }

  private static void write(RocksRollupStore store, BatchFiller filler) throws IOException {
    try (StoreBatch batch = store.batch()) {
      filler.fill(batch);
      store.write(batch);
    }
  }

  private static List<Map.Entry<Long, String>> scan(
      RollupStore store, int tier, int series, long from, long to) throws IOException {
    List<Map.Entry<Long, String>> rows = new ArrayList<>();
    store.scan(tier, series, from, to, (bucket, value) -> rows.add(Map.entry(bucket, str(value))));
    return rows;
  }

  private static List<Long> buckets(RollupStore store, int tier, int series, long from, long to)
      throws IOException {
    return scan(store, tier, series, from, to).stream().map(Map.Entry::getKey).toList();
  }

  private static List<Map.Entry<Long, String>> rows(Object... bucketsAndValues) {
    List<Map.Entry<Long, String>> rows = new ArrayList<>();
    for (int i = 0; i < bucketsAndValues.length; i += 2) {
      rows.add(Map.entry((Long) bucketsAndValues[i], (String) bucketsAndValues[i + 1]));
    }
    return rows;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  private static String str(byte[] b) {
    return new String(b, UTF_8);
  }

  interface DirAction {
    void run(Path dir) throws IOException;
  }

  private static void withTempDir(DirAction action) throws IOException {
    Path tmp = Files.createTempDirectory("rocks-property");
    try {
      action.run(tmp);
    } finally {
      try (Stream<Path> files = Files.walk(tmp)) {
        files
            .sorted(Comparator.reverseOrder())
            .forEach(
                p -> {
                  try {
                    Files.delete(p);
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                });
      }
    }
  }
}
