package dev.aggregator;

import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.alerting.Alerts;
import dev.aggregator.alerting.WebhookPolicy;
import dev.aggregator.alerting.WebhookSender;
import dev.aggregator.event.Event;
import dev.aggregator.event.Hashing;
import dev.aggregator.ingestion.Deduplicator;
import dev.aggregator.ingestion.EventDecoder;
import dev.aggregator.ingestion.IngestPipeline;
import dev.aggregator.processing.AggregationRunner;
import dev.aggregator.processing.Checkpointer;
import dev.aggregator.processing.Lifecycle;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.query.QueryParser;
import dev.aggregator.storage.DeadLetterLog;
import dev.aggregator.storage.FileEventLog;
import dev.aggregator.storage.LoggedEvent;
import dev.aggregator.storage.ParquetEventStore;
import dev.aggregator.storage.RecoveryReport;
import dev.aggregator.storage.RocksRollupStore;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded engine, assembled: decoder, dedup, write-ahead log, aggregation, rollups, queries
 * and dead letters, all in one process over one data directory. No HTTP: the server wires this to
 * the network, tests and benchmarks use it directly.
 *
 * <pre>{@code
 * try (Aggregator agg = Aggregator.open(EngineConfig.defaults(Path.of("data")))) {
 *   DecodedBatch batch = agg.decoder().decodeBatch(body, BodyFormat.NDJSON, "http");
 *   agg.pipeline().submit(batch.events()).join();  // durable once this completes
 *   QueryResult r = agg.queries().run(agg.queryParser().parse(params));
 * }
 * }</pre>
 *
 * <p>Opening loads the rollup store's catalog and checkpoint, then replays the event log after the
 * checkpoint into the rollups (and reads the ids of the records before it back into the dedup
 * memory) and loads the alert rules before it returns.
 */
