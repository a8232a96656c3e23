package dev.aggregator;

import dev.aggregator.aggregation.Tier;
import dev.aggregator.ingestion.IngestLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything the embedded engine needs to know; the server fills it from flags, environment and its
 * config file.
 *
 * @param dataDir where the log, dead letters and (later) the rollup store live
 * @param limits the event contract's size and time limits
 * @param tiers rollup resolutions and their retention
 * @param maxRollupBuckets buckets kept in memory across tiers, at most
 * @param lateness how far behind the newest event time an event counts as late
 * @param dedupWindow how long a client id is remembered
 * @param dedupMaxIds client ids remembered at most
 * @param maxInFlight events between acceptance and aggregation, at most (then 429)
 * @param deadLetterCapacity dead letters kept
 * @param segmentBytes size of a log segment
 * @param maxQueryPoints output buckets one query may span
 */
public record EngineConfig(
    Path dataDir,
    IngestLimits limits,
    List<Tier> tiers,
    long maxRollupBuckets,
    Duration lateness,
    Duration dedupWindow,
    long dedupMaxIds,
    long maxInFlight,
    int deadLetterCapacity,
    long segmentBytes,
    int maxQueryPoints) {

  public static EngineConfig defaults(Path dataDir) {
    return new EngineConfig(
        dataDir,
        IngestLimits.defaults(),
        Tier.DEFAULTS,
        10_000_000,
        Duration.ofMinutes(1),
        Duration.ofHours(24),
        5_000_000,
        200_000,
        10_000,
        64L << 20,
        11_000);
  }

  public EngineConfig {
    if (maxInFlight < limits.maxBatchEvents()) {
      throw new IllegalArgumentException(
          "maxInFlight ("
              + maxInFlight
              + ") must be at least maxBatchEvents ("
              + limits.maxBatchEvents()
              + "), or a full batch could never be accepted");
    }
  }
}
