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

/**
 * Filters, grouping, top-N, caps, sketches and time zones, against an in-memory engine with no raw
 * event store: what its rollups cannot answer exactly is refused.
 */
class DimensionQueryTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private static final long HOUR = 3_600_000L;
  private static final long T = NOW - 2 * HOUR; // inside every full tier

  private static final CatalogLimits COUNTRY_BY_DEVICE =
      CatalogLimits.defaults().withCombinations(List.of(List.of("country", "device")));

  private RollupEngine rollups = engine(COUNTRY_BY_DEVICE);

  private static RollupEngine engine(CatalogLimits limits) {
    return new RollupEngine(Tier.DEFAULTS, limits, 1_000_000, Duration.ofMinutes(1), null);
  }

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

  /** Five events that all carry country and device. */
  private void denseSet() {
    ingest(
        List.of(
            view("DE", "mobile", 10, "u1"),
            view("DE", "desktop", 20, "u2"),
            view("FR", "mobile", 30, "u1"),
            view("FR", "mobile", 40, "u3"),
            view("US", "tablet", 50, "u4")));
  }

  /** The dense set and one event without dimensions. */
  private void standardSet() {
    denseSet();
    ingest(List.of(TestEvents.event("page_view").at(T).user("u5").prop("value", 60).build()));
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
    denseSet();

    QueryResult r = run("page_view_value", AggregateFunction.SUM, Map.of(), List.of("country"), 2);

    assertThat(r.source()).isEqualTo(QueryResult.ROLLUP);
    assertThat(r.series()).hasSize(3);
    assertThat(r.series().get(0).dimensions()).containsEntry("country", "FR");
    assertThat(r.series().get(0).data().get(0).value()).isEqualTo(70);
    assertThat(r.series().get(1).dimensions()).containsEntry("country", "US");
    assertThat(r.series().get(1).data().get(0).value()).isEqualTo(50);
    assertThat(r.series().get(2).dimensions()).containsEntry("country", "__other__");
    assertThat(r.series().get(2).data().get(0).value()).as("DE 30").isEqualTo(30);
    double total = r.series().stream().mapToDouble(s -> s.data().get(0).value()).sum();
    assertThat(total).as("totals still add up").isEqualTo(150);
  }

  @Test
  void refusesABreakdownThatNeedsAGroupForEventsWithoutTheKey() {
    standardSet();

    assertThatThrownBy(
            () -> run("page_view_value", AggregateFunction.SUM, Map.of(), List.of("country"), 10))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining("some events of page_view lack dimension country");
  }

  @Test
  void groupsByTwoDimensionsOfADeclaredCombination() throws Exception {
    denseSet();

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
  void refusesKeySetsNoDeclaredCombinationHolds() {
    rollups = engine(CatalogLimits.defaults());
    denseSet();

    assertThatThrownBy(
            () ->
                run(
                    "page_view",
                    AggregateFunction.COUNT,
                    Map.of("country", List.of("FR")),
                    List.of("device"),
                    10))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining("needs the declared combination country+device (setting rollups)");
  }

  @Test
  void computesPercentilesAndUniqueUsersWithFilters() throws Exception {
    standardSet();

    assertThatThrownBy(
            () ->
                run(
                    "page_view_value",
                    AggregateFunction.P50,
                    Map.of("device", List.of("mobile")),
                    List.of(),
                    10))
        .as("the rollups keep value sketches for totals only")
        .hasMessageContaining("percentiles of a filtered or grouped selection");
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
  void theCatalogByteBudgetLeavesNewValuesOutOfTheRollupsAndKeepsTotalsExact() throws Exception {
    // Room for the two keys, the field and a few values: a client sending ever new values (or
    // keys) meets this bound across every dimension and type, not only per dimension.
    rollups =
        engine(
            new CatalogLimits(
                100, 8, 100_000, 100, 8, CatalogLimits.DEFAULT_VALUE_BYTES, 1_500, List.of()));
    List<Event> events = new java.util.ArrayList<>();
    for (int i = 0; i < 50; i++) {
      events.add(view("C" + i, "m", 1, "u" + i));
    }
    ingest(events);
    rollups.read(
        r -> {
          assertThat(r.catalog().full()).isTrue();
          assertThat(r.catalog().bytes()).isLessThanOrEqualTo(1_500);
          assertThat(r.catalog().schema("page_view").isCapped("country")).isTrue();
          return null;
        });
    assertThat(only(run("page_view_value", AggregateFunction.SUM, Map.of(), List.of(), 10)))
        .as("the total is exact whatever the budget")
        .isEqualTo(50);
    assertThat(
            only(
                run(
                    "page_view_value",
                    AggregateFunction.SUM,
                    Map.of("country", List.of("C0")),
                    List.of(),
                    10)))
        .as("a value kept before the budget was reached holds every one of its events")
        .isEqualTo(1);
    assertThatThrownBy(
            () ->
                run(
                    "page_view_value",
                    AggregateFunction.SUM,
                    Map.of("country", List.of("C49")),
                    List.of(),
                    10))
        .hasMessageContaining("value C49 of country is not among the values");
  }

  @Test
  void answersKnownValuesPastTheValueCapAndRefusesTheRest() throws Exception {
    rollups = engine(new CatalogLimits(100, 8, 2, 100, 8));
    ingest(
        List.of(
            view("DE", "m", 1, "a"),
            view("FR", "m", 2, "b"),
            view("US", "m", 3, "c"),
            view("JP", "m", 4, "d")));

    assertThat(
            only(
                run(
                    "page_view_value",
                    AggregateFunction.SUM,
                    Map.of("country", List.of("DE", "FR")),
                    List.of(),
                    10)))
        .as("values kept before the cap hold every one of their events")
        .isEqualTo(3);
    assertThatThrownBy(
            () -> run("page_view_value", AggregateFunction.SUM, Map.of(), List.of("country"), 10))
        .hasMessageContaining("dimension country of page_view has more values than the rollups");
    assertThatThrownBy(
            () ->
                run(
                    "page_view_value",
                    AggregateFunction.SUM,
                    Map.of("country", List.of("JP")),
                    List.of(),
                    10))
        .hasMessageContaining("value JP of country is not among the values");
    assertThat(only(run("page_view_value", AggregateFunction.SUM, Map.of(), List.of(), 10)))
        .as("the total is exact whatever the caps")
        .isEqualTo(10);
  }

  @Test
  void refusesACombinationPastItsCapOfSeriesButNotItsMarginals() throws Exception {
    rollups =
        engine(
            new CatalogLimits(100, 8, 100, 2, 8)
                .withCombinations(List.of(List.of("country", "device"))));
    ingest(
        List.of(
            view("DE", "m", 1, "a"),
            view("FR", "m", 2, "b"),
            view("US", "m", 3, "c"),
            view("US", "t", 4, "d")));

    assertThatThrownBy(
            () ->
                run(
                    "page_view_value",
                    AggregateFunction.SUM,
                    Map.of(),
                    List.of("country", "device"),
                    10))
        .hasMessageContaining("within its cap of series");
    QueryResult byCountry =
        run("page_view_value", AggregateFunction.SUM, Map.of(), List.of("country"), 10);
    Map<String, Double> got = new LinkedHashMap<>();
    byCountry
        .series()
        .forEach(s -> got.put(s.dimensions().get("country"), s.data().get(0).value()));
    assertThat(got)
        .containsExactly(Map.entry("US", 7.0), Map.entry("FR", 2.0), Map.entry("DE", 1.0));
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
