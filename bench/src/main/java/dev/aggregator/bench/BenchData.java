package dev.aggregator.bench;

import dev.aggregator.event.Event;
import dev.aggregator.testing.StandardWorkload;
import dev.aggregator.testing.StandardWorkload.Generated;
import dev.aggregator.testing.StandardWorkload.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/** Inputs the benchmarks share: slices of the standard workload, and temp-dir cleanup. */
final class BenchData {
  /** What the decoder accepts: everything but the invalid events (retries are valid JSON). */
  static final Set<Kind> DECODABLE = Set.of(Kind.VALID, Kind.LATE, Kind.HISTORICAL, Kind.DUPLICATE);

  /** What reaches the log and the rollups: dedup has dropped the retries. */
  static final Set<Kind> ACCEPTED = Set.of(Kind.VALID, Kind.LATE, Kind.HISTORICAL);

  private BenchData() {}

  /** The first {@code n} events of the workload whose kind is in {@code kinds}. */
  static List<Generated> generate(int n, long seed, long nowMillis, Set<Kind> kinds) {
    return generate(n, seed, nowMillis, kinds, StandardWorkload.DEFAULT_LATE_PER_100K);
  }

  /** As above, with {@code latePer100k} late events per 100,000. */
  static List<Generated> generate(
      int n, long seed, long nowMillis, Set<Kind> kinds, int latePer100k) {
    StandardWorkload workload = new StandardWorkload(seed, () -> nowMillis, latePer100k);
    List<Generated> out = new ArrayList<>(n);
    while (out.size() < n) {
      Generated g = workload.next();
      if (kinds.contains(g.kind())) {
        out.add(g);
      }
    }
    return out;
  }

  /** {@code n} events as the log and the rollups see them (valid, late and historical). */
  static List<Event> accepted(int n, long seed, long nowMillis) {
    return accepted(n, seed, nowMillis, StandardWorkload.DEFAULT_LATE_PER_100K);
  }

  /** As above, with {@code latePer100k} late events per 100,000. */
  static List<Event> accepted(int n, long seed, long nowMillis, int latePer100k) {
    List<Event> events = new ArrayList<>(n);
    for (Generated g : generate(n, seed, nowMillis, ACCEPTED, latePer100k)) {
      events.add(g.event());
    }
    return List.copyOf(events);
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
