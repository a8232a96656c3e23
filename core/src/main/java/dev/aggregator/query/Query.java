package dev.aggregator.query;

import dev.aggregator.aggregation.Granularity;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;

/**
 * A time-series query over {@code [start, end)}.
 *
 * @param metric a metric name ({@code page_view}, {@code page_view_count}, {@code page_view_value})
 * @param start inclusive, epoch ms; the first bucket is the one holding it
 * @param end exclusive, epoch ms
 * @param filters dimension → accepted values: AND across dimensions, OR within one
 * @param groupBy dimensions to split the answer by, or empty
 * @param limit series kept when grouping (top by total); the rest fold into {@code __other__}
 * @param zone where days and weeks start, or null for UTC
 */
public record Query(
    String metric,
    long start,
    long end,
    Granularity granularity,
    AggregateFunction function,
    Fill fill,
    Map<String, List<String>> filters,
    List<String> groupBy,
    int limit,
    ZoneId zone) {

  /** A query without filters, grouping or time zone. */
  public Query(
      String metric,
      long start,
      long end,
      Granularity granularity,
      AggregateFunction function,
      Fill fill) {
    this(metric, start, end, granularity, function, fill, Map.of(), List.of(), 10, null);
  }

  /** The start of the first output bucket (in UTC; see {@link Buckets} for time zones). */
  public long firstBucket() {
    return granularity.bucketStart(start);
  }

  /**
   * Points (series × buckets) the answer can hold, at most: per bucket the top {@code limit}
   * combinations and {@code __other__} when grouped, one series otherwise. Known before anything is
   * read, so budgets are checked with it.
   */
  public long maxPoints() {
    return (groupBy.isEmpty() ? 1L : limit + 1L) * bucketCount();
  }

  /** Output buckets the range spans (UTC-aligned; a time zone shifts them, not their number). */
  public long bucketCount() {
    long first = firstBucket();
    return end <= first ? 0 : (end - first + granularity.millis() - 1) / granularity.millis();
  }

  /** Whether answering needs dimensions (filters or grouping). */
  public boolean usesDimensions() {
    return !filters.isEmpty() || !groupBy.isEmpty();
  }
}
