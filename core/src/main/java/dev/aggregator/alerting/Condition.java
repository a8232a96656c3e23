package dev.aggregator.alerting;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a rule checks its window's value against.
 *
 * <p>The comparisons hold when {@code value <op> threshold}. {@link #ABSENT} holds when the window
 * has no data at all (a source stopped sending). {@link #RATE_OF_CHANGE} compares the percent
 * change against the previous window of the same length: a positive threshold fires on a rise of at
 * least that much ({@code 50} = up 50 % or more), a negative one on a fall ({@code -50} = down by
 * half or more).
 *
 * <p>Hysteresis: with a {@code recoveryThreshold}, a firing alert recovers only once the value is
 * past it ({@code greater_than 90, recoveryThreshold 80} recovers below 80, not at 89.9), so a
 * value hovering at the threshold does not flap. Without one, it recovers as soon as the condition
 * stops holding.
 */
public enum Condition {
  GREATER_THAN,
  LESS_THAN,
  EQUALS,
  GREATER_OR_EQUAL,
  LESS_OR_EQUAL,
  NOT_EQUALS,
  ABSENT,
  RATE_OF_CHANGE;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @throws IllegalArgumentException naming the accepted conditions
   */
  public static Condition parse(String text) {
    for (Condition c : values()) {
      if (c.wire().equalsIgnoreCase(text.strip())) {
        return c;
      }
    }
    throw new IllegalArgumentException("unknown condition '" + text + "'; use one of " + labels());
  }

  public static String labels() {
    return Arrays.stream(values()).map(Condition::wire).collect(Collectors.joining(", "));
  }

  /** Whether it needs a threshold ({@link #ABSENT} does not). */
  public boolean needsThreshold() {
    return this != ABSENT;
  }

  /**
   * Which side of the threshold a recovery threshold must lie on, if the condition has one: +1
   * above or at it (a rule firing on low values recovers above), -1 below or at it, 0 when a
   * recovery threshold means nothing (equals, not_equals, absent).
   */
  int recoverySide(double threshold) {
    return switch (this) {
      case GREATER_THAN, GREATER_OR_EQUAL -> -1;
      case LESS_THAN, LESS_OR_EQUAL -> 1;
      case RATE_OF_CHANGE -> threshold >= 0 ? -1 : 1;
      case EQUALS, NOT_EQUALS, ABSENT -> 0;
    };
  }

  /**
   * Judges one evaluation.
   *
   * @param value the window's value; null when the window has no data for it
   * @param previous the previous window's value (only {@link #RATE_OF_CHANGE} reads it)
   * @param recoveryThreshold null for none
   * @return the verdict, and the value the condition judged (the percent change for rate_of_change)
   */
  public Judgement judge(
      Double value, Double previous, double threshold, Double recoveryThreshold) {
    if (this == ABSENT) {
      return new Judgement(value == null ? Verdict.BREACHED : Verdict.RECOVERED, value);
    }
    Double judged = this == RATE_OF_CHANGE ? percentChange(previous, value) : value;
    if (judged == null) {
      return new Judgement(Verdict.RECOVERED, null); // no data: nothing to alert on
    }
    double v = judged;
    if (holds(v, threshold)) {
      return new Judgement(Verdict.BREACHED, judged);
    }
    if (recoveryThreshold != null) {
      int side = recoverySide(threshold);
      boolean recovered =
          side < 0 ? v < recoveryThreshold : side > 0 ? v > recoveryThreshold : true;
      return new Judgement(recovered ? Verdict.RECOVERED : Verdict.HOLDING, judged);
    }
    return new Judgement(Verdict.RECOVERED, judged);
  }

  /** One evaluation's verdict and the value it was made on. */
  public record Judgement(Verdict verdict, Double value) {}

  private boolean holds(double v, double threshold) {
    return switch (this) {
      case GREATER_THAN -> v > threshold;
      case LESS_THAN -> v < threshold;
      case EQUALS -> v == threshold;
      case GREATER_OR_EQUAL -> v >= threshold;
      case LESS_OR_EQUAL -> v <= threshold;
      case NOT_EQUALS -> v != threshold;
      case RATE_OF_CHANGE -> threshold >= 0 ? v >= threshold : v <= threshold;
      case ABSENT -> false;
    };
  }

  /**
   * The change from {@code previous} to {@code current} in percent; no data counts as 0. From 0 to
   * anything more is an infinite rise, from 0 to 0 no change.
   */
  static Double percentChange(Double previous, Double current) {
    double before = previous == null ? 0 : previous;
    double now = current == null ? 0 : current;
    if (before == 0) {
      return now == 0 ? 0.0 : now > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }
    return (now - before) / Math.abs(before) * 100;
  }
}
