package dev.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.testing.TestEvents;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Filters, grouping, top-N, caps, sketches and time zones, against an in-memory engine. */
class DimensionQueryTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private static final long HOUR = 3_600_000L;
  private static final long T = NOW - 2 * HOUR; // inside every full tier

  private RollupEngine rollups = new RollupEngine(Tier.DEFAULTS, 1_000_000, Duration.ofMinutes(1));

  private void ingest(List<Event> events) {
    rollups.apply(events, NOW, (i, e, o) -> {});
  }

  private static Event view(String country, String device, double value, String user) {
    return TestEvents.event("page_view")
        .at(T)
        .user(user)
        .prop("country", country)
        .prop("device", device)
        .prop("value", value)
        .build();
  }

  private QueryResult run(
      String metric,
      AggregateFunction f,
      Map<String, List<String>> filters,
      List<String> groupBy,
      int limit)
      throws InvalidQueryException {
    long b = Granularity.H1.bucketStart(T);
    return new QueryEngine(rollups, () -> NOW)
        .run(
            new Query(
                metric, b, b + HOUR, Granularity.H1, f, Fill.NONE, filters, groupBy, limit, null));
  }

  private static double only(QueryResult r) {
    assertThat(r.data()).hasSize(1);
    return r.data().get(0).value();
  }

  private void standardSet() {
    ingest(
        List.of(
            view("DE", "mobile", 10, "u1"),
            view("DE", "desktop", 20, "u2"),
            view("FR", "mobile", 30, "u1"),
            view("FR", "mobile", 40, "u3"),
            view("US", "tablet", 50, "u4"),
            TestEvents.event("page_view").at(T).user("u5").prop("value", 60).build()));
  }

  @Test
  void filtersAndAcrossKeysAndOrWithinAKey() throws Exception {
    standardSet();

    assertThat(
            only(
                run(
                    "page_view",
                    AggregateFunction.COUNT,
                    Map.of("country", List.of("DE")),
                    List.of(),
                    10)))
        .isEqualTo(2);
    assertThat(
            only(
                run(
                    "page_view_value",
                    AggregateFunction.SUM,
                    Map.of("country", List.of("DE", "FR")),
                    List.of(),
                    10)))
        .isEqualTo(100);
    assertThat(
            only(
                run(
                    "page_view_value",
                    AggregateFunction.SUM,
                    new LinkedHashMap<>(
                        Map.of("country", List.of("FR"), "device", List.of("mobile"))),
                    List.of(),
                    10)))
        .isEqualTo(70);
    assertThat(
            run(
                    "page_view",
                    AggregateFunction.COUNT,
                    Map.of("country", List.of("JP")),
                    List.of(),
                    10)
                .data())
        .as("no match, no data")
        .isEmpty();
    assertThat(only(run("page_view", AggregateFunction.COUNT, Map.of(), List.of(), 10)))
        .as("unfiltered reads the total, including the event without dimensions")
        .isEqualTo(6);
  }

  @Test
  void groupsByDimensionsRankedByTotalWithTheRestAsOther() throws Exception {
    standardSet();

    QueryResult r = run("page_view_value", AggregateFunction.SUM, Map.of(), List.of("country"), 2);

    assertThat(r.series()).hasSize(3);
    assertThat(r.series().get(0).dimensions()).containsEntry("country", "FR");
    assertThat(r.series().get(0).data().get(0).value()).isEqualTo(70);
    assertThat(r.series().get(1).dimensions()).containsEntry("country", null);
    assertThat(r.series().get(1).data().get(0).value())
        .as("the event without a country")
        .isEqualTo(60);
    assertThat(r.series().get(2).dimensions()).containsEntry("country", "__other__");
    assertThat(r.series().get(2).data().get(0).value()).as("US 50 + DE 30").isEqualTo(80);
    double total = r.series().stream().mapToDouble(s -> s.data().get(0).value()).sum();
    assertThat(total).as("totals still add up").isEqualTo(210);
  }

  @Test
  void groupsByTwoDimensions() throws Exception {
    standardSet();

    QueryResult r =
        run(
            "page_view",
            AggregateFunction.COUNT,
            Map.of("country", List.of("FR", "DE")),
            List.of("country", "device"),
            10);

    List<String> got = new ArrayList<>();
    for (QueryResult.Series s : r.series()) {
      got.add(
          s.dimensions().get("country")
              + "/"
              + s.dimensions().get("device")
              + "="
              + s.data().get(0).value());
    }
    assertThat(got).containsExactly("FR/mobile=2.0", "DE/desktop=1.0", "DE/mobile=1.0");
  }

  @Test
  void computesPercentilesAndUniqueUsersWithFilters() throws Exception {
    standardSet();

    assertThat(
            only(
                run(
                    "page_view_value",
                    AggregateFunction.P50,
                    Map.of("device", List.of("mobile")),
                    List.of(),
                    10)))
        .isEqualTo(30);
    assertThat(only(run("page_view_value", AggregateFunction.P99, Map.of(), List.of(), 10)))
        .isEqualTo(60);
    assertThat(
            only(
                run(
                    "page_view",
                    AggregateFunction.UNIQUE_USERS,
                    Map.of("device", List.of("mobile")),
                    List.of(),
                    10)))
        .as("u1 twice, u3")
        .isEqualTo(2);
    assertThat(only(run("page_view", AggregateFunction.UNIQUE_USERS, Map.of(), List.of(), 10)))
        .isEqualTo(5);
  }

  @Test
  void countsUniqueUsersAcrossBucketsAsAUnionNotASum() throws Exception {
    long day = Granularity.D1.bucketStart(T);
    List<Event> events = new ArrayList<>();
    for (int hour = 0; hour < 24; hour++) {
      for (int u = 0; u < 100; u++) {
        events.add(
            TestEvents.event("visit").at(day - 86_400_000L + hour * HOUR).user("user" + u).build());
      }
    }
    ingest(events);

    QueryResult r =
        new QueryEngine(rollups, () -> NOW)
            .run(
                new Query(
                    "visit",
                    day - 86_400_000L,
                    day,
                    Granularity.D1,
                    AggregateFunction.UNIQUE_USERS,
                    Fill.NONE));

    assertThat(r.data().get(0).value())
        .as("the same 100 users every hour are 100 users a day, not 2,400")
        .isCloseTo(
            100,
            org.assertj.core.data.Offset.offset(
                100 * 3 * dev.aggregator.aggregation.UserSketch.relativeStandardError()));
  }

  @Test
  void foldsValuesPastTheCapIntoOtherAndWarns() throws Exception {
    rollups =
        new RollupEngine(
            Tier.DEFAULTS,
            new CatalogLimits(100, 8, 2, 100, 8),
            1_000_000,
            Duration.ofMinutes(1),
            null);
    ingest(
        List.of(
            view("DE", "m", 1, "a"),
            view("FR", "m", 2, "b"),
            view("US", "m", 3, "c"),
            view("JP", "m", 4, "d")));

    QueryResult r = run("page_view_value", AggregateFunction.SUM, Map.of(), List.of("country"), 10);

    Map<String, Double> byCountry = new LinkedHashMap<>();
    r.series().forEach(s -> byCountry.put(s.dimensions().get("country"), s.data().get(0).value()));
    assertThat(byCountry)
        .containsEntry("DE", 1.0)
        .containsEntry("FR", 2.0)
        .containsEntry("__other__", 7.0);
    assertThat(r.warnings())
        .anyMatch(w -> w.contains("dimension country of page_view reached its cap of 2 values"));
    assertThat(
            only(
                run(
                    "page_view_value",
                    AggregateFunction.SUM,
                    Map.of("country", List.of("__other__")),
                    List.of(),
                    10)))
        .isEqualTo(7);
  }

  @Test
  void foldsCombinationsPastTheSeriesCapIntoOneOverflowSeries() throws Exception {
    rollups =
        new RollupEngine(
            Tier.DEFAULTS,
            new CatalogLimits(100, 8, 100, 2, 8),
            1_000_000,
            Duration.ofMinutes(1),
            null);
    ingest(
        List.of(
            view("DE", "m", 1, "a"),
            view("FR", "m", 2, "b"),
            view("US", "m", 3, "c"),
            view("US", "t", 4, "d")));

    QueryResult r =
        run("page_view_value", AggregateFunction.SUM, Map.of(), List.of("country", "device"), 10);

    assertThat(r.series())
        .extracting(s -> s.dimensions().get("country"))
        .containsExactlyInAnyOrder("__other__", "FR", "DE");
    assertThat(r.warnings())
        .anyMatch(w -> w.contains("page_view reached its cap of dimension combinations"));
    assertThat(only(run("page_view_value", AggregateFunction.SUM, Map.of(), List.of(), 10)))
        .as("the total is exact whatever the caps")
        .isEqualTo(10);
  }

  @Test
  void startsDaysAtLocalMidnightAcrossDaylightSavingChanges() throws Exception {
    // Europe/Berlin switched to summer time on 2026-03-29 (a 23-hour day) and back on 2026-10-25
    // (25 hours). An event at 23:30 UTC on the 28th is 00:30 local on the 29th.
    ZoneId berlin = ZoneId.of("Europe/Berlin");
    rollups = new RollupEngine(Tier.parseList("1h,1d"), 1_000_000, Duration.ofMinutes(1));
    ingest(
        List.of(
            TestEvents.event("x").at("2026-03-28T23:30:00Z").build(),
            TestEvents.event("x").at("2026-03-29T21:30:00Z").build(), // 23:30 CEST, still the 29th
            TestEvents.event("x").at("2026-03-29T22:30:00Z").build(), // 00:30 on the 30th
            TestEvents.event("x").at("2026-10-25T22:59:00Z").build())); // 23:59 CET on the 25th

    QueryResult march =
        new QueryEngine(rollups, () -> NOW)
            .run(
                new Query(
                    "x",
                    Timestamps.parseRfc3339("2026-03-28T00:00:00Z"),
                    Timestamps.parseRfc3339("2026-03-31T00:00:00Z"),
                    Granularity.D1,
                    AggregateFunction.COUNT,
                    Fill.NONE,
                    Map.of(),
                    List.of(),
                    10,
                    berlin));
    assertThat(march.data())
        .extracting(p -> Timestamps.format(p.timestamp()) + "=" + p.value())
        .containsExactly("2026-03-28T23:00:00Z=2.0", "2026-03-29T22:00:00Z=1.0");

    QueryResult october =
        new QueryEngine(rollups, () -> NOW)
            .run(
                new Query(
                    "x",
                    Timestamps.parseRfc3339("2026-10-24T22:00:00Z"),
                    Timestamps.parseRfc3339("2026-10-26T23:00:00Z"),
                    Granularity.D1,
                    AggregateFunction.COUNT,
                    Fill.ZERO,
                    Map.of(),
                    List.of(),
                    10,
                    berlin));
    assertThat(october.data())
        .extracting(p -> Timestamps.format(p.timestamp()) + "=" + p.value())
        .as("the 25th is 25 hours long: 22:00 UTC (CEST midnight) to 23:00 UTC (CET midnight)")
        .containsExactly("2026-10-24T22:00:00Z=1.0", "2026-10-25T23:00:00Z=0.0");
  }

  @Test
  void refusesDimensionsAtAGranularityOnlyTheTotalsTierServes() {
    standardSet();
    long b = Granularity.S10.bucketStart(NOW - 60_000);
    assertThatThrownBy(
            () ->
                new QueryEngine(rollups, () -> NOW)
                    .run(
                        new Query(
                            "page_view",
                            b,
                            b + 10_000,
                            Granularity.S10,
                            AggregateFunction.COUNT,
                            Fill.NONE,
                            Map.of("country", List.of("DE")),
                            List.of(),
                            10,
                            null)))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining(
            "need a tier that keeps dimensions and sketches: use granularity 1m or coarser");
  }
}
