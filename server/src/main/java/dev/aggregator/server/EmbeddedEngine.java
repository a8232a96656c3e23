package dev.aggregator.server;

import dev.aggregator.Aggregator;
import dev.aggregator.EngineConfig;
import dev.aggregator.aggregation.RollupSource;
import dev.aggregator.event.Timestamps;
import dev.aggregator.ingestion.EventDecoder;
import dev.aggregator.ingestion.IngestPipeline;
import dev.aggregator.processing.Lifecycle;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.query.QueryParser;
import dev.aggregator.storage.DeadLetterLog;
import dev.aggregator.storage.LogStats;
import dev.aggregator.storage.RecoveryReport;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/** The embedded engine behind the routes: log, aggregation, rollups and alerts in this process. */
final class EmbeddedEngine implements Engine {
  private final Aggregator agg;

  EmbeddedEngine(Aggregator agg) {
    this.agg = agg;
  }

  @Override
  public EngineConfig config() {
    return agg.config();
  }

  @Override
  public LongSupplier clock() {
    return agg.clock();
  }

  @Override
  public EventDecoder decoder() {
    return agg.decoder();
  }

  @Override
  public IngestPipeline pipeline() {
    return agg.pipeline();
  }

  @Override
  public Lifecycle lifecycle() {
    return agg.lifecycle();
  }

  @Override
  public DeadLetterLog deadLetters() {
    return agg.deadLetters();
  }

  @Override
  public QueryEngine queries() {
    return agg.queries();
  }

  @Override
  public QueryParser queryParser() {
    return agg.queryParser();
  }

  @Override
  public RollupSource rollups() {
    return agg.rollups();
  }

  @Override
  public void onRollupsChanged(Consumer<Set<String>> listener) {
    agg.runner().addListener(listener);
  }

  @Override
  public boolean failed() {
    return agg.log().stats().failed();
  }

  @Override
  public long lagMillis() {
    return agg.runner().lagMillis();
  }

  @Override
  public List<String> degraded() {
    List<String> reasons = new ArrayList<>();
    if (agg.checkpointer().lastFailed()) {
      reasons.add("the last checkpoint failed; rows stay in memory and the next one retries");
    }
    if (agg.rawEvents() != null && agg.rawEvents().failed()) {
      reasons.add(
          "the event store stopped on a write error: queries that need raw events are refused"
              + " until it has re-read the log, once it can write again");
    }
    if (agg.rollups().memoryBytes() >= agg.rollups().maxMemoryBytes()) {
      reasons.add("rollup rows in memory are at their budget (maxMemoryBytes)");
    }
    if (agg.rollups().catalogFull()) {
      reasons.add(
          "the catalog is at its byte budget (maxCatalogBytes): new dimension keys, fields and"
              + " values are answered from the raw events only");
    }
    return reasons;
  }

  @Override
  public Map<String, Object> details() {
    Map<String, Object> out = new LinkedHashMap<>();
    LogStats log = agg.log().stats();
    Map<String, Object> wal = new LinkedHashMap<>();
    wal.put("nextSequence", log.nextSequence());
    wal.put("segments", log.segments());
    wal.put("diskBytes", log.diskBytes());
    wal.put("fsyncs", log.syncs());
    wal.put("truncatedRecoveries", log.truncatedRecoveries());
    out.put("log", wal);

    RecoveryReport r = agg.recovery();
    Map<String, Object> recovery = new LinkedHashMap<>();
    recovery.put("replayedEvents", r.replayed());
    recovery.put("millis", r.millis());
    recovery.put("truncatedBytes", r.truncatedBytes());
    recovery.put("quarantinedSegments", r.quarantinedSegments());
    out.put("recovery", recovery);

    Map<String, Object> rollups = new LinkedHashMap<>();
    rollups.put("rowsInMemory", agg.rollups().memoryRows());
    rollups.put("maxMemoryRows", agg.config().maxMemoryRows());
    rollups.put("memoryBytes", agg.rollups().memoryBytes());
    rollups.put("maxMemoryBytes", agg.rollups().maxMemoryBytes());
    rollups.put("series", agg.rollups().seriesCount());
    rollups.put("storeBytes", agg.store().diskBytes());
    rollups.put("storeRows", agg.store().estimatedRows());
    rollups.put("checkpointSequence", agg.rollups().checkpointSequence());
    rollups.put("checkpoints", agg.checkpointer().checkpoints());
    rollups.put("checkpointFailures", agg.checkpointer().failures());
    rollups.put("lastCheckpointMillis", agg.checkpointer().lastMillis());
    long watermark = agg.rollups().watermark();
    rollups.put("watermark", watermark == Long.MIN_VALUE ? null : Timestamps.format(watermark));
    out.put("rollups", rollups);

    Map<String, Object> dedup = new LinkedHashMap<>();
    dedup.put("ids", agg.dedup().size());
    dedup.put("evictedEarly", agg.dedup().evictedEarly());
    out.put("dedup", dedup);

    Map<String, Object> alerts = new LinkedHashMap<>();
    agg.alerts().counts().forEach((s, n) -> alerts.put(s.wire(), n));
    alerts.put("webhooksPending", agg.alerts().pendingDeliveries());
    out.put("alerts", alerts);
    return out;
  }

  @Override
  public void register(PrometheusRegistry registry) {
    agg.register(registry);
  }

  @Override
  public Aggregator embedded() {
    return agg;
  }

  @Override
  public void close() {
    agg.close();
  }
}
