package dev.aggregator.server;

import dev.aggregator.Aggregator;
import dev.aggregator.EngineConfig;
import dev.aggregator.aggregation.RollupSource;
import dev.aggregator.ingestion.EventDecoder;
import dev.aggregator.ingestion.IngestPipeline;
import dev.aggregator.processing.Lifecycle;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.query.QueryParser;
import dev.aggregator.query.QueryResult;
import dev.aggregator.storage.DeadLetterLog;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * What the routes serve from: the embedded engine ({@link EmbeddedEngine}, the whole product in
 * this process) or a node of a cluster ({@link ClusterEngine}: ingest into Kafka, rollups written
 * by the Flink job and read from PostgreSQL). Ingest, queries, the dashboard and live updates go
 * through this; what only the embedded engine offers yet is reached through {@link #embedded()}.
 */
interface Engine extends AutoCloseable {
  EngineConfig config();

  LongSupplier clock();

  EventDecoder decoder();

  /** Validated events to durability: the local log, or Kafka. */
  IngestPipeline pipeline();

  Lifecycle lifecycle();

  DeadLetterLog deadLetters();

  QueryEngine queries();

  /**
   * Answers {@code q}: the planner's answer, or in cluster mode one it gave since the last change.
   */
  default QueryResult query(Query q) throws InvalidQueryException {
    return queries().run(q);
  }

  QueryParser queryParser();

  /** The rollups queries read (catalog and rows). */
  RollupSource rollups();

  /** Calls {@code listener} with the event types whose rollups changed (live updates). */
  void onRollupsChanged(Consumer<Set<String>> listener);

  /** Whether events can no longer be made durable: health answers 503. */
  boolean failed();

  /** How far behind ingestion the rollups queries read are, in milliseconds. */
  long lagMillis();

  /** Why the engine is not simply up, in sentences; empty when it is. */
  List<String> degraded();

  /** The engine's own sections of the health answer, for a caller with a read key. */
  Map<String, Object> details();

  void register(PrometheusRegistry registry);

  /** The embedded engine, or null in cluster mode (alert rules, export, user deletion). */
  Aggregator embedded();

  @Override
  void close();
}
