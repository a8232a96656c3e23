package dev.aggregator.aggregation;

/**
 * Bounds on what the catalog remembers, so memory stays bounded under a cardinality explosion (a
 * client that sends a user id or a URL with query string as a dimension).
 *
 * @param maxEventTypes event types at most; events of further types fail (dead-lettered)
 * @param maxDimensions dimension keys per event type; further keys are not dimensions
 * @param maxDimensionValues distinct values per dimension of an event type; further values are
 *     counted as {@value Catalog#OTHER}
 * @param maxSeries dimension combinations (series) per event type; events with further combinations
 *     are counted in one overflow series whose every dimension is {@value Catalog#OTHER}
 * @param maxFields numeric fields per event type; further fields are not summarized
 */
public record CatalogLimits(
    int maxEventTypes, int maxDimensions, int maxDimensionValues, int maxSeries, int maxFields) {

  public static CatalogLimits defaults() {
    // 1,000 combinations per type: the standard workload (5 dimensions, 3 M combinations per
    // type) at 400k events/s keeps 50 types × 1,000 series active; at 10,000 a checkpoint had to
    // merge ~1.5 M rows every 10 s and ingest fell to 72k events/s on 2 cores (BENCHMARKS.md).
    return new CatalogLimits(10_000, 32, 1_000, 1_000, 256);
  }

  public CatalogLimits {
    if (maxEventTypes < 1
        || maxDimensions < 0
        || maxDimensionValues < 1
        || maxSeries < 1
        || maxFields < 0) {
      throw new IllegalArgumentException("catalog limits must be positive");
    }
  }
}
