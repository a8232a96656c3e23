package dev.aggregator.query;

import dev.aggregator.aggregation.FieldSummary;
import dev.aggregator.aggregation.RollupRow;
import dev.aggregator.aggregation.UserSketch;
import dev.aggregator.aggregation.ValueSketch;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How the events in one output bucket become one number. count, sum, avg, min and max are exact;
 * the percentiles come from a KLL sketch (rank error {@link ValueSketch#normalizedRankError()}) and
 * unique_users from an HLL sketch (relative error {@link UserSketch#relativeStandardError()}), both
 * exact while a bucket holds few values, and both merge across buckets, series and tiers.
 */
public enum AggregateFunction {
  COUNT("count", -1),
  SUM("sum", -1),
  AVG("avg", -1),
  MIN("min", -1),
  MAX("max", -1),
  P50("p50", 0.50),
  P90("p90", 0.90),
  P95("p95", 0.95),
  P99("p99", 0.99),
  UNIQUE_USERS("unique_users", -1);

  private final String label;
  private final double rank;

  AggregateFunction(String label, double rank) {
    this.label = label;
    this.rank = rank;
  }

  /** The API name, e.g. {@code p95}. */
  public String label() {
    return label;
  }

  public static AggregateFunction parse(String label) {
    for (AggregateFunction f : values()) {
      if (f.label.equals(label)) {
        return f;
      }
    }
    return null;
  }

  public static String labels() {
    return Arrays.stream(values()).map(AggregateFunction::label).collect(Collectors.joining(", "));
  }

  public boolean isPercentile() {
    return rank >= 0;
  }

  /** Whether the function needs a sketch (kept only in tiers that are not totals-only). */
  public boolean needsSketch() {
    return isPercentile() || this == UNIQUE_USERS;
  }

  /** Whether it means something for an event count: count and sum both count events. */
  public boolean appliesToCount() {
    return this == COUNT || this == SUM || this == UNIQUE_USERS;
  }

  /**
   * The value of a bucket, or null if the bucket holds nothing for the metric.
   *
   * @param field the metric's field index, or -1 for the event count
   */
  public Double apply(RollupRow row, int field) {
    if (field < 0) {
      if (row.isEmpty()) {
        return null;
      }
      return this == UNIQUE_USERS ? users(row) : (double) row.count();
    }
    FieldSummary f = row.field(field);
    if (f == null || f.count() == 0) {
      return null;
    }
    return switch (this) {
      case COUNT -> (double) f.count();
      case SUM -> f.sum();
      case AVG -> f.sum() / f.count();
      case MIN -> f.min();
      case MAX -> f.max();
      case P50, P90, P95, P99 -> f.values() == null ? null : f.values().quantile(rank);
      case UNIQUE_USERS -> users(row);
    };
  }

  private static double users(RollupRow row) {
    UserSketch u = row.users();
    return u == null ? 0 : Math.round(u.estimate());
  }

  @Override
  public String toString() {
    return label.toUpperCase(Locale.ROOT);
  }
}
