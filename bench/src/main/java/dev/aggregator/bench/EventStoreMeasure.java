package dev.aggregator.bench;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.storage.ParquetEventStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A one-off measurement of {@link ParquetEventStore}: append+seal rows/s for 1 M standard-ish
 * events (page 200 values, category 20, country 50, device 3, source 5, a numeric value, 100,000
 * users), bytes per event after compaction with and without 16-character client ids, and the
 * latency of an hourly sum filtered on one category over the 1 M rows.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.aggregator.bench.EventStoreMeasure [events]
 * </pre>
 */
public final class EventStoreMeasure {
  private static final String QUERY =
      "SELECT time_ms // 3600000 AS b, sum(value) FROM events WHERE category = 'cat4' GROUP BY b";

  private EventStoreMeasure() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    for (boolean ids : new boolean[] {false, true}) {
      run(n, ids);
    }
  }

  private static void run(int n, boolean ids) throws Exception {
    List<Event> events = generate(n, ids);
    Path dir = Files.createTempDirectory("event-store-measure");
    ParquetEventStore.Options options = ParquetEventStore.Options.defaults();
    long start = System.nanoTime();
    try (ParquetEventStore store = ParquetEventStore.open(dir, options)) {
      for (int i = 0; i < n; i += 10_000) {
        store.append(events.subList(i, Math.min(n, i + 10_000)), i + 1);
      }
      if (!store.awaitVisible(n, 600_000)) {
        throw new IllegalStateException("not visible");
      }
      double secs = (System.nanoTime() - start) / 1e9;
      System.out.printf(
          "ids=%s: append+seal %d events in %.2f s = %.0f rows/s; %s%n",
          ids, n, secs, n / secs, store.stats());
      queryLatency(store, "before compaction");
    }
    // Reopen compacting at 2 files; one more event makes a seal, and the seal a compaction.
    try (ParquetEventStore store =
        ParquetEventStore.open(dir, options.withCompaction(2, 4_000_000))) {
      long t = System.nanoTime();
      store.append(List.of(events.get(n - 1)), n + 1L);
      store.awaitVisible(n + 1L, 60_000);
      while (store.stats().files() > 1) {
        Thread.sleep(20);
      }
      ParquetEventStore.Stats s = store.stats();
      System.out.printf(
          "ids=%s: compacted in %.2f s: %s -> %.1f bytes/event%n",
          ids, (System.nanoTime() - t) / 1e9, s, (double) s.bytes() / s.rows());
      queryLatency(store, "after compaction");
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static void queryLatency(ParquetEventStore store, String when) throws Exception {
    long[] micros = new long[7];
    long groups = 0;
    for (int i = 0; i < micros.length; i++) {
      long t = System.nanoTime();
      groups =
          store.query(
              "page_view",
              Long.MIN_VALUE,
              Long.MAX_VALUE,
              QUERY,
              List.of(),
              rs -> {
                long g = 0;
                while (rs.next()) {
                  g++;
                }
                return g;
              });
      micros[i] = (System.nanoTime() - t) / 1_000;
    }
    long first = micros[0];
    Arrays.sort(micros);
    System.out.printf(
        "  query %s: %d groups, first %.1f ms, median %.1f ms, min %.1f ms%n",
        when, groups, first / 1e3, micros[micros.length / 2] / 1e3, micros[0] / 1e3);
  }

  private static List<Event> generate(int n, boolean ids) {
    SplittableRandom r = new SplittableRandom(42);
    String[] sources = {"web", "ios", "android", "server", "api"};
    String[] devices = {"mobile", "desktop", "tablet"};
    long t0 = 1_796_169_600_000L; // 2026-12-02: one day of events, one partition
    List<Event> events = new ArrayList<>(n);
    EventProperties.Builder b = EventProperties.builder();
    char[] id = new char[16];
    String alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (int i = 0; i < n; i++) {
      String clientId = null;
      if (ids) {
        for (int k = 0; k < id.length; k++) {
          id[k] = alphabet.charAt(r.nextInt(alphabet.length()));
        }
        clientId = new String(id);
      }
      b.string("page", "/page/" + r.nextInt(200))
          .string("category", "cat" + r.nextInt(20))
          .string("country", "c" + r.nextInt(50))
          .string("device", devices[r.nextInt(3)])
          .number("value", Math.round(r.nextDouble() * 10_000) / 100.0);
      events.add(
          new Event(
              clientId,
              "page_view",
              "user" + r.nextInt(100_000),
              t0 + (long) i * 86_400_000L / n,
              sources[r.nextInt(5)],
              b.build()));
    }
    return events;
  }
}
