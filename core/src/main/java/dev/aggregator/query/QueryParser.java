package dev.aggregator.query;

import dev.aggregator.aggregation.Durations;
import dev.aggregator.aggregation.Granularity;
import dev.aggregator.event.Timestamps;
import java.util.List;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Turns the parameters of {@code GET /api/analytics/query} into a {@link Query}, or says exactly
 * which parameter is wrong and what would work.
 *
 * <ul>
 *   <li>{@code metric} (required)
 *   <li>{@code start}, {@code end}: RFC 3339, epoch ms, {@code now} or {@code now-24h}; default the
 *       last hour
 *   <li>{@code granularity}: {@code 1s … 1w}; default the finest giving at most {@value
 *       #AUTO_POINTS} buckets
 *   <li>{@code function}: count, sum (default), avg, min, max
 *   <li>{@code fill}: none (default), zero, null, previous
 * </ul>
 */
public final class QueryParser {
  /** Buckets the automatic granularity aims for at most: a chart's width in pixels, roughly. */
  public static final int AUTO_POINTS = 1_000;

  private static final List<String> NOT_YET = List.of("filter", "groupBy", "tz");

  private final LongSupplier nowMillis;
  private final int maxPoints;

  /**
   * @param maxPoints output buckets one query may span, at most (default 11,000, as Prometheus)
   */
  public QueryParser(LongSupplier nowMillis, int maxPoints) {
    this.nowMillis = nowMillis;
    this.maxPoints = maxPoints;
  }

  /**
   * @param params the request's parameters by name (all values of a repeated one)
   */
  public Query parse(Function<String, List<String>> params) throws InvalidQueryException {
    for (String name : NOT_YET) {
      if (!params.apply(name).isEmpty()) {
        throw new InvalidQueryException(name, name + " is not supported yet");
      }
    }
    String metric = single(params, "metric");
    if (metric == null || metric.isBlank()) {
      throw new InvalidQueryException("metric", "metric is required, e.g. metric=page_view_count");
    }
    if (metric.length() > 300) {
      throw new InvalidQueryException("metric", "metric is longer than 300 characters");
    }
    long now = nowMillis.getAsLong();
    String endText = single(params, "end");
    String startText = single(params, "start");
    long end = endText == null ? now : time("end", endText, now);
    long start = startText == null ? end - 3_600_000L : time("start", startText, now);
    if (start > end) {
      throw new InvalidQueryException(
          "start", "start " + Timestamps.format(start) + " is after end " + Timestamps.format(end));
    }

    String granularityText = single(params, "granularity");
    Granularity granularity;
    if (granularityText == null) {
      granularity = auto(start, end);
    } else {
      granularity = Granularity.parse(granularityText);
      if (granularity == null) {
        throw new InvalidQueryException(
            "granularity",
            "unknown granularity '" + granularityText + "'; use one of " + Granularity.labels());
      }
    }

    String functionText = single(params, "function");
    AggregateFunction function =
        functionText == null ? AggregateFunction.SUM : AggregateFunction.parse(functionText);
    if (function == null) {
      throw new InvalidQueryException(
          "function",
          "unknown function '" + functionText + "'; use one of " + AggregateFunction.labels());
    }

    String fillText = single(params, "fill");
    Fill fill = fillText == null ? Fill.NONE : Fill.parse(fillText);
    if (fill == null) {
      throw new InvalidQueryException(
          "fill", "unknown fill '" + fillText + "'; use one of none, zero, null, previous");
    }

    Query query = new Query(metric.strip(), start, end, granularity, function, fill);
    if (query.bucketCount() > maxPoints) {
      Granularity fits = finestFitting(start, end, maxPoints);
      throw new InvalidQueryException(
          "granularity",
          "the range spans "
              + query.bucketCount()
              + " buckets of "
              + granularity.label()
              + "; at most "
              + maxPoints
              + " per query"
              + (fits == null
                  ? "; shorten the range"
                  : "; use granularity " + fits.label() + " or coarser"));
    }
    return query;
  }

  private Granularity auto(long start, long end) {
    Granularity g = finestFitting(start, end, AUTO_POINTS);
    return g == null ? Granularity.W1 : g;
  }

  private static Granularity finestFitting(long start, long end, int points) {
    for (Granularity g : Granularity.values()) {
      Query probe = new Query("", start, end, g, AggregateFunction.SUM, Fill.NONE);
      if (probe.bucketCount() <= points) {
        return g;
      }
    }
    return null;
  }

  private static long time(String name, String text, long now) throws InvalidQueryException {
    String s = text.strip();
    if (s.equals("now")) {
      return now;
    }
    if (s.startsWith("now-")) {
      try {
        return now - Durations.parse(s.substring(4)).toMillis();
      } catch (IllegalArgumentException e) {
        throw new InvalidQueryException(name, name + ": " + e.getMessage());
      }
    }
    if (!s.isEmpty() && s.chars().allMatch(Character::isDigit)) {
      try {
        return Long.parseLong(s);
      } catch (NumberFormatException e) {
        throw new InvalidQueryException(name, name + " '" + text + "' is out of range");
      }
    }
    long t = Timestamps.parseRfc3339(s);
    if (t == Timestamps.INVALID) {
      throw new InvalidQueryException(
          name,
          name
              + " '"
              + text
              + "' is not a time; use RFC 3339 (2024-01-15T00:00:00Z), epoch milliseconds,"
              + " now or now-24h");
    }
    if (t < 0) {
      throw new InvalidQueryException(name, name + " is before 1970-01-01T00:00:00Z");
    }
    return t;
  }

  private static String single(Function<String, List<String>> params, String name)
      throws InvalidQueryException {
    List<String> values = params.apply(name);
    if (values.isEmpty()) {
      return null;
    }
    if (values.size() > 1) {
      throw new InvalidQueryException(
          name, name + " is given " + values.size() + " times; give it once");
    }
    return values.get(0);
  }
}