public final class Aggregator implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Aggregator.class);
  private static final int REPLAY_CHUNK = 4096;

  private final EngineConfig config;
  private final LongSupplier clock;
  private final Lifecycle lifecycle = new Lifecycle();
  private final DeadLetterLog deadLetters;
  private final RollupEngine rollups;
  private final Deduplicator dedup;
  private final AggregationRunner runner;
  private final FileEventLog log;
  private final IngestPipeline pipeline;
  private final EventDecoder decoder;
  private final QueryEngine queries;
  private final QueryParser queryParser;
  private final RecoveryReport recovery;
  private final RocksRollupStore store;
  private final ParquetEventStore rawEvents;
  private final Checkpointer checkpointer;
  private final Alerts alerts;

  /** Threads updating shards 1..n-1 of each batch beside the aggregation thread; null for one. */
  private final java.util.concurrent.ExecutorService shardHelpers;

  private Aggregator(EngineConfig config, LongSupplier clock) throws IOException {
    this.config = config;
    this.clock = clock;
    this.deadLetters =
        new DeadLetterLog(config.dataDir().resolve("deadletters"), config.deadLetterCapacity());
    this.store =
        RocksRollupStore.open(
            config.dataDir().resolve("rollups"), Tier.bucketsPerPartition(config.tiers()));
    int shards = config.effectiveAggregationThreads();
    this.shardHelpers = shards == 1 ? null : shardHelpers(shards - 1);
    this.rollups =
        new RollupEngine(
            config.tiers(),
            config.catalog(),
            config.maxMemoryRows(),
            config.maxMemoryBytes() > 0
                ? config.maxMemoryBytes()
                : RollupEngine.defaultMemoryBytes(),
            config.lateness(),
            store,
            shards,
            shardHelpers);
    this.dedup = new Deduplicator(config.dedupWindow(), config.dedupMaxIds());
    this.rawEvents =
        ParquetEventStore.open(config.dataDir().resolve("events"), config.eventStore());
    this.runner = new AggregationRunner(rollups, lifecycle, deadLetters, clock, rawEvents);
    List<LoggedEvent> chunk = new ArrayList<>(REPLAY_CHUNK);
    List<Event> rawChunk = new ArrayList<>(REPLAY_CHUNK);
    long[] rawFirst = {-1};
    long checkpointed = rollups.checkpointSequence();
    // The log is replayed from whichever is behind: the rollups' checkpoint or the event store's
    // files. Records the rollups already hold go to the event store alone.
    this.log =
        FileEventLog.open(
            config.dataDir().resolve("wal"),
            new FileEventLog.Options(config.segmentBytes(), 8 << 20),
            Math.min(checkpointed, rawEvents.committedSequence()) + 1,
            logged -> {
              if (logged.event().id() != null && !logged.assignedId()) {
                dedup.markIfNew(Hashing.hash64(logged.event().id()), logged.arrivalMillis());
              }
              if (logged.sequence() <= checkpointed) {
                if (rawFirst[0] + rawChunk.size() != logged.sequence()
                    || rawChunk.size() == REPLAY_CHUNK) {
                  runner.toRawEvents(rawChunk, rawFirst[0]);
                  rawChunk.clear();
                  rawFirst[0] = logged.sequence();
                }
                rawChunk.add(logged.event());
                return;
              }
              chunk.add(logged);
              if (chunk.size() == REPLAY_CHUNK) {
                runner.replay(chunk);
                chunk.clear();
              }
            },
            (sequence, arrival, hasId, idHash) -> {
              if (hasId) { // covered by the checkpoint: only dedup needs it
                dedup.markIfNew(idHash, arrival);
              }
            });
    runner.toRawEvents(rawChunk, rawFirst[0]);
    runner.replay(chunk);
    rawEvents.healFrom(log::read); // after a full disk the event store re-reads the log in place
    this.recovery = log.recoveryReport();
    LOG.info(
        "replayed {} events from {} log segment(s) in {} ms{}",
        recovery.replayed(),
        recovery.segments(),
        recovery.millis(),
        recovery.truncated() ? " (cut " + recovery.truncatedBytes() + " bytes of torn tail)" : "");
    runner.start();
    this.checkpointer =
        new Checkpointer(
            rollups,
            log,
            clock,
            config.checkpointInterval(),
            config.dedupWindow(),
            config.walRetentionBytes(),
            rawEvents::committedSequence);
    checkpointer.start();
    this.pipeline = new IngestPipeline(log, dedup, runner, lifecycle, config.maxInFlight(), clock);
    this.decoder =
        new EventDecoder(
            config.limits(),
            clock,
            new dev.aggregator.ingestion.EventTypeAdmission(
                rollups.read(r -> r.catalog().schemas().stream().map(s -> s.name()).toList()),
                config.catalog().maxEventTypes()),
            config.privacy());
    this.queries = new QueryEngine(rollups, clock, rawEvents, runner::appliedUpTo);
    this.queryParser = new QueryParser(clock, config.maxQueryPoints());
    WebhookPolicy webhookPolicy = WebhookPolicy.parse(config.webhookAllow());
    this.alerts =
        new Alerts(
            store,
            queries,
            metric -> rollups.read(r -> r.catalog().resolve(metric)),
            config.tiers(),
            clock,
            webhookPolicy,
            new WebhookSender(webhookPolicy, WebhookSender.Options.defaults()),
            config.maxAlerts());
    runner.addListener(alerts::typesChanged);
    alerts.start();
  }

  /** Opens the engine on {@code config.dataDir()} with the system clock. */
  public static Aggregator open(EngineConfig config) throws IOException {
    return new Aggregator(config, System::currentTimeMillis);
  }

  /** Opens the engine with a given clock (tests). */
  public static Aggregator open(EngineConfig config, LongSupplier clock) throws IOException {
    return new Aggregator(config, clock);
  }

  public EngineConfig config() {
    return config;
  }

  public LongSupplier clock() {
    return clock;
  }

  public EventDecoder decoder() {
    return decoder;
  }

  public IngestPipeline pipeline() {
    return pipeline;
  }

  public QueryEngine queries() {
    return queries;
  }

  public QueryParser queryParser() {
    return queryParser;
  }

  public RollupEngine rollups() {
    return rollups;
  }

  public Lifecycle lifecycle() {
    return lifecycle;
  }

  public DeadLetterLog deadLetters() {
    return deadLetters;
  }

  public Deduplicator dedup() {
    return dedup;
  }

  public FileEventLog log() {
    return log;
  }

  public AggregationRunner runner() {
    return runner;
  }

  /** What opening the log found. */
  public RecoveryReport recovery() {
    return recovery;
  }

  /** Registers the engine's own metrics. */
  public void register(PrometheusRegistry registry) {
    lifecycle.register(registry);
    alerts.register(registry);
    registry.register(log.syncHistogram());
    registry.register(
        GaugeWithCallback.builder()
            .name("aggregator_rollup_rows_in_memory")
            .help("Rollup rows held in memory since the last checkpoint")
            .callback(cb -> cb.call(rollups.memoryRows()))
            .build());
    registry.register(
        GaugeWithCallback.builder()
            .name("aggregator_store_bytes")
            .help("Bytes of the rollup store on disk")
            .callback(cb -> cb.call(store.diskBytes()))
            .build());
    registry.register(
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder()
            .name("aggregator_checkpoints_total")
            .help("Checkpoints written since start")
            .callback(cb -> cb.call(checkpointer.checkpoints()))
            .build());
    registry.register(
        GaugeWithCallback.builder()
            .name("aggregator_dedup_ids")
            .help("Client ids remembered for deduplication")
            .callback(cb -> cb.call(dedup.size()))
            .build());
    registry.register(
        GaugeWithCallback.builder()
            .name("aggregator_wal_bytes")
            .help("Bytes of write-ahead log segments on disk")
            .callback(cb -> cb.call(log.stats().diskBytes()))
            .build());
    registry.register(
        GaugeWithCallback.builder()
            .name("aggregator_dead_letters")
            .help("Dead letters kept")
            .callback(cb -> cb.call(deadLetters.size()))
            .build());
  }

  public RocksRollupStore store() {
    return store;
  }

  public Alerts alerts() {
    return alerts;
  }

  /** The columnar store of raw events. */
  public ParquetEventStore rawEvents() {
    return rawEvents;
  }

  public Checkpointer checkpointer() {
    return checkpointer;
  }

  /** What {@link #deleteUser} removed. */
  public record UserDeletion(long events, long logRecords, long upToSequence) {}

  /**
   * Removes the raw events of {@code userId} (as sent: pseudonymised here when {@code userIdSecret}
   * is set) accepted so far from the event store and the log. Rollups keep what the events added:
   * counts, sums and unique-user sketches are aggregates, not the user's events. Waits until
   * aggregation, the event store and a checkpoint cover every event accepted before the call, so no
   * restart replays the removed events from the log; blocks for seconds at most on a healthy
   * server, longer on a large event store (each file holding the user is rewritten).
   *
   * @throws IOException if a step did not complete within {@code timeoutMillis} or failed; the
   *     user's events may then be partly removed, and the call can be repeated
   */
  public UserDeletion deleteUser(String userId, long timeoutMillis)
      throws IOException, InterruptedException {
    String stored = config.privacy().pseudonym(userId);
    long upTo = log.nextSequence() - 1;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (runner.appliedUpTo() < upTo) {
      if (System.nanoTime() > deadline) {
        throw new IOException("aggregation did not reach the deletion point in time");
      }
      Thread.sleep(5);
    }
    long events = rawEvents.deleteUser(stored, upTo, timeoutMillis);
    checkpointer.checkpointNow();
    if (rollups.checkpointSequence() < upTo) {
      throw new IOException("no checkpoint covers the deletion point; the log was left as it was");
    }
    long records = log.redactUser(stored, upTo);
    LOG.info("deleted a user's events: {} from the event store, {} in the log", events, records);
    return new UserDeletion(events, records, upTo);
  }

  private static java.util.concurrent.ExecutorService shardHelpers(int threads) {
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger(1);
    return java.util.concurrent.Executors.newFixedThreadPool(
        threads,
        r -> {
          Thread t = new Thread(r, "aggregator-shard-" + n.getAndIncrement());
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * Stops intake, lets aggregation finish what is durable, writes a last checkpoint (so the next
   * start replays nothing) and closes files.
   */
  @Override
  public void close() {
    alerts.close();
    log.close();
    runner.close();
    try {
      rawEvents.close(); // seals what is staged, so the next start replays nothing for it
    } catch (IOException e) {
      LOG.warn("closing the event store failed; the next start replays its tail from the log", e);
    }
    checkpointer.close();
    if (shardHelpers != null) {
      shardHelpers.shutdown(); // idle: the aggregation thread, their only caller, has stopped
    }
    store.close();
    deadLetters.close();
  }
}
