package dev.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.testing.TestEvents;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class QueryEngineTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private static final long MIN = 60_000L;

  private final RollupEngine rollups =
      new RollupEngine(Tier.DEFAULTS, 1_000_000, Duration.ofMinutes(1));
  private final QueryEngine engine = new QueryEngine(rollups, () -> NOW);

  private void ingest(Event... events) {
    rollups.apply(List.of(events), NOW, (i, e, o) -> {});
  }

  private List<QueryResult.Point> run(
      String metric, long start, long end, Granularity g, AggregateFunction f, Fill fill)
      throws InvalidQueryException {
    return engine.run(new Query(metric, start, end, g, f, fill)).data();
  }

  private static QueryResult.Point point(long t, Double v) {
    return new QueryResult.Point(t, v);
  }

  @Test
  void answersTheSeedSampleQueryInTheRightBucket() throws Exception {
    ingest(
        TestEvents.event("page_view")
            .at("2024-01-15T10:30:00Z")
            .user("user123")
            .prop("page", "/products")
            .prop("category", "electronics")
            .prop("value", 99.99)
            .build());
    long day = Timestamps.parseRfc3339("2024-01-15T00:00:00Z");

    assertThat(
            run(
                "page_view_count",
                day,
                day + 24 * 60 * MIN,
                Granularity.H1,
                AggregateFunction.SUM,
                Fill.NONE))
        .containsExactly(point(Timestamps.parseRfc3339("2024-01-15T10:00:00Z"), 1.0));
    assertThat(
            run(
                "page_view_value",
                day,
                day + 24 * 60 * MIN,
                Granularity.D1,
                AggregateFunction.SUM,
                Fill.NONE))
        .containsExactly(point(day, 99.99));
  }

  @Test
  void computesEveryExactFunctionPerBucket() throws Exception {
    long t = NOW - 30 * MIN;
    ingest(
        TestEvents.event("buy").at(t).prop("value", 4).build(),
        TestEvents.event("buy").at(t + 1000).prop("value", 10).build(),
        TestEvents.event("buy").at(t + 2000).prop("value", 1).build(),
        TestEvents.event("buy").at(t + 3000).build());
    long b = Granularity.M5.bucketStart(t);

    assertThat(run("buy_value", b, b + 5 * MIN, Granularity.M5, AggregateFunction.COUNT, Fill.NONE))
        .containsExactly(point(b, 3.0));
    assertThat(run("buy_value", b, b + 5 * MIN, Granularity.M5, AggregateFunction.SUM, Fill.NONE))
        .containsExactly(point(b, 15.0));
    assertThat(run("buy_value", b, b + 5 * MIN, Granularity.M5, AggregateFunction.AVG, Fill.NONE))
        .containsExactly(point(b, 5.0));
    assertThat(run("buy_value", b, b + 5 * MIN, Granularity.M5, AggregateFunction.MIN, Fill.NONE))
        .containsExactly(point(b, 1.0));
    assertThat(run("buy_value", b, b + 5 * MIN, Granularity.M5, AggregateFunction.MAX, Fill.NONE))
        .containsExactly(point(b, 10.0));
    assertThat(run("buy", b, b + 5 * MIN, Granularity.M5, AggregateFunction.COUNT, Fill.NONE))
        .containsExactly(point(b, 4.0));
  }

  @Test
  void fillsEmptyBucketsAsAsked() throws Exception {
    long b = Granularity.M1.bucketStart(NOW - 10 * MIN);
    ingest(
        TestEvents.event("x").at(b + MIN).prop("v", 2).build(),
        TestEvents.event("x").at(b + 3 * MIN).prop("v", 5).build());
    long end = b + 4 * MIN;

    assertThat(run("x_v", b, end, Granularity.M1, AggregateFunction.SUM, Fill.NONE))
        .containsExactly(point(b + MIN, 2.0), point(b + 3 * MIN, 5.0));
    assertThat(run("x_v", b, end, Granularity.M1, AggregateFunction.SUM, Fill.ZERO))
        .containsExactly(
            point(b, 0.0), point(b + MIN, 2.0), point(b + 2 * MIN, 0.0), point(b + 3 * MIN, 5.0));
    assertThat(run("x_v", b, end, Granularity.M1, AggregateFunction.SUM, Fill.NULL))
        .containsExactly(
            point(b, null), point(b + MIN, 2.0), point(b + 2 * MIN, null), point(b + 3 * MIN, 5.0));
    assertThat(run("x_v", b, end, Granularity.M1, AggregateFunction.SUM, Fill.PREVIOUS))
        .containsExactly(point(b + MIN, 2.0), point(b + 2 * MIN, 2.0), point(b + 3 * MIN, 5.0));
  }

  @Test
  void answersAnUnknownMetricWithNoData() throws Exception {
    assertThat(
            run(
                "never_seen",
                NOW - 60 * MIN,
                NOW,
                Granularity.M1,
                AggregateFunction.SUM,
                Fill.NONE))
        .isEmpty();
    assertThat(
            run(
                "never_seen",
                NOW - 3 * MIN,
                NOW,
                Granularity.M1,
                AggregateFunction.COUNT,
                Fill.ZERO))
        .extracting(QueryResult.Point::value)
        .containsExactly(0.0, 0.0, 0.0);
  }

  @Test
  void refusesAvgOfAnEventCount() {
    ingest(TestEvents.event("x").at(NOW).build());
    assertThatThrownBy(
            () -> run("x_count", NOW - MIN, NOW, Granularity.M1, AggregateFunction.AVG, Fill.NONE))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining("x_count counts events; use function count, sum or unique_users");
  }

  @Test
  void readsTheCoarsestTierThatDividesTheGranularity() throws Exception {
    // An event 40 days old is only in the 1h and 1d tiers, yet 6h and 1w queries see it.
    long t = NOW - Duration.ofDays(40).toMillis();
    ingest(TestEvents.event("x").at(t).build());

    assertThat(
            run(
                "x",
                t - 86_400_000L,
                t + 86_400_000L,
                Granularity.H6,
                AggregateFunction.COUNT,
                Fill.NONE))
        .containsExactly(point(Granularity.H6.bucketStart(t), 1.0));
    assertThat(
            run(
                "x",
                t - 86_400_000L,
                t + 86_400_000L,
                Granularity.W1,
                AggregateFunction.COUNT,
                Fill.NONE))
        .containsExactly(point(Granularity.W1.bucketStart(t), 1.0));
  }

  @Test
  void stitchesTiersAcrossARetentionBoundary() throws Exception {
    // 1m kept 2h, 10s kept forever: a 1m query over the last 4h reads 1m buckets for the last 2h
    // and sums 10s buckets before that, seamlessly.
    RollupEngine r =
        new RollupEngine(
            List.of(new Tier(Granularity.S10, null), new Tier(Granularity.M1, Duration.ofHours(2))),
            100_000,
            Duration.ofMinutes(1));
    QueryEngine q = new QueryEngine(r, () -> NOW);
    long start = Granularity.M1.bucketStart(NOW - 4 * 60 * MIN);
    List<Event> events = new java.util.ArrayList<>();
    for (long t = start; t < NOW; t += 20_000) {
      events.add(TestEvents.event("x").at(t).build());
    }
    r.apply(events, NOW, (i, e, o) -> {});

    List<QueryResult.Point> points =
        q.run(new Query("x", start, NOW, Granularity.M1, AggregateFunction.COUNT, Fill.ZERO))
            .data();

    assertThat(points).hasSize(240);
    assertThat(points).extracting(QueryResult.Point::value).containsOnly(3.0);
  }

  @Test
  void refusesAGranularityFinerThanEveryTierHoldingTheRange() {
    long t = Timestamps.parseRfc3339("2024-01-15T10:30:00Z");
    assertThatThrownBy(
            () -> run("x", t, t + 60 * MIN, Granularity.M1, AggregateFunction.SUM, Fill.NONE))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining(
            "granularity 1m is finer than every tier still holding data at 2024-01-15T10:30:00Z")
        .hasMessageContaining("1s totals kept 6h, 1m kept 30d, 1h kept forever, 1d kept forever");
  }
}
