package dev.aggregator.cluster.flink;

import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.SeriesIds;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.cluster.PostgresRollupStore;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.LogPosition;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rollups of the job: the project's own {@link RollupEngine} — the same accumulators, catalog,
 * tiers, lateness and checkpoint protocol as the embedded mode, no second implementation — run once
 * per <em>rollup partition</em>.
 *
 * <p>The stream is keyed by event type, and a rollup partition is one of Flink's key groups (the
 * job's maximum parallelism is the partition count): a key group belongs to one subtask at a time
 * and moves whole when the job is rescaled, so each partition has exactly one writer. Its engine
 * writes into a PostgreSQL schema of its own ({@code <prefix><partition>}) and hands out the series
 * ids of its residue ({@link SeriesIds}), so a query server reads every partition as one ({@code
 * StoredRollups} over the schemas).
 *
 * <p><b>Exactly once.</b> The engine's state lives in PostgreSQL, not in Flink state: at every
 * Flink checkpoint (before the barrier moves on) each partition commits its rows together with the
 * Kafka offsets they cover, per partition of the topic, in one transaction conditioned on its
 * previous checkpoint. After a failure Flink rewinds the source to its last completed checkpoint,
 * which never reaches past what PostgreSQL holds; the engine reloads from PostgreSQL and skips
 * every record its stored position covers (records of one Kafka partition reach a key group in
 * offset order). A writer left over from before a failover is refused by the conditional commit.
 */
final class RollupFunction extends KeyedProcessFunction<String, LogRecord, Void>
    implements CheckpointedFunction {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(RollupFunction.class);
  private static final int BATCH = 1_000;

  private final RollupJob.Options options;

  private transient Map<Integer, Partition> partitions;
  private transient MapState<String, Boolean> clientIds; // of the current key's event type
  private transient EventProperties.Builder scratch;
  private transient int keyGroups;
  private transient long memoryBytesPerPartition;
  private transient Counter applied;
  private transient Counter skipped;
  private transient Counter duplicates;
  private transient Counter failed;

  /** One rollup partition's engine and the records noted since its last apply. */
  private static final class Partition {
    final PostgresRollupStore store;
    final RollupEngine engine;
    final List<Event> pending = new ArrayList<>(BATCH);
    LogPosition covered; // what the engine's rows cover once the pending events are applied

    Partition(PostgresRollupStore store, RollupEngine engine) {
      this.store = store;
      this.engine = engine;
      this.covered = engine.appliedPosition();
    }
  }

  RollupFunction(RollupJob.Options options) {
    this.options = options;
  }

  @Override
  public void open(OpenContext context) {
    partitions = new HashMap<>();
    scratch = EventProperties.builder();
    keyGroups = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
    int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    int owned = (keyGroups + parallelism - 1) / parallelism;
    memoryBytesPerPartition = RollupEngine.defaultMemoryBytes() / owned;
    MapStateDescriptor<String, Boolean> ids =
        new MapStateDescriptor<>("clientIds", Types.STRING, Types.BOOLEAN);
    // No incremental cleanup: on the heap backend it walks the whole map of the key (every id of
    // the type) on each access — measured: aggregation slowed to a crawl past ~100k ids. RocksDB
    // (the production backend) drops expired ids in compaction; on the heap, when read.
    ids.enableTimeToLive(
        StateTtlConfig.newBuilder(options.dedupWindow)
            .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
            .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
            .disableCleanupInBackground()
            .cleanupInRocksdbCompactFilter(10_000)
            .build());
    clientIds = getRuntimeContext().getMapState(ids);
    applied = getRuntimeContext().getMetricGroup().counter("eventsApplied");
    duplicates = getRuntimeContext().getMetricGroup().counter("duplicatesDropped");
    skipped = getRuntimeContext().getMetricGroup().counter("eventsAlreadyCommitted");
    failed = getRuntimeContext().getMetricGroup().counter("eventsFailed");
  }

  @Override
  public void initializeState(FunctionInitializationContext context) {
    // Nothing in Flink state: each partition's engine reloads from PostgreSQL on its first record.
  }

  @Override
  public void processElement(LogRecord record, Context context, Collector<Void> out)
      throws Exception {
    int p = KeyGroupRangeAssignment.assignToKeyGroup(context.getCurrentKey(), keyGroups);
    Partition partition = partitions.get(p);
    if (partition == null) {
      partition = open(p);
      partitions.put(p, partition);
    }
    if (partition.covered.covers(record.partition, record.offset)) {
      // Committed before a failure, replayed by the source: counted once. Its id is noted again,
      // as the dedup state restored with the source's offsets may predate it.
      if (record.clientId != null) {
        clientIds.put(record.clientId, Boolean.TRUE);
      }
      skipped.inc();
      return;
    }
    if (record.clientId != null) {
      if (clientIds.contains(record.clientId)) {
        duplicates.inc(); // a client's retry within the dedup window
        return;
      }
      clientIds.put(record.clientId, Boolean.TRUE);
    }
    partition.pending.add(
        EventCodec.decode(record.offset, ByteBuffer.wrap(record.bytes), scratch).event());
    partition.covered = partition.covered.advance(record.partition, record.offset);
    if (partition.pending.size() >= BATCH) {
      apply(partition);
    }
  }

  private Partition open(int p) throws IOException {
    PostgresRollupStore store =
        PostgresRollupStore.open(
            options.jdbcUrl,
            options.jdbcProperties,
            options.schema(p),
            Tier.bucketsPerPartition(Tier.DEFAULTS));
    RollupEngine engine =
        new RollupEngine(
            Tier.DEFAULTS,
            CatalogLimits.defaults()
                .withCombinations(CatalogLimits.parseCombinations(options.combinations)),
            options.maxMemoryRows,
            memoryBytesPerPartition,
            options.lateness,
            store,
            new SeriesIds(p, keyGroups));
    LOG.info("rollup partition {} resumes after {}", p, engine.checkpointPosition());
    return new Partition(store, engine);
  }

  private void apply(Partition partition) throws IOException {
    if (partition.pending.isEmpty()) {
      return;
    }
    partition.engine.apply(
        partition.pending,
        partition.covered,
        options.clock.getAsLong(),
        (i, e, outcome) -> {
          if (outcome == RollupEngine.Outcome.FAILED) {
            failed.inc(); // a full catalog: logged by the engine, as in the embedded mode
          }
        });
    applied.inc(partition.pending.size());
    partition.pending.clear();
    if (partition.engine.wantsCheckpoint()) {
      partition.engine.checkpoint(); // memory: safe at any time, the position commits with rows
    }
  }

  /** Commits every partition's rows and position before the barrier moves on. */
  @Override
  public void snapshotState(FunctionSnapshotContext context) throws IOException {
    for (Partition partition : partitions.values()) {
      apply(partition);
      partition.engine.checkpoint();
      partition.engine.expire(options.clock.getAsLong());
    }
  }

  /**
   * Commits what was applied (a bounded run's end; after a failure, what is consistent anyway: the
   * rows commit with the position they cover) and closes the stores.
   */
  @Override
  public void close() {
    if (partitions == null) {
      return;
    }
    for (Map.Entry<Integer, Partition> e : partitions.entrySet()) {
      Partition partition = e.getValue();
      try {
        apply(partition);
        partition.engine.checkpoint();
      } catch (IOException | RuntimeException failure) {
        LOG.warn("rollup partition {}: no last checkpoint at close", e.getKey(), failure);
      }
      try {
        partition.store.close();
      } catch (RuntimeException failure) {
        LOG.warn("rollup partition {}: closing its store", e.getKey(), failure);
      }
    }
    partitions = null;
  }
}
