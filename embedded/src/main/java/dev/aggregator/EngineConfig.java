package dev.aggregator;

import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.ingestion.IngestLimits;
import dev.aggregator.storage.ParquetEventStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything the embedded engine needs to know; the server fills it from flags, environment and its
 * config file.
 *
 * @param dataDir where the event log, the rollup store and the dead letters live
 * @param limits the event contract's size and time limits
 * @param tiers rollup resolutions, their retention and detail
 * @param catalog caps on event types, dimensions, values, series and fields
 * @param maxMemoryRows rollup rows held in memory between checkpoints; reaching half of it calls a
 *     checkpoint early
 * @param maxMemoryBytes estimated heap those rows may take with their sketches, 0 for a quarter of
 *     the heap; half of it calls a checkpoint early, all of it holds aggregation back until one is
 *     done
 * @param lateness how far behind the newest event time an event counts as late
 * @param dedupWindow how long a client id is remembered
 * @param dedupMaxIds client ids remembered at most
 * @param maxInFlight events between acceptance and aggregation, at most (then 429)
 * @param deadLetterCapacity dead letters kept
 * @param segmentBytes size of a log segment
 * @param maxQueryPoints output buckets one query may span
 * @param checkpointInterval how often the rollups are made durable (a restart replays at most this
 *     much of the log)
 * @param walRetentionBytes log kept behind the last checkpoint for dedup, at most
 * @param webhookAllow private or loopback hosts and CIDRs webhooks may call anyway (comma list)
 * @param maxAlerts alert rules at most
 * @param eventStore how the columnar store of raw events chunks, compacts and retains them
 * @param privacy the user id pseudonymisation and property deny-list applied at ingest
 */
public record EngineConfig(
    Path dataDir,
    IngestLimits limits,
    List<Tier> tiers,
    CatalogLimits catalog,
    long maxMemoryRows,
    long maxMemoryBytes,
    Duration lateness,
    Duration dedupWindow,
    long dedupMaxIds,
    long maxInFlight,
    int deadLetterCapacity,
    long segmentBytes,
    int maxQueryPoints,
    Duration checkpointInterval,
    long walRetentionBytes,
    String webhookAllow,
    int maxAlerts,
    ParquetEventStore.Options eventStore,
    dev.aggregator.ingestion.Privacy privacy) {

  public static EngineConfig defaults(Path dataDir) {
    return new EngineConfig(
        dataDir,
        IngestLimits.defaults(),
        Tier.DEFAULTS,
        CatalogLimits.defaults(),
        2_000_000,
        0,
        Duration.ofMinutes(1),
        Duration.ofHours(24),
        5_000_000,
        200_000,
        10_000,
        64L << 20,
        11_000,
        Duration.ofSeconds(10),
        8L << 30,
        "",
        10_000,
        ParquetEventStore.Options.defaults(),
        dev.aggregator.ingestion.Privacy.none());
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

  public EngineConfig withEventStore(ParquetEventStore.Options eventStore) {
    return new EngineConfig(
        dataDir,
        limits,
        tiers,
        catalog,
        maxMemoryRows,
        maxMemoryBytes,
        lateness,
        dedupWindow,
        dedupMaxIds,
        maxInFlight,
        deadLetterCapacity,
        segmentBytes,
        maxQueryPoints,
        checkpointInterval,
        walRetentionBytes,
        webhookAllow,
        maxAlerts,
        eventStore,
        privacy);
  }

  public EngineConfig withPrivacy(dev.aggregator.ingestion.Privacy privacy) {
    return new EngineConfig(
        dataDir,
        limits,
        tiers,
        catalog,
        maxMemoryRows,
        maxMemoryBytes,
        lateness,
        dedupWindow,
        dedupMaxIds,
        maxInFlight,
        deadLetterCapacity,
        segmentBytes,
        maxQueryPoints,
        checkpointInterval,
        walRetentionBytes,
        webhookAllow,
        maxAlerts,
        eventStore,
        privacy);
  }

  public EngineConfig withTiers(List<Tier> tiers) {
    return new EngineConfig(
        dataDir,
        limits,
        tiers,
        catalog,
        maxMemoryRows,
        maxMemoryBytes,
        lateness,
        dedupWindow,
        dedupMaxIds,
        maxInFlight,
        deadLetterCapacity,
        segmentBytes,
        maxQueryPoints,
        checkpointInterval,
        walRetentionBytes,
        webhookAllow,
        maxAlerts,
        eventStore,
        privacy);
  }

  public EngineConfig withCatalog(CatalogLimits catalog) {
    return new EngineConfig(
        dataDir,
        limits,
        tiers,
        catalog,
        maxMemoryRows,
        maxMemoryBytes,
        lateness,
        dedupWindow,
        dedupMaxIds,
        maxInFlight,
        deadLetterCapacity,
        segmentBytes,
        maxQueryPoints,
        checkpointInterval,
        walRetentionBytes,
        webhookAllow,
        maxAlerts,
        eventStore,
        privacy);
  }

  public EngineConfig withCheckpointInterval(Duration checkpointInterval) {
    return new EngineConfig(
        dataDir,
        limits,
        tiers,
        catalog,
        maxMemoryRows,
        maxMemoryBytes,
        lateness,
        dedupWindow,
        dedupMaxIds,
        maxInFlight,
        deadLetterCapacity,
        segmentBytes,
        maxQueryPoints,
        checkpointInterval,
        walRetentionBytes,
        webhookAllow,
        maxAlerts,
        eventStore,
        privacy);
  }

  public EngineConfig withSegmentBytes(long segmentBytes) {
    return new EngineConfig(
        dataDir,
        limits,
        tiers,
        catalog,
        maxMemoryRows,
        maxMemoryBytes,
        lateness,
        dedupWindow,
        dedupMaxIds,
        maxInFlight,
        deadLetterCapacity,
        segmentBytes,
        maxQueryPoints,
        checkpointInterval,
        walRetentionBytes,
        webhookAllow,
        maxAlerts,
        eventStore,
        privacy);
  }

  public EngineConfig withWebhookAllow(String webhookAllow) {
    return new EngineConfig(
        dataDir,
        limits,
        tiers,
        catalog,
        maxMemoryRows,
        maxMemoryBytes,
        lateness,
        dedupWindow,
        dedupMaxIds,
        maxInFlight,
        deadLetterCapacity,
        segmentBytes,
        maxQueryPoints,
        checkpointInterval,
        walRetentionBytes,
        webhookAllow,
        maxAlerts,
        eventStore,
        privacy);
  }
}
