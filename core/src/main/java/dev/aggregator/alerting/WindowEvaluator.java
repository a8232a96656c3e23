package dev.aggregator.alerting;

import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.Fill;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryEngine;
import java.util.List;

/**
 * A rule's value over its trailing event-time window, read from the rollups like a query (the
 * window's rows merged into one, so a p95 over 5 minutes is the p95 of those minutes' values), and
 * its condition's verdict on it.
 */
final class WindowEvaluator {
  private final QueryEngine queries;
  private final List<Tier> tiers;

  WindowEvaluator(QueryEngine queries, List<Tier> tiers) {
    this.queries = queries;
    this.tiers = tiers;
  }

  /** The rule's verdict now: its window's value, and the previous window's for rate_of_change. */
  Condition.Judgement judge(AlertRule rule, long now) throws InvalidQueryException {
    Double value = windowValue(rule, now, 0);
    Double previous =
        rule.condition() == Condition.RATE_OF_CHANGE ? windowValue(rule, now, 1) : null;
    if (rule.condition() != Condition.ABSENT) {
      value = orZero(rule.function(), value);
      previous = orZero(rule.function(), previous);
    }
    double threshold = rule.threshold() == null ? 0 : rule.threshold();
    return rule.condition().judge(value, previous, threshold, rule.recoveryThreshold());
  }

  /** Counts, sums and unique users of an empty window are 0; its average or p95 is no value. */
  private static Double orZero(AggregateFunction fn, Double v) {
    boolean counting =
        fn == AggregateFunction.COUNT
            || fn == AggregateFunction.SUM
            || fn == AggregateFunction.UNIQUE_USERS;
    return v == null && counting ? Double.valueOf(0) : v;
  }

  /**
   * The window {@code windowsBack} windows before the trailing one. It ends with the bucket holding
   * {@code now}, at the resolution {@link #resolution} picks.
   */
  private Double windowValue(AlertRule rule, long now, int windowsBack)
      throws InvalidQueryException {
    long window = rule.window().toMillis();
    Granularity res = resolution(rule);
    long end = res.bucketStart(now) + res.millis() - windowsBack * window;
    Query q =
        new Query(
            rule.metric(),
            end - window,
            end,
            res,
            rule.function(),
            Fill.NONE,
            rule.filters(),
            List.of(),
            1,
            null);
    return queries.total(q);
  }

  /**
   * The coarsest tier resolution that cuts the window into at least 60 whole buckets — the window's
   * trailing edge then moves in steps of at most 1/60 of it — or else the finest that can answer.
   */
  Granularity resolution(AlertRule rule) {
    long window = rule.window().toMillis();
    Granularity finest = null;
    Granularity best = null;
    for (Tier t : tiers) {
      if (t.totalsOnly() && rule.needsFullTier()) {
        continue;
      }
      Granularity res = t.resolution();
      if (finest == null) {
        finest = res;
      }
      if (window % res.millis() == 0 && window / res.millis() >= 60) {
        best = res;
      }
    }
    return best != null ? best : finest;
  }
}
