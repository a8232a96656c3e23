package dev.aggregator.query;

import dev.aggregator.aggregation.Stats;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How the values in one output bucket become one number. All of these are exact. */
public enum AggregateFunction {
  COUNT,
  SUM,
  AVG,
  MIN,
  MAX;

  /** The API name, e.g. {@code avg}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static AggregateFunction parse(String label) {
    for (AggregateFunction f : values()) {
      if (f.label().equals(label)) {
        return f;
      }
    }
    return null;
  }

  public static String labels() {
    return Arrays.stream(values()).map(AggregateFunction::label).collect(Collectors.joining(", "));
  }

  /** Whether this function means something for an event count (count and sum both count). */
  public boolean appliesToCount() {
    return this == COUNT || this == SUM;
  }

  /** The value of a non-empty bucket. */
  public double apply(Stats s, boolean countMetric) {
    if (countMetric) {
      return s.count();
    }
    return switch (this) {
      case COUNT -> s.count();
      case SUM -> s.sum();
      case AVG -> s.avg();
      case MIN -> s.min();
      case MAX -> s.max();
    };
  }
}
