package dev.aggregator.alerting;

import dev.aggregator.aggregation.Catalog;
import dev.aggregator.query.AggregateFunction;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What an alert watches: {@code function(metric)} over a trailing event-time {@code window}, with
 * {@code filters}, against {@code condition threshold}.
 *
 * @param filters dimension → accepted values, as the query's {@code filter} (AND across keys)
 * @param threshold null only for {@link Condition#ABSENT}
 * @param recoveryThreshold where a firing alert recovers (hysteresis), or null: when the condition
 *     stops holding
 * @param targets where transitions are announced (the API's {@code notify})
 * @param forDuration how long the condition must hold before the alert triggers (zero: at once)
 */
public record AlertRule(
    String name,
    String metric,
    AggregateFunction function,
    Map<String, List<String>> filters,
    Duration window,
    Condition condition,
    Double threshold,
    Double recoveryThreshold,
    Duration forDuration,
    Severity severity,
    List<NotifyTarget> targets) {

  /**
   * Whether the window must be read from a tier that keeps dimensions and sketches (1 m by default)
   * rather than the finest, totals-only one (1 s): when the rule filters or needs a sketch
   * (percentiles, unique users).
   */
  public boolean needsFullTier() {
    return !filters.isEmpty() || function.needsSketch();
  }

  /** Whether a change to {@code eventType}'s rows can change this rule's value. */
  public boolean watches(String eventType) {
    return Catalog.isMetricOf(metric, eventType);
  }
}
