package dev.aggregator.query;

import java.util.List;

/**
 * The answer to a {@link Query}: the seed's shape ({@code metric}, {@code data}) plus what was
 * asked.
 */
public record QueryResult(Query query, List<Point> data) {

  /**
   * One output bucket.
   *
   * @param timestamp the bucket start, epoch ms
   * @param value the function's value, or {@code null} for an empty bucket under {@code fill=null}
   */
  public record Point(long timestamp, Double value) {}
}
