package dev.aggregator.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.aggregation.RollupEngine.Outcome;
import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.testing.TestEvents;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RollupEngineTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private static final long HOUR = 3_600_000L;

  private final RollupEngine engine =
      new RollupEngine(Tier.DEFAULTS, 1_000_000, Duration.ofMinutes(1));

  private List<Outcome> apply(Event... events) {
    List<Outcome> outcomes = new ArrayList<>();
    engine.apply(List.of(events), NOW, (i, e, o) -> outcomes.add(o));
    return outcomes;
  }

  /** What one bucket of {@code metric}'s total series holds in tier {@code tier}. */
  private Stats bucket(String metric, int tier, long timestamp) {
    return bucket(engine, metric, tier, timestamp);
  }

  /** Count, or the field's count/sum/min/max, of one bucket. */
  record Stats(long count, double sum, double min, double max) {
    boolean isEmpty() {
      return count == 0;
    }
  }

  static Stats bucket(RollupEngine engine, String metric, int tier, long timestamp) {
    return engine.read(
        r -> {
          RollupRow acc = new RollupRow();
          Catalog.MetricRef m = r.catalog().resolve(metric);
          if (m != null) {
            long index = r.tiers().get(tier).resolution().bucketIndex(timestamp);
            r.readRows(
                tier,
                m.schema().totalSeries(),
                index,
                index + 1,
                new RollupReader.RowNeeds(-2, true, true),
                (b, row) -> acc.merge(row));
          }
          if (m == null || m.isCount()) {
            return new Stats(acc.count(), acc.count(), 0, 0);
          }
          FieldSummary f = acc.field(m.fieldIndex());
          return f == null
              ? new Stats(0, 0, 0, 0)
              : new Stats(f.count(), f.sum(), f.min(), f.max());
        });
  }

  @Test
  void countsAnEventInEveryTierThatCoversIt() {
    long t = NOW - 10_000;
    apply(TestEvents.event("page_view").at(t).build());

    for (int tier = 0; tier < 4; tier++) {
      assertThat(bucket("page_view", tier, t).count()).as("tier %d", tier).isEqualTo(1);
    }
    assertThat(engine.memoryRows())
        .as("the 1s total, and the 1m total and combination; 1h and 1d are rolled up from 1m")
        .isEqualTo(3);
  }

  @Test
  void summarizesNumericPropertiesAsFieldSeries() {
    long t = NOW - 10_000;
    apply(
        TestEvents.event("purchase").at(t).prop("value", 10.0).prop("page", "/a").build(),
        TestEvents.event("purchase").at(t + 1).prop("value", 30.0).build(),
        TestEvents.event("purchase").at(t + 2).build());

    Stats value = bucket("purchase_value", 2, t);
    assertThat(value.count()).isEqualTo(2);
    assertThat(value.sum()).isEqualTo(40.0);
    assertThat(value.min()).isEqualTo(10.0);
    assertThat(value.max()).isEqualTo(30.0);
    assertThat(bucket("purchase_count", 2, t).count()).isEqualTo(3);
    assertThat(bucket("purchase_page", 2, t).isEmpty())
        .as("string properties are dimensions, not fields")
        .isTrue();
  }

  @Test
  void historicalEventsLandOnlyInTiersWhoseRetentionCoversThem() {
    long t = Timestamps.parseRfc3339("2024-01-15T10:30:00Z");
    assertThat(apply(TestEvents.event("page_view").at(t).build()))
        .containsExactly(Outcome.AGGREGATED);

    assertThat(bucket("page_view", 0, t).count()).as("1s tier keeps 6h").isZero();
    assertThat(bucket("page_view", 1, t).count()).as("1m tier keeps 30d").isZero();
    assertThat(bucket("page_view", 2, t).count()).as("1h tier keeps forever").isEqualTo(1);
    assertThat(bucket("page_view", 3, t).count()).as("1d tier keeps forever").isEqualTo(1);
  }

  @Test
  void outOfOrderEventsLandInTheBucketTheirTimestampNames() {
    long t = NOW - 2 * HOUR;
    apply(
        TestEvents.event("x").at(t + 3_000).build(),
        TestEvents.event("x").at(t).build(),
        TestEvents.event("x").at(t + 1_000).build(),
        TestEvents.event("x").at(t).build());

    assertThat(bucket("x", 0, t).count()).isEqualTo(2);
    assertThat(bucket("x", 0, t + 1_000).count()).isEqualTo(1);
    assertThat(bucket("x", 0, t + 3_000).count()).isEqualTo(1);
    assertThat(bucket("x", 1, t).count()).isEqualTo(4);
  }

  @Test
  void countsAnEventBehindTheWatermarkByMoreThanTheLatenessAsLate() {
    assertThat(
            apply(
                TestEvents.event("x").at(NOW).build(),
                TestEvents.event("x").at(NOW - 59_000).build(),
                TestEvents.event("x").at(NOW - 61_000).build()))
        .containsExactly(Outcome.AGGREGATED, Outcome.AGGREGATED, Outcome.LATE);
    assertThat(bucket("x", 1, NOW - 61_000).count())
        .as("late events are still counted")
        .isEqualTo(1);
  }

  @Test
  void expiresAnEventOlderThanEveryTierRetention() {
    RollupEngine bounded =
        new RollupEngine(
            List.of(
                new Tier(Granularity.S1, Duration.ofHours(1)),
                new Tier(Granularity.M1, Duration.ofDays(1))),
            1_000,
            Duration.ofMinutes(1));
    List<Outcome> outcomes = new ArrayList<>();
    bounded.apply(
        List.of(TestEvents.event("x").at(NOW - Duration.ofDays(2).toMillis()).build()),
        NOW,
        (i, e, o) -> outcomes.add(o));

    assertThat(outcomes).containsExactly(Outcome.EXPIRED);
    assertThat(bounded.memoryRows()).isZero();
  }

  @Test
  void failsEventsOnceTheBucketBoundIsReached() {
    RollupEngine small =
        new RollupEngine(List.of(new Tier(Granularity.S1, null, true)), 3, Duration.ofMinutes(1));
    List<Outcome> outcomes = new ArrayList<>();
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      events.add(TestEvents.event("x").at(NOW - i * 1_000L).build());
    }
    small.apply(events, NOW, (i, e, o) -> outcomes.add(o));

    assertThat(outcomes)
        .containsExactly(
            Outcome.AGGREGATED,
            Outcome.AGGREGATED,
            Outcome.AGGREGATED,
            Outcome.FAILED,
            Outcome.FAILED);
    assertThat(small.memoryRows()).isEqualTo(3);
  }

  @Test
  void dropsBucketsThatFallOutOfRetention() throws Exception {
    long t = NOW - 5 * HOUR;
    apply(TestEvents.event("x").at(t).build());
    assertThat(bucket("x", 0, t).count()).isEqualTo(1);

    engine.expire(NOW + 2 * HOUR);

    assertThat(bucket("x", 0, t).count()).as("the 1s bucket is past its 6h").isZero();
    assertThat(bucket("x", 1, t).count()).isEqualTo(1);
  }

  @Test
  void resolvesTheCountAliasAndFieldNames() {
    apply(TestEvents.event("page_view").at(NOW).prop("count", 5.0).prop("value", 1.0).build());

    engine.read(
        r -> {
          Catalog c = r.catalog();
          assertThat(c.resolve("page_view").isCount()).isTrue();
          assertThat(c.resolve("page_view_count").isCount())
              .as("the seed's count alias wins over a field named count")
              .isTrue();
          assertThat(c.resolve("page_view_value").field()).isEqualTo("value");
          assertThat(c.resolve("page_view_nothing")).isNull();
          return null;
        });
  }

  @Test
  void keepsManyBucketsCorrectThroughTableGrowth() {
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      events.add(
          TestEvents.event("t" + (i % 7)).at(NOW - (i % 5_000) * 1_000L).prop("v", i).build());
    }
    apply(events.toArray(Event[]::new));

    long total = 0;
    for (int i = 0; i < 5_000; i++) {
      for (int type = 0; type < 7; type++) {
        total += bucket("t" + type, 0, NOW - i * 1_000L).count();
      }
    }
    assertThat(total).isEqualTo(20_000);
  }
}
