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
 * config file. The defaults live in one place, {@link Builder}:
 *
 * <pre>{@code
 * EngineConfig config = EngineConfig.builder(Path.of("data")).maxInFlight(50_000).build();
 * EngineConfig other = config.toBuilder().lateness(Duration.ofMinutes(5)).build();
 * }</pre>
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
 * @param aggregationThreads threads updating rollup rows in parallel, each owning the series of one
 *     shard; 0 for one per core (at most {@value #MAX_AGGREGATION_THREADS})
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
    int aggregationThreads,
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

  /** The most threads {@code aggregationThreads = 0} picks. */
  public static final int MAX_AGGREGATION_THREADS = 8;

  /** Every setting at its default. */
  public static EngineConfig defaults(Path dataDir) {
    return builder(dataDir).build();
  }

  public static Builder builder(Path dataDir) {
    return new Builder(dataDir);
  }

  /** A builder holding this configuration's values. */
  public Builder toBuilder() {
    Builder b = new Builder(dataDir);
    b.limits = limits;
    b.tiers = tiers;
    b.catalog = catalog;
    b.maxMemoryRows = maxMemoryRows;
    b.maxMemoryBytes = maxMemoryBytes;
    b.aggregationThreads = aggregationThreads;
    b.lateness = lateness;
    b.dedupWindow = dedupWindow;
    b.dedupMaxIds = dedupMaxIds;
    b.maxInFlight = maxInFlight;
    b.deadLetterCapacity = deadLetterCapacity;
    b.segmentBytes = segmentBytes;
    b.maxQueryPoints = maxQueryPoints;
    b.checkpointInterval = checkpointInterval;
    b.walRetentionBytes = walRetentionBytes;
    b.webhookAllow = webhookAllow;
    b.maxAlerts = maxAlerts;
    b.eventStore = eventStore;
    b.privacy = privacy;
    return b;
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
    if (aggregationThreads < 0 || aggregationThreads > 64) {
      throw new IllegalArgumentException(
          "aggregationThreads must be 0 (one per core) to 64, got " + aggregationThreads);
    }
  }

  /** The aggregation threads to run: {@code aggregationThreads}, or one per core for 0. */
  public int effectiveAggregationThreads() {
    return aggregationThreads > 0
        ? aggregationThreads
        : Math.min(Runtime.getRuntime().availableProcessors(), MAX_AGGREGATION_THREADS);
  }

  public EngineConfig withEventStore(ParquetEventStore.Options eventStore) {
    return toBuilder().eventStore(eventStore).build();
  }

  public EngineConfig withPrivacy(dev.aggregator.ingestion.Privacy privacy) {
    return toBuilder().privacy(privacy).build();
  }

  public EngineConfig withTiers(List<Tier> tiers) {
    return toBuilder().tiers(tiers).build();
  }

  public EngineConfig withCatalog(CatalogLimits catalog) {
    return toBuilder().catalog(catalog).build();
  }

  public EngineConfig withCheckpointInterval(Duration checkpointInterval) {
    return toBuilder().checkpointInterval(checkpointInterval).build();
  }

  public EngineConfig withSegmentBytes(long segmentBytes) {
    return toBuilder().segmentBytes(segmentBytes).build();
  }

  public EngineConfig withWebhookAllow(String webhookAllow) {
    return toBuilder().webhookAllow(webhookAllow).build();
  }

  /** Builds an {@link EngineConfig}; its field initialisers are the defaults. */
  public static final class Builder {
    private final Path dataDir;
    private IngestLimits limits = IngestLimits.defaults();
    private List<Tier> tiers = Tier.DEFAULTS;
    private CatalogLimits catalog = CatalogLimits.defaults();
    private long maxMemoryRows = 2_000_000;
    private long maxMemoryBytes = 0;
    private int aggregationThreads = 0;
    private Duration lateness = Duration.ofMinutes(1);
    private Duration dedupWindow = Duration.ofHours(24);
    private long dedupMaxIds = 5_000_000;
    private long maxInFlight = 200_000;
    private int deadLetterCapacity = 10_000;
    private long segmentBytes = 64L << 20;
    private int maxQueryPoints = 11_000;
    private Duration checkpointInterval = Duration.ofSeconds(10);
    private long walRetentionBytes = 8L << 30;
    private String webhookAllow = "";
    private int maxAlerts = 10_000;
    private ParquetEventStore.Options eventStore = ParquetEventStore.Options.defaults();
    private dev.aggregator.ingestion.Privacy privacy = dev.aggregator.ingestion.Privacy.none();

    private Builder(Path dataDir) {
      this.dataDir = dataDir;
    }

    public Builder limits(IngestLimits limits) {
      this.limits = limits;
      return this;
    }

    public Builder tiers(List<Tier> tiers) {
      this.tiers = tiers;
      return this;
    }

    public Builder catalog(CatalogLimits catalog) {
      this.catalog = catalog;
      return this;
    }

    public Builder maxMemoryRows(long maxMemoryRows) {
      this.maxMemoryRows = maxMemoryRows;
      return this;
    }

    public Builder maxMemoryBytes(long maxMemoryBytes) {
      this.maxMemoryBytes = maxMemoryBytes;
      return this;
    }

    public Builder aggregationThreads(int aggregationThreads) {
      this.aggregationThreads = aggregationThreads;
      return this;
    }

    public Builder lateness(Duration lateness) {
      this.lateness = lateness;
      return this;
    }

    public Builder dedupWindow(Duration dedupWindow) {
      this.dedupWindow = dedupWindow;
      return this;
    }

    public Builder dedupMaxIds(long dedupMaxIds) {
      this.dedupMaxIds = dedupMaxIds;
      return this;
    }

    public Builder maxInFlight(long maxInFlight) {
      this.maxInFlight = maxInFlight;
      return this;
    }

    public Builder deadLetterCapacity(int deadLetterCapacity) {
      this.deadLetterCapacity = deadLetterCapacity;
      return this;
    }

    public Builder segmentBytes(long segmentBytes) {
      this.segmentBytes = segmentBytes;
      return this;
    }

    public Builder maxQueryPoints(int maxQueryPoints) {
      this.maxQueryPoints = maxQueryPoints;
      return this;
    }

    public Builder checkpointInterval(Duration checkpointInterval) {
      this.checkpointInterval = checkpointInterval;
      return this;
    }

    public Builder walRetentionBytes(long walRetentionBytes) {
      this.walRetentionBytes = walRetentionBytes;
      return this;
    }

    public Builder webhookAllow(String webhookAllow) {
      this.webhookAllow = webhookAllow;
      return this;
    }

    public Builder maxAlerts(int maxAlerts) {
      this.maxAlerts = maxAlerts;
      return this;
    }

    public Builder eventStore(ParquetEventStore.Options eventStore) {
      this.eventStore = eventStore;
      return this;
    }

    public Builder privacy(dev.aggregator.ingestion.Privacy privacy) {
      this.privacy = privacy;
      return this;
    }

    public EngineConfig build() {
      return new EngineConfig(
          dataDir,
          limits,
          tiers,
          catalog,
          maxMemoryRows,
          maxMemoryBytes,
          aggregationThreads,
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
}
