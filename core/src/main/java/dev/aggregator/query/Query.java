package dev.aggregator.query;

import dev.aggregator.aggregation.Granularity;

/**
 * A time-series query over {@code [start, end)}.
 *
 * @param metric a metric name ({@code page_view}, {@code page_view_count}, {@code page_view_value})
 * @param start inclusive, epoch ms; the first bucket is the one holding it
 * @param end exclusive, epoch ms
 */
public record Query(
    String metric,
    long start,
    long end,
    Granularity granularity,
    AggregateFunction function,
    Fill fill) {

  /** The start of the first output bucket. */
  public long firstBucket() {
    return granularity.bucketStart(start);
  }

  /** Output buckets the range spans. */
  public long bucketCount() {
    long first = firstBucket();
    return end <= first ? 0 : (end - first + granularity.millis() - 1) / granularity.millis();
  }
}
