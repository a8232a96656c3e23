package dev.aggregator.query;

import dev.aggregator.aggregation.Durations;
import dev.aggregator.aggregation.Granularity;
import dev.aggregator.event.Timestamps;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 *   <li>{@code function}: count, sum (default), avg, min, max, p50, p90, p95, p99, unique_users
 *   <li>{@code fill}: none (default), zero, null, previous
 *   <li>{@code filter=key:value} (repeatable; AND across keys, {@code key:v1|v2} for OR)
 *   <li>{@code groupBy=k1,k2}, {@code limit} (series kept, default 10; the rest fold into {@code
 *       __other__})
 *   <li>{@code tz}: where days and weeks start, an IANA zone (default UTC)
 * </ul>
 */
public final class QueryParser {
  /** Buckets the automatic granularity aims for at most: a chart's width in pixels, roughly. */
  public static final int AUTO_POINTS = 1_000;

  /** Series kept when grouping, by default and at most. */
  public static final int DEFAULT_LIMIT = 10;

  public static final int MAX_LIMIT = 1_000;
  static final int MAX_GROUP_BY = 4;

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

    Query query =
        new Query(
            metric.strip(),
            start,
            end,
            granularity,
            function,
            fill,
            filters(params.apply("filter")),
            groupBy(single(params, "groupBy")),
            limit(single(params, "limit")),
            zone(single(params, "tz")));
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
    if (!query.groupBy().isEmpty()) {
      // Checked before anything is read: a groupBy over a 1,000-value key at 1 m over a day
      // with fill=zero was a 68 MB answer; seven days ran out of heap.
      long series = query.limit() + 1L; // the top `limit` and __other__
      long points = query.maxPoints();
      if (points > MAX_ANSWER_POINTS) {
        throw new InvalidQueryException(
            "limit",
            "this answer could hold "
                + points
                + " points ("
                + series
                + " series × "
                + query.bucketCount()
                + " buckets); at most "
                + MAX_ANSWER_POINTS
                + " per answer: lower limit, use a coarser granularity or shorten the range");
      }
    }
    return query;
  }

  /**
   * Points (series × buckets) one answer may hold, at most: ~5 MB of JSON. Also bounds what a live
   * subscription keeps per query.
   */
  public static final long MAX_ANSWER_POINTS =
      121_000; // the default 10 + 1 series × 11,000 buckets

  /**
   * {@code key:v1|v2}, repeatable: AND across keys, OR within one; a key given twice intersects.
   */
  public static Map<String, List<String>> filters(List<String> specs) throws InvalidQueryException {
    Map<String, List<String>> filters = new LinkedHashMap<>();
    for (String spec : specs) {
      int colon = spec.indexOf(':');
      if (colon <= 0 || colon == spec.length() - 1) {
        throw new InvalidQueryException(
            "filter", "filter '" + spec + "' must be key:value or key:value1|value2");
      }
      String key = spec.substring(0, colon).strip();
      List<String> values = new ArrayList<>();
      for (String v : spec.substring(colon + 1).split("\\|", -1)) {
        if (v.isEmpty()) {
          throw new InvalidQueryException("filter", "filter '" + spec + "' has an empty value");
        }
        values.add(v);
      }
      List<String> previous = filters.get(key);
      if (previous != null) {
        values.retainAll(previous); // the same key twice: both must hold
      }
      filters.put(key, List.copyOf(values));
    }
    return Collections.unmodifiableMap(filters);
  }

  private static List<String> groupBy(String spec) throws InvalidQueryException {
    if (spec == null) {
      return List.of();
    }
    List<String> keys = new ArrayList<>();
    for (String k : spec.split(",", -1)) {
      String key = k.strip();
      if (key.isEmpty()) {
        throw new InvalidQueryException("groupBy", "groupBy '" + spec + "' has an empty name");
      }
      if (keys.contains(key)) {
        throw new InvalidQueryException("groupBy", "groupBy names " + key + " twice");
      }
      keys.add(key);
    }
    if (keys.size() > MAX_GROUP_BY) {
      throw new InvalidQueryException(
          "groupBy", "groupBy takes at most " + MAX_GROUP_BY + " dimensions, got " + keys.size());
    }
    return List.copyOf(keys);
  }

  private static int limit(String text) throws InvalidQueryException {
    if (text == null) {
      return DEFAULT_LIMIT;
    }
    try {
      int limit = Integer.parseInt(text.strip());
      if (limit >= 1 && limit <= MAX_LIMIT) {
        return limit;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw new InvalidQueryException(
        "limit", "limit must be a whole number from 1 to " + MAX_LIMIT + ", got '" + text + "'");
  }

  private static ZoneId zone(String text) throws InvalidQueryException {
    if (text == null) {
      return null;
    }
    try {
      return ZoneId.of(text.strip());
    } catch (DateTimeException e) {
      throw new InvalidQueryException(
          "tz", "unknown time zone '" + text + "'; use an IANA name such as Europe/Berlin or UTC");
    }
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

  /** The latest time a query may name: 9999-12-31T23:59:59.999Z. */
  public static final long MAX_TIME_MILLIS = 253_402_300_799_999L;

  /**
   * Parses a time parameter: RFC 3339, epoch ms, {@code now} or {@code now-24h}, between 1970-01-01
   * and 9999-12-31 (so no arithmetic on it overflows).
   */
  public static long time(String name, String text, long now) throws InvalidQueryException {
    long t = unbounded(name, text, now);
    if (t < 0) {
      throw new InvalidQueryException(name, name + " is before 1970-01-01T00:00:00Z");
    }
    if (t > MAX_TIME_MILLIS) {
      throw new InvalidQueryException(name, name + " is after 9999-12-31T23:59:59.999Z");
    }
    return t;
  }

  private static long unbounded(String name, String text, long now) throws InvalidQueryException {
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
        throw new InvalidQueryException(name, name + " is after 9999-12-31T23:59:59.999Z");
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
