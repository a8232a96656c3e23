package dev.aggregator.query;

import dev.aggregator.aggregation.Durations;
import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.MetricCatalog.MetricRef;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.RollupReader;
import dev.aggregator.aggregation.Stats;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Timestamps;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Answers {@link Query}s from the rollups.
 *
 * <p>For each output bucket it reads the coarsest tier whose resolution divides the granularity and
 * whose retention still holds that bucket, so a 1-hour query reads 1 h buckets, and a range
 * reaching past a fine tier's retention is served seamlessly from a coarser one. A granularity
 * finer than every tier still holding part of the range is refused with the tiers named.
 *
 * <pre>{@code
 * QueryEngine queries = new QueryEngine(engine, System::currentTimeMillis);
 * QueryResult r = queries.run(new QueryParser(System::currentTimeMillis, 11_000).parse(params));
 * }</pre>
 */
public final class QueryEngine {
  private final RollupEngine rollups;
  private final LongSupplier nowMillis;

  public QueryEngine(RollupEngine rollups, LongSupplier nowMillis) {
    this.rollups = rollups;
    this.nowMillis = nowMillis;
  }

  public QueryResult run(Query q) throws InvalidQueryException {
    long now = nowMillis.getAsLong();
    Outcome outcome = rollups.read(r -> evaluate(r, q, now));
    if (outcome.error != null) {
      throw outcome.error;
    }
    return new QueryResult(q, outcome.points);
  }

  private record Outcome(List<QueryResult.Point> points, InvalidQueryException error) {}

  private static Outcome evaluate(RollupReader r, Query q, long now) {
    MetricRef metric = r.catalog().resolve(q.metric());
    boolean countMetric = metric == null || metric.isCount();
    if (metric != null && countMetric && !q.function().appliesToCount()) {
      return new Outcome(
          null,
          new InvalidQueryException(
              "function",
              q.metric()
                  + " counts events; use function count or sum (avg, min and max apply to"
                  + " numeric fields such as "
                  + metric.eventType()
                  + "_value)"));
    }
    Granularity g = q.granularity();
    List<Tier> tiers = r.tiers();
    List<Integer> candidates = new ArrayList<>(); // coarsest first
    for (int i = tiers.size() - 1; i >= 0; i--) {
      if (tiers.get(i).resolution().divides(g)) {
        candidates.add(i);
      }
    }
    long first = q.firstBucket();
    if (q.bucketCount() > 0 && tierFor(tiers, candidates, first, now) < 0) {
      return new Outcome(
          null, new InvalidQueryException("granularity", noTier(tiers, g, first, now)));
    }
    List<QueryResult.Point> points = new ArrayList<>((int) Math.min(q.bucketCount(), 4096));
    Stats stats = new Stats();
    Double previous = null;
    for (long b = first; b < q.end(); b += g.millis()) {
      stats.clear();
      if (metric != null) {
        int tier = tierFor(tiers, candidates, b, now);
        Granularity res = tiers.get(tier).resolution();
        long from = res.bucketIndex(b);
        long to = from + g.millis() / res.millis();
        for (long i = from; i < to; i++) {
          r.read(tier, metric.series(), i, stats);
        }
      }
      Double value;
      if (!stats.isEmpty()) {
        value = q.function().apply(stats, countMetric);
        previous = value;
      } else {
        value =
            switch (q.fill()) {
              case NONE -> null;
              case ZERO -> 0.0;
              case NULL -> null;
              case PREVIOUS -> previous;
            };
        if (value == null && q.fill() != Fill.NULL) {
          continue;
        }
      }
      points.add(new QueryResult.Point(b, value));
    }
    return new Outcome(List.copyOf(points), null);
  }

  /** The coarsest candidate tier that still holds bucket {@code b}, or -1. */
  private static int tierFor(List<Tier> tiers, List<Integer> candidates, long b, long now) {
    for (int i : candidates) {
      if (b >= tiers.get(i).cutoff(now)) {
        return i;
      }
    }
    return -1;
  }

  private static String noTier(List<Tier> tiers, Granularity g, long first, long now) {
    StringBuilder kept = new StringBuilder();
    for (Tier t : tiers) {
      if (kept.length() > 0) {
        kept.append(", ");
      }
      kept.append(t.resolution().label())
          .append(t.keepsForever() ? " kept forever" : " kept " + Durations.format(t.retention()));
    }
    Granularity coarser = null;
    for (Tier t : tiers) {
      if (t.cutoff(now) <= first) {
        coarser = t.resolution();
        break;
      }
    }
    return "granularity "
        + g.label()
        + " is finer than every tier still holding data at "
        + Timestamps.format(first)
        + " (tiers: "
        + kept
        + ")"
        + (coarser == null
            ? ""
            : "; use a granularity that " + coarser.label() + " divides, or a later start");
  }
}
