package dev.aggregator.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.event.Timestamps;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class GranularityTest {

  @Test
  void alignsBucketsToTheUtcEpoch() {
    long t = Timestamps.parseRfc3339("2024-01-15T10:37:42.123Z");
    assertThat(Timestamps.format(Granularity.S10.bucketStart(t))).isEqualTo("2024-01-15T10:37:40Z");
    assertThat(Timestamps.format(Granularity.M15.bucketStart(t))).isEqualTo("2024-01-15T10:30:00Z");
    assertThat(Timestamps.format(Granularity.H6.bucketStart(t))).isEqualTo("2024-01-15T06:00:00Z");
    assertThat(Timestamps.format(Granularity.D1.bucketStart(t))).isEqualTo("2024-01-15T00:00:00Z");
  }

  @Test
  void startsWeeksOnMonday() {
    for (long day = 0; day < 30; day++) {
      long t = Timestamps.parseRfc3339("2024-01-01T12:00:00Z") + day * 86_400_000L;
      Instant start = Instant.ofEpochMilli(Granularity.W1.bucketStart(t));
      assertThat(start.atOffset(ZoneOffset.UTC).getDayOfWeek()).isEqualTo(DayOfWeek.MONDAY);
      assertThat(start.toEpochMilli()).isLessThanOrEqualTo(t).isGreaterThan(t - 7 * 86_400_000L);
    }
  }

  @Test
  void parsesEveryLabelOfTheApi() {
    assertThat(Granularity.labels())
        .isEqualTo("1s, 10s, 30s, 1m, 5m, 15m, 30m, 1h, 6h, 12h, 1d, 1w");
    for (Granularity g : Granularity.values()) {
      assertThat(Granularity.parse(g.label())).isEqualTo(g);
    }
    assertThat(Granularity.parse("2m")).isNull();
  }

  @Test
  void parsesTierLists() {
    assertThat(Tier.parseList("1h, 1s:6h,1m:30d, 1d:forever"))
        .containsExactly(
            new Tier(Granularity.S1, Duration.ofHours(6)),
            new Tier(Granularity.M1, Duration.ofDays(30)),
            new Tier(Granularity.H1, null),
            new Tier(Granularity.D1, null));
    assertThatThrownBy(() -> Tier.parseList("2m"))
        .hasMessageContaining("unknown tier resolution '2m'");
    assertThatThrownBy(() -> Tier.parseList("1m:5x")).hasMessageContaining("not a duration");
    assertThatThrownBy(() -> Tier.parseList("1m,1m")).hasMessageContaining("given twice");
  }

  @Test
  void formatsDurationsInTheirShortestExactForm() {
    assertThat(Durations.format(Duration.ofHours(6))).isEqualTo("6h");
    assertThat(Durations.format(Duration.ofSeconds(90))).isEqualTo("90s");
    assertThat(Durations.format(Duration.ofDays(14))).isEqualTo("2w");
    assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(Durations.format(Duration.ZERO)).isEqualTo("0s");
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
  }
}
