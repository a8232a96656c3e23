package dev.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.Aggregator;
import dev.aggregator.EngineConfig;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.Timestamps;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Filters and groupBy at real cardinality, with default settings: the standard workload's five
 * dimensions (page 200, category 20, country 50, device 3, source 5 — 3 M combinations) plus a
 * {@code url} with ~150,000 values, far past the rollups' caps. Every answer is checked against a
 * brute-force count over the events themselves, which shares no code with the engine, and says
 * which way it was computed.
 */
class ExactAtCardinalityTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-12-02T12:00:00Z");
  private static final long START = NOW - 2 * 86_400_000L;
  private static final int N = 300_000;

  @TempDir static Path dir;
  private static Aggregator agg;
  private static final List<Event> events = new ArrayList<>(N);

  @BeforeAll
  static void load() throws Exception {
    agg = Aggregator.open(EngineConfig.defaults(dir), () -> NOW);
    Random r = new Random(42);
    String[] sources = {"web", "ios", "android", "api", "email"};
    String[] devices = {"desktop", "mobile", "tablet"};
    for (int i = 0; i < N; i++) {
      EventProperties.Builder p =
          EventProperties.builder()
              .string("page", "/p/" + r.nextInt(200))
              .string("category", "cat" + r.nextInt(20))
              .string("country", "C" + r.nextInt(50))
              .string("url", "/u/" + r.nextInt(150_000))
              .number("value", Math.round(r.nextDouble() * 10_000) / 100.0);
      if (r.nextInt(10) > 0) {
        p.string("device", devices[r.nextInt(3)]); // one in ten events has no device
      }
      // Out of order: any time in the two days, in any order.
      long ts = START + (long) (r.nextDouble() * 2 * 86_400_000L);
      String user = "u" + r.nextInt(20_000);
      events.add(
          new Event(
              null, r.nextInt(4) == 0 ? "b" : "a", user, ts, sources[r.nextInt(5)], p.build()));
    }
    for (int i = 0; i < N; i += 5_000) {
      var done = agg.pipeline().submit(events.subList(i, Math.min(N, i + 5_000)));
      while (done == null) { // in-flight bound reached (a 429 over HTTP): wait and retry
        Thread.sleep(20);
        done = agg.pipeline().submit(events.subList(i, Math.min(N, i + 5_000)));
      }
      done.join();
    }
    while (agg.runner().appliedUpTo() < N - 1) {
      Thread.sleep(10);
    }
  }

  @AfterAll
  static void close() {
    agg.close();
  }

  private static QueryResult query(String... params) throws InvalidQueryException {
    return agg.queries().run(parse(params));
  }

  private static Query parse(String... params) throws InvalidQueryException {
    Map<String, List<String>> map = new HashMap<>();
    for (int i = 0; i < params.length; i += 2) {
      map.computeIfAbsent(params[i], k -> new ArrayList<>()).add(params[i + 1]);
    }
    map.putIfAbsent("start", List.of(Timestamps.format(START - START % 3_600_000L)));
    map.putIfAbsent("end", List.of(Timestamps.format(NOW)));
    return agg.queryParser().parse(k -> map.getOrDefault(k, List.of()));
  }

  private static String dim(Event e, String key) {
    if (key.equals("source")) {
      return e.source();
    }
    int i = e.properties().indexOf(key);
    return i < 0 ? null : e.properties().string(i);
  }

  /** The oracle: events of type {@code type} matching {@code filter}, per hour bucket. */
  private static Map<Long, List<Event>> hourly(String type, Predicate<Event> filter) {
    Map<Long, List<Event>> out = new TreeMap<>();
    for (Event e : events) {
      if (e.eventType().equals(type) && filter.test(e)) {
        out.computeIfAbsent(e.timestamp() - e.timestamp() % 3_600_000L, k -> new ArrayList<>())
            .add(e);
      }
    }
    return out;
  }

  private static double value(Event e) {
    return e.properties().number(e.properties().indexOf("value"));
  }

  private static Map<Long, Double> points(QueryResult.Series s) {
    Map<Long, Double> out = new TreeMap<>();
    for (QueryResult.Point p : s.data()) {
      out.put(p.timestamp(), p.value());
    }
    return out;
  }

  private static void assertClose(Map<Long, Double> got, Map<Long, Double> want) {
    assertThat(got.keySet()).as("buckets").isEqualTo(want.keySet());
    for (Map.Entry<Long, Double> w : want.entrySet()) {
      double g = got.get(w.getKey());
      assertThat(g)
          .as("bucket %s: got %s, want %s", Timestamps.format(w.getKey()), g, w.getValue())
          .isCloseTo(
              w.getValue(),
              org.assertj.core.data.Offset.offset(1e-6 * Math.abs(w.getValue()) + 1e-9));
    }
  }

  private static Map<Long, Double> counts(Map<Long, List<Event>> byHour) {
    Map<Long, Double> out = new TreeMap<>();
    byHour.forEach((h, list) -> out.put(h, (double) list.size()));
    return out;
  }

  private static Map<Long, Double> sums(Map<Long, List<Event>> byHour) {
    Map<Long, Double> out = new TreeMap<>();
    byHour.forEach((h, list) -> out.put(h, list.stream().mapToDouble(e -> value(e)).sum()));
    return out;
  }

  /** The url of the {@code nth} last event of type a whose url the rollups do not keep. */
  private static String unkeptUrl(int nth) {
    for (int i = events.size() - 1; i >= 0; i--) {
      Event e = events.get(i);
      String url = dim(e, "url");
      if (e.eventType().equals("a")
          && agg.rollups().read(r -> r.catalog().schema("a").codeOf("url", url)) <= 0
          && nth-- == 0) {
        return url;
      }
    }
    throw new AssertionError("every url is kept: the test no longer passes the cap");
  }

  /** An hourly sum filtered on one url, checked against the oracle; returns the answer. */
  private static QueryResult hourlySumOfUrl(String type, String url) throws Exception {
    QueryResult r =
        query(
            "metric",
            type + "_value",
            "function",
            "sum",
            "granularity",
            "1h",
            "filter",
            "url:" + url);
    assertClose(points(r.series().get(0)), sums(hourly(type, e -> url.equals(dim(e, "url")))));
    return r;
  }

  @Test
  void aFilterOnAValueTheRollupsKeepIsExactFromTheRollups() throws Exception {
    QueryResult r = hourlySumOfUrl(events.get(7).eventType(), dim(events.get(7), "url"));

    assertThat(r.source()).isEqualTo(QueryResult.ROLLUP);
  }

  @Test
  void aFilterOnAValuePastTheCapIsExactFromTheRawEvents() throws Exception {
    QueryResult r = hourlySumOfUrl("a", unkeptUrl(0));

    assertThat(r.source()).isEqualTo(QueryResult.EVENTS);
    assertThat(r.warnings()).isEmpty();
  }

  @Test
  void aOneKeyFilterWithOrIsExact() throws Exception {
    QueryResult r =
        query(
            "metric",
            "a",
            "function",
            "count",
            "granularity",
            "1h",
            "filter",
            "category:cat4|cat7");

    Set<String> wanted = Set.of("cat4", "cat7");
    assertClose(
        points(r.series().get(0)), counts(hourly("a", e -> wanted.contains(dim(e, "category")))));
  }

  @Test
  void aThreeKeyFilterIsExact() throws Exception {
    QueryResult r =
        query(
            "metric",
            "a_value",
            "function",
            "max",
            "granularity",
            "1h",
            "filter",
            "category:cat4",
            "filter",
            "device:mobile",
            "filter",
            "source:web|ios");

    Map<Long, Double> want = new TreeMap<>();
    hourly(
            "a",
            e ->
                "cat4".equals(dim(e, "category"))
                    && "mobile".equals(dim(e, "device"))
                    && Set.of("web", "ios").contains(e.source()))
        .forEach(
            (h, list) -> want.put(h, list.stream().mapToDouble(e -> value(e)).max().orElseThrow()));
    assertThat(r.source()).isEqualTo(QueryResult.EVENTS);
    assertClose(points(r.series().get(0)), want);
  }

  @Test
  void groupByDeviceCountsEveryEventOnceIncludingThoseWithoutOne() throws Exception {
    QueryResult r =
        query("metric", "a", "function", "count", "granularity", "1d", "groupBy", "device");

    Map<String, Long> want = new HashMap<>();
    long total = 0;
    for (Event e : events) {
      if (e.eventType().equals("a") && e.timestamp() >= NOW - NOW % 86_400_000L - 2 * 86_400_000L) {
        want.merge(String.valueOf(dim(e, "device")), 1L, Long::sum);
        total++;
      }
    }
    Map<String, Long> got = new HashMap<>();
    long gotTotal = 0;
    for (QueryResult.Series s : r.series()) {
      long n = s.data().stream().mapToLong(p -> p.value().longValue()).sum();
      got.put(String.valueOf(s.dimensions().get("device")), n);
      gotTotal += n;
    }
    assertThat(got).isEqualTo(want);
    assertThat(gotTotal).isEqualTo(total);
    assertThat(got).doesNotContainKey("__other__");
  }

  @Test
  void groupByAHighCardinalityDimensionKeepsTheTopAndFoldsTheRestExactly() throws Exception {
    QueryResult r =
        query(
            "metric",
            "b",
            "function",
            "count",
            "granularity",
            "1d",
            "groupBy",
            "url",
            "limit",
            "5",
            "start",
            Timestamps.format(NOW - NOW % 86_400_000L - 86_400_000L));

    long from = NOW - NOW % 86_400_000L - 86_400_000L;
    Map<String, Long> byUrl = new HashMap<>();
    long total = 0;
    for (Event e : events) {
      if (e.eventType().equals("b") && e.timestamp() >= from) {
        byUrl.merge(dim(e, "url"), 1L, Long::sum);
        total++;
      }
    }
    List<Map.Entry<String, Long>> ranked = new ArrayList<>(byUrl.entrySet());
    ranked.sort(
        Map.Entry.<String, Long>comparingByValue()
            .reversed()
            .thenComparing(en -> "{url=" + en.getKey() + "}"));
    assertThat(r.series()).hasSize(6);
    long sum = 0;
    for (int i = 0; i < 5; i++) {
      QueryResult.Series s = r.series().get(i);
      assertThat(s.dimensions()).isEqualTo(Map.of("url", ranked.get(i).getKey()));
      long n = s.data().stream().mapToLong(p -> p.value().longValue()).sum();
      assertThat(n).isEqualTo(ranked.get(i).getValue());
      sum += n;
    }
    QueryResult.Series other = r.series().get(5);
    assertThat(other.dimensions()).isEqualTo(Map.of("url", "__other__"));
    sum += other.data().stream().mapToLong(p -> p.value().longValue()).sum();
    assertThat(sum).isEqualTo(total);
  }

  @Test
  void percentilesAndUniqueUsersFromRawEventsAreExact() throws Exception {
    QueryResult p95 =
        query(
            "metric",
            "a_value",
            "function",
            "p95",
            "granularity",
            "1h",
            "filter",
            "country:C3",
            "filter",
            "page:/p/9|/p/10");
    QueryResult users =
        query(
            "metric",
            "a",
            "function",
            "unique_users",
            "granularity",
            "1h",
            "filter",
            "country:C3",
            "filter",
            "page:/p/9|/p/10");

    Map<Long, List<Event>> byHour =
        hourly(
            "a",
            e ->
                "C3".equals(dim(e, "country")) && Set.of("/p/9", "/p/10").contains(dim(e, "page")));
    Map<Long, Double> wantP95 = new TreeMap<>();
    Map<Long, Double> wantUsers = new TreeMap<>();
    byHour.forEach(
        (h, list) -> {
          double[] v = list.stream().mapToDouble(e -> value(e)).sorted().toArray();
          int rank = (int) Math.ceil(Math.round(0.95 * v.length * 1e7) / 1e7);
          wantP95.put(h, v[Math.max(0, rank - 1)]);
          Set<String> u = new HashSet<>();
          list.forEach(e -> u.add(e.userId()));
          wantUsers.put(h, (double) u.size());
        });
    assertClose(points(p95.series().get(0)), wantP95);
    assertClose(points(users.series().get(0)), wantUsers);
  }

  @Test
  void everyQueryBothPathsCanAnswerGetsTheSameNumbersFromBoth() throws Exception {
    String[][] shapes = {
      {},
      {"filter", "country:C3"},
      {"filter", "category:cat1|cat2"},
      {"filter", "page:/p/7"},
      {"groupBy", "country"},
      {"groupBy", "source", "limit", "3"},
      {"groupBy", "category", "filter", "category:cat1|cat2|cat3"},
    };
    String[][] times = {
      {"granularity", "1h"}, {"granularity", "1d"}, {"granularity", "1d", "tz", "Asia/Kolkata"}
    };
    String[][] functions = {
      {"a", "count"},
      {"a_value", "sum"},
      {"a_value", "avg"},
      {"a_value", "min"},
      {"a_value", "max"},
      {"a", "unique_users"}
    };
    int compared = 0;
    for (String[] shape : shapes) {
      for (String[] time : times) {
        for (String[] fn : functions) {
          List<String> params = new ArrayList<>(List.of("metric", fn[0], "function", fn[1]));
          params.addAll(List.of(shape));
          params.addAll(List.of(time));
          String[] p = params.toArray(new String[0]);
          Query q = parse(p);
          QueryResult rollup = agg.queries().run(q);
          QueryResult raw = agg.queries().runFromEvents(q);
          String what = String.join(" ", p);
          assertThat(rollup.source()).as(what).isEqualTo(QueryResult.ROLLUP);
          assertThat(raw.source()).as(what).isEqualTo(QueryResult.EVENTS);
          assertThat(rollup.series()).as(what).hasSameSizeAs(raw.series());
          boolean sketch = fn[1].equals("unique_users");
          for (int i = 0; i < raw.series().size(); i++) {
            QueryResult.Series want = raw.series().get(i);
            QueryResult.Series got = rollup.series().get(i);
            if (sketch) { // estimates rank groups a little differently: compare the same group
              got =
                  rollup.series().stream()
                      .filter(x -> x.dimensions().equals(want.dimensions()))
                      .findFirst()
                      .orElse(null);
              if (got == null || want.dimensions().containsValue("__other__")) {
                continue;
              }
            }
            assertThat(got.dimensions()).as(what).isEqualTo(want.dimensions());
            Map<Long, Double> g = points(got);
            Map<Long, Double> w = points(want);
            assertThat(g.keySet()).as(what).isEqualTo(w.keySet());
            for (Map.Entry<Long, Double> e : w.entrySet()) {
              double tolerance =
                  sketch ? 3 * dev.aggregator.aggregation.UserSketch.relativeStandardError() : 1e-9;
              assertThat(g.get(e.getKey()))
                  .as("%s at %s", what, Timestamps.format(e.getKey()))
                  .isCloseTo(
                      e.getValue(),
                      org.assertj.core.data.Offset.offset(
                          tolerance * Math.abs(e.getValue()) + 1e-9));
              compared++;
            }
          }
        }
      }
    }
    assertThat(compared).isGreaterThan(1_000);
  }

  @Test
  void anUnfilteredCountComesFromTheRollupsAndAgreesWithTheRawEvents() throws Exception {
    QueryResult r = query("metric", "a", "function", "count", "granularity", "1h");

    assertThat(r.source()).isEqualTo(QueryResult.ROLLUP);
    assertClose(points(r.series().get(0)), counts(hourly("a", e -> true)));
  }

  @Test
  void aZonedDailyBreakdownFromRawEventsUsesLocalMidnights() throws Exception {
    QueryResult r =
        query(
            "metric",
            "a",
            "function",
            "count",
            "granularity",
            "1d",
            "tz",
            "Asia/Kolkata",
            "filter",
            "url:" + unkeptUrl(0) + "|" + unkeptUrl(1),
            "start",
            Timestamps.format(START + 86_400_000L),
            "fill",
            "zero");

    Set<String> urls = Set.of(unkeptUrl(0), unkeptUrl(1));
    Map<Long, Double> want = new LinkedHashMap<>();
    long first = Timestamps.parseRfc3339("2026-12-01T00:00:00+05:30");
    for (long d = first; d < NOW; d += 86_400_000L) {
      long from = d;
      want.put(
          d,
          (double)
              events.stream()
                  .filter(
                      e ->
                          e.eventType().equals("a")
                              && e.timestamp() >= from
                              && e.timestamp() < from + 86_400_000L
                              && e.timestamp() < NOW
                              && urls.contains(dim(e, "url")))
                  .count());
    }
    assertThat(r.source()).isEqualTo(QueryResult.EVENTS);
    assertClose(points(r.series().get(0)), want);
    assertThat(Arrays.asList(r.series().get(0).data().get(0).timestamp())).containsExactly(first);
  }
}
