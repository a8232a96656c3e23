package dev.aggregator.query;

import java.util.List;
import java.util.Map;

/**
 * The answer to a {@link Query}: one series per group (a single one with no dimensions when the
 * query does not group), warnings where an answer is less than asked, and how it was computed.
 *
 * @param source {@value #ROLLUP} (from the rollup tiers) or {@value #EVENTS} (from the raw events
 *     of the columnar event store)
 */
public record QueryResult(Query query, List<Series> series, List<String> warnings, String source) {
  public static final String ROLLUP = "rollup";
  public static final String EVENTS = "events";

  /** An answer from the rollups. */
  public QueryResult(Query query, List<Series> series, List<String> warnings) {
    this(query, series, warnings, ROLLUP);
  }

  /** The data of an ungrouped query: the seed's {@code data}. */
  public List<Point> data() {
    return series.isEmpty() ? List.of() : series.get(0).data();
  }

  /**
   * One group's time series.
   *
   * @param dimensions the group's value of each groupBy dimension (null where its events had none);
   *     empty when not grouping
   */
  public record Series(Map<String, String> dimensions, List<Point> data) {}

  /**
   * One output bucket.
   *
   * @param timestamp the bucket start, epoch ms
   * @param value the function's value, or {@code null} for an empty bucket under {@code fill=null}
   */
  public record Point(long timestamp, Double value) {}
}
