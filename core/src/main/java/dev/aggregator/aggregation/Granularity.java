package dev.aggregator.aggregation;

import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * A bucket width. Buckets align to the UTC epoch; weeks start on Monday 00:00 UTC (ISO 8601), as in
 * Druid and every calendar, rather than on the epoch's Thursday.
 */
public enum Granularity {
  S1("1s", 1_000L),
  S10("10s", 10_000L),
  S30("30s", 30_000L),
  M1("1m", 60_000L),
  M5("5m", 300_000L),
  M15("15m", 900_000L),
  M30("30m", 1_800_000L),
  H1("1h", 3_600_000L),
  H6("6h", 21_600_000L),
  H12("12h", 43_200_000L),
  D1("1d", 86_400_000L),
  W1("1w", 604_800_000L);

  /** 1970-01-01 was a Thursday: shifting by 3 days puts week boundaries on Mondays. */
  private static final long WEEK_SHIFT = 3 * 86_400_000L;

  private final String label;
  private final long millis;

  Granularity(String label, long millis) {
    this.label = label;
    this.millis = millis;
  }

  /** The label used in the API, e.g. {@code 1m}. */
  public String label() {
    return label;
  }

  public long millis() {
    return millis;
  }

  public Duration duration() {
    return Duration.ofMillis(millis);
  }

  /** The granularity for a label such as {@code 5m}, or null. */
  public static Granularity parse(String label) {
    for (Granularity g : values()) {
      if (g.label.equals(label)) {
        return g;
      }
    }
    return null;
  }

  /** The supported labels, for error messages: {@code 1s, 10s, ..., 1w}. */
  public static String labels() {
    return Arrays.stream(values()).map(Granularity::label).collect(Collectors.joining(", "));
  }

  /** The start of the bucket holding {@code epochMillis}. */
  public long bucketStart(long epochMillis) {
    long shift = this == W1 ? WEEK_SHIFT : 0;
    return Math.floorDiv(epochMillis + shift, millis) * millis - shift;
  }

  /** The bucket's index since the epoch (its start divided by the width). */
  public long bucketIndex(long epochMillis) {
    long shift = this == W1 ? WEEK_SHIFT : 0;
    return Math.floorDiv(epochMillis + shift, millis);
  }

  /** Whether every bucket of {@code coarser} is a whole number of buckets of this one. */
  public boolean divides(Granularity coarser) {
    return coarser.millis % millis == 0;
  }
}
