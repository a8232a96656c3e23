package dev.aggregator.aggregation;

import dev.aggregator.event.Event;
import dev.aggregator.storage.LogPosition;
import dev.aggregator.storage.RollupStore;
import dev.aggregator.storage.StoreBatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * Event-time rollups: for every event, O(1) updates to the rows of its event type's total series,
 * of the marginal series of each dimension value it carries and of the series of each declared
 * combination it completes, in every tier whose retention covers its timestamp.
 *
 * <p>Rows live in memory as deltas since the last checkpoint; a {@link #checkpoint} freezes them
 * and merges them into the {@link RollupStore} together with the catalog's new entries and the log
 * position they cover, in one atomic write. A query reads store + frozen + active rows; they are
 * all mergeable, and while a checkpoint commits, queries read the store through a snapshot taken
 * when the rows were frozen, so no query counts a frozen row both in memory and in the store.
 * Out-of-order, late and historical events need nothing special: an event adds to the bucket its
 * timestamp names, whenever it arrives.
 *
 * <p>One writer (the aggregation thread) applies batches under the write lock: it resolves each
 * event against the catalog ({@link RollupAccumulator#add}), then the rows' shards, keyed by
 * series, are updated in parallel, shard 0 on the writer and the others on helper threads. Queries
 * read under the read lock ({@link #read}); a checkpoint's store I/O runs outside both.
 *
 * <pre>{@code
 * RollupEngine engine = new RollupEngine(Tier.DEFAULTS, CatalogLimits.defaults(), 10_000_000,
 *     Duration.ofMinutes(1), store);
 * engine.apply(events, System.currentTimeMillis(), (i, event, outcome) -> {});
 * engine.checkpoint();   // durable up to the last record applied
 * }</pre>
 */
public final class RollupEngine implements RollupSource {
  /** What became of one event. */
  public enum Outcome {
    /** Counted in every tier that covers its time. */
    AGGREGATED,
    /** Counted, but behind the watermark by more than the lateness allowance. */
    LATE,
    /** Older than every tier's retention: not counted. */
    EXPIRED,
    /** Not counted: a memory bound (rows in memory, or event types) was reached. */
    FAILED
  }

  /** Receives the outcome of each event of a batch. */
  @FunctionalInterface
  public interface OutcomeSink {
    void accept(int index, Event event, Outcome outcome);
  }

  /** The dimension name under which an event's {@code source} is kept. */
  public static final String SOURCE = "source";

  /** Rows read from the store per round trip at a checkpoint. */
  private static final int MERGE_CHUNK = 4096;

  private final List<Tier> tiers;
  private final Catalog catalog;
  private final long maxMemoryRows;
  private final long maxMemoryBytes;
  private volatile long frozenBytes; // estimated when frozen; 0 when nothing is frozen
  private volatile long activeBytesSeen; // estimated after each batch (see memoryBytes)
  private final long latenessMillis;
  private final RollupStore store;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final long[] cutoffs;

  /** The finest tier that keeps dimensions and sketches, or -1. */
  private final int finestFull;

  /** Tiers whose rows are rolled up from the finest full tier's at each checkpoint. */
  private final boolean[] derived;

  /**
   * Shards of the rows: series {@code s} lives in shard {@code s % shards} (see RollupAccumulator).
   */
  private final int shards;

  /** Runs shards 1..n-1 of each batch while the aggregation thread runs shard 0; null for one. */
  private final Executor helpers;

  private final RollupAccumulator accumulator;

  /** The rows changed since the last checkpoint, by shard, then tier. */
  private RowTable[][] active;

  /**
   * What queries read besides the active rows: the rows being checkpointed and the store as of when
   * they were frozen. A checkpoint publishes (frozen, snapshot) when it freezes rows and (none,
   * latest) once they are committed; a query keeps the view it started with, so it never waits for
   * a commit (seconds for a million rows) and never counts a row twice.
   */
  private volatile View view = new View(null, null);

  private static final class View {
    final RowTable[][] frozen;
    final RollupStore.Snapshot snapshot;
    private final AtomicInteger readers = new AtomicInteger();
    private volatile boolean retired;
    private final AtomicBoolean released = new AtomicBoolean();

    View(RowTable[][] frozen, RollupStore.Snapshot snapshot) {
      this.frozen = frozen;
      this.snapshot = snapshot;
    }

    void release() {
      if (readers.decrementAndGet() == 0 && retired) {
        free();
      }
    }

    void retire() {
      retired = true;
      if (readers.get() == 0) {
        free();
      }
    }

    private void free() {
      if (snapshot != null && released.compareAndSet(false, true)) {
        snapshot.close();
      }
    }
  }

  private long watermark = Long.MIN_VALUE;
  private long journalSequence;

  /** What the store's rows cover, as read or last written. */
  private volatile LogPosition checkpointPosition = LogPosition.START;

  /** The checkpoint record the store holds, as this engine read or wrote it; null before any. */
  private byte[] committedCheckpoint;

  /** What the rows applied so far cover. */
  private volatile LogPosition appliedPosition = LogPosition.START;

  /**
   * @param tiers the resolutions kept, finest first
   * @param maxMemoryRows rows held in memory between checkpoints, at most; without a store, events
   *     that would need more fail
   * @param maxMemoryBytes heap the rows in memory (active and being checkpointed, with their
   *     sketches) may take, estimated; with a store, reaching half of it calls a checkpoint and
   *     reaching it holds aggregation back until one is done (so ingestion backs up into 429s
   *     rather than the heap into an OutOfMemoryError)
   * @param lateness how far behind the newest event time an event may arrive before it is late
   * @param store where checkpoints go, or null to keep everything in memory
   */
  public RollupEngine(
      List<Tier> tiers,
      CatalogLimits limits,
      long maxMemoryRows,
      long maxMemoryBytes,
      Duration lateness,
      RollupStore store) {
    this(tiers, limits, maxMemoryRows, maxMemoryBytes, lateness, store, 1, null);
  }

  /**
   * As above, with the rows in {@code shards} shards whose per-event updates run in parallel: the
   * caller's thread resolves each batch against the catalog and updates shard 0, {@code helpers}
   * update the others meanwhile (docs/DESIGN.md §1, "Parallel aggregation").
   *
   * @param shards how many; 1 updates every row on the caller's thread
   * @param helpers runs the other shards' updates, with at least {@code shards - 1} threads; null
   *     when {@code shards} is 1
   */
  public RollupEngine(
      List<Tier> tiers,
      CatalogLimits limits,
      long maxMemoryRows,
      long maxMemoryBytes,
      Duration lateness,
      RollupStore store,
      int shards,
      Executor helpers) {
    this(
        tiers,
        limits,
        maxMemoryRows,
        maxMemoryBytes,
        lateness,
        store,
        shards,
        helpers,
        SeriesIds.ALL);
  }

  /**
   * One partition of the event types (cluster mode: one per key group of the Flink job), on one
   * thread: its catalog hands out only the series ids of {@code ids}, so the partitions' stores can
   * be read as one ({@link StoredRollups}).
   */
  public RollupEngine(
      List<Tier> tiers,
      CatalogLimits limits,
      long maxMemoryRows,
      long maxMemoryBytes,
      Duration lateness,
      RollupStore store,
      SeriesIds ids) {
    this(tiers, limits, maxMemoryRows, maxMemoryBytes, lateness, store, 1, null, ids);
  }

  private RollupEngine(
      List<Tier> tiers,
      CatalogLimits limits,
      long maxMemoryRows,
      long maxMemoryBytes,
      Duration lateness,
      RollupStore store,
      int shards,
      Executor helpers,
      SeriesIds ids) {
    if (shards < 1 || (shards > 1 && helpers == null)) {
      throw new IllegalArgumentException("shards must be 1, or more with helpers: " + shards);
    }
    this.shards = shards;
    this.helpers = helpers;
    this.tiers = List.copyOf(tiers);
    this.catalog = new Catalog(limits, ids);
    this.maxMemoryRows = maxMemoryRows;
    this.maxMemoryBytes = maxMemoryBytes;
    this.latenessMillis = lateness.toMillis();
    this.store = store;
    this.cutoffs = new long[tiers.size()];
    this.finestFull = finestFull(this.tiers);
    this.derived = new boolean[tiers.size()];
    for (int i = finestFull + 1; finestFull >= 0 && i < tiers.size(); i++) {
      Tier t = this.tiers.get(i);
      derived[i] =
          !t.totalsOnly()
              && t.resolution().millis() % this.tiers.get(finestFull).resolution().millis() == 0;
    }
    this.active = newTables();
    this.accumulator = new RollupAccumulator(this.tiers, catalog, finestFull, derived);
    if (store != null) {
      load();
    }
  }

  /** As above, with {@link #defaultMemoryBytes()}. */
  public RollupEngine(
      List<Tier> tiers,
      CatalogLimits limits,
      long maxMemoryRows,
      Duration lateness,
      RollupStore store) {
    this(tiers, limits, maxMemoryRows, defaultMemoryBytes(), lateness, store);
  }

  /**
   * A quarter of the JVM's maximum heap: rows are ~230 bytes each on the standard workload
   * (measured with {@code jmap -histo}), and the active rows, the frozen ones and a checkpoint's
   * rolled-up copies can be in memory at once, next to ingestion's and queries' own.
   */
  public static long defaultMemoryBytes() {
    return Runtime.getRuntime().maxMemory() / 4;
  }

  /** An in-memory engine with default catalog limits (tests, benchmarks). */
  public RollupEngine(List<Tier> tiers, long maxMemoryRows, Duration lateness) {
    this(tiers, CatalogLimits.defaults(), maxMemoryRows, lateness, null);
  }

  public List<Tier> tiers() {
    return tiers;
  }

  /** The last log sequence number applied, -1 if none (a one-partition log: the embedded one). */
  public long appliedSequence() {
    return sequenceOf(appliedPosition);
  }

  /** The log sequence number the store's rows cover (inclusive), -1 if none (one partition). */
  public long checkpointSequence() {
    return sequenceOf(checkpointPosition);
  }

  /** What the rows applied so far cover (a record it covers applied again would count twice). */
  public LogPosition appliedPosition() {
    return appliedPosition;
  }

  /** What the store's rows cover: where a runner resumes after a restart. */
  public LogPosition checkpointPosition() {
    return checkpointPosition;
  }

  private static long sequenceOf(LogPosition p) {
    return p.partitions() == 1 ? p.offset(0) : -1;
  }

  private static int finestFull(List<Tier> tiers) {
    for (int i = 0; i < tiers.size(); i++) {
      if (!tiers.get(i).totalsOnly()) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Whether tier {@code i} is rolled up from the finest full tier rather than updated per event.
   */
  public boolean isDerived(int i) {
    return derived[i];
  }

  private RowTable[][] newTables() {
    RowTable[][] tables = new RowTable[shards][tiers.size()];
    for (RowTable[] shard : tables) {
      for (int i = 0; i < shard.length; i++) {
        shard[i] = new RowTable(1024, i == finestFull);
      }
    }
    return tables;
  }

  /** Applies a batch with no log position (tests, benchmarks). */
  public void apply(List<Event> events, long nowMillis, OutcomeSink sink) {
    apply(events, -1, nowMillis, sink);
  }

  /**
   * Applies a batch under one write lock; {@code sink} learns each event's outcome. The events are
   * the log's records {@code firstSequence, firstSequence + 1, ...}: a checkpoint covers the log
   * exactly up to the last record applied before it.
   */
  public void apply(List<Event> events, long firstSequence, long nowMillis, OutcomeSink sink) {
    apply(
        events,
        firstSequence >= 0 && !events.isEmpty()
            ? LogPosition.of(firstSequence + events.size() - 1)
            : null,
        nowMillis,
        sink);
  }

  /**
   * Applies a batch of a partitioned log: after it, the rows cover {@code covered} (null: the
   * position does not move), which the next checkpoint records.
   */
  public void apply(List<Event> events, LogPosition covered, long nowMillis, OutcomeSink sink) {
    if (store != null) {
      relieveMemory();
    }
    lock.writeLock().lock();
    try {
      if (covered != null) {
        appliedPosition = covered;
      }
      for (int i = 0; i < cutoffs.length; i++) {
        cutoffs[i] = tiers.get(i).cutoff(nowMillis);
      }
      Outcome[] outcomes = resolve(events);
      updateRows(outcomes);
      for (int i = 0; i < events.size(); i++) {
        sink.accept(i, events.get(i), outcomes[i]);
      }
    } finally {
      accumulator.clear();
      lock.writeLock().unlock();
    }
    activeBytesSeen = activeBytes(); // after each batch: health and the next batch's budget check
  }

  /** The catalog phase, on the caller's thread: each event's outcome, its row updates noted. */
  private Outcome[] resolve(List<Event> events) {
    Outcome[] outcomes = new Outcome[events.size()];
    long rowsInMemory = store == null ? memoryRows() : 0;
    for (int i = 0; i < events.size(); i++) {
      Event e = events.get(i);
      Outcome outcome;
      try {
        int covering = RollupAccumulator.covering(e.timestamp(), cutoffs);
        int needed = store == null && covering != 0 ? accumulator.rowsNeeded(covering, e) : 0;
        if (store == null && covering != 0 && rowsInMemory + needed > maxMemoryRows) {
          outcome = Outcome.FAILED;
        } else {
          long lateBefore =
              watermark == Long.MIN_VALUE ? Long.MIN_VALUE : watermark - latenessMillis;
          outcome = accumulator.add(i, e, covering, lateBefore);
          if (outcome == Outcome.AGGREGATED || outcome == Outcome.LATE) {
            rowsInMemory += needed; // at most: the rows this batch adds are not in the tables yet
            watermark = Math.max(watermark, e.timestamp());
          }
        }
      } catch (RuntimeException ex) {
        // One event's failure (a bug) must not take its batch with it.
        org.slf4j.LoggerFactory.getLogger(RollupEngine.class)
            .error("aggregating an event of type {} failed", e.eventType(), ex);
        outcome = Outcome.FAILED;
      }
      outcomes[i] = outcome;
    }
    return outcomes;
  }

  /**
   * The row phase: every shard applies the batch's noted updates to its own tables, shard 0 on this
   * thread and the others on the helpers, and this thread waits for all of them (the write lock is
   * held throughout, so a query sees all of a batch or none of it).
   */
  private void updateRows(Outcome[] outcomes) {
    if (accumulator.size() == 0) {
      return;
    }
    if (shards == 1) {
      markFailed(outcomes, accumulator.applyTo(active[0], 0, 1));
      return;
    }
    List<CompletableFuture<int[]>> others = new java.util.ArrayList<>(shards - 1);
    for (int s = 1; s < shards; s++) {
      RowTable[] tables = active[s];
      int shard = s;
      others.add(
          CompletableFuture.supplyAsync(() -> accumulator.applyTo(tables, shard, shards), helpers));
    }
    markFailed(outcomes, accumulator.applyTo(active[0], 0, shards));
    for (CompletableFuture<int[]> f : others) {
      markFailed(outcomes, f.join());
    }
  }

  /** Events whose row updates failed in some shard (a bug, logged) count as failed. */
  private static void markFailed(Outcome[] outcomes, int[] failed) {
    if (failed != null) {
      for (int i : failed) {
        outcomes[i] = Outcome.FAILED;
      }
    }
  }

  /** Series allocated so far (read without the lock: for health). */
  public int seriesCount() {
    return catalog.seriesCount();
  }

  /** Rows held in memory (active and frozen). */
  public long memoryRows() {
    RowTable[][] f = view.frozen;
    return rows(active) + (f == null ? 0 : rows(f));
  }

  private static long rows(RowTable[][] tables) {
    long n = 0;
    for (RowTable[] shard : tables) {
      for (RowTable t : shard) {
        n += t.size();
      }
    }
    return n;
  }

  /** Whether the active rows have reached the bound that calls for a checkpoint. */
  public boolean wantsCheckpoint() {
    if (store == null) {
      return false;
    }
    return rows(active) >= maxMemoryRows / 2 || activeBytesSeen >= maxMemoryBytes / 2;
  }

  /**
   * Estimated heap bytes of the rows in memory, active and being checkpointed, with sketches, as of
   * the last batch applied. Never waits for the engine's lock (health reads it).
   */
  public long memoryBytes() {
    return activeBytesSeen + frozenBytes;
  }

  /** The byte budget of the rows in memory. */
  public long maxMemoryBytes() {
    return maxMemoryBytes;
  }

  /**
   * The active rows' estimated bytes. Only on the aggregation thread, the tables' one writer, or
   * under the write lock: the tables' arrays are replaced as they grow.
   */
  private long activeBytes() {
    return estimatedBytes(active);
  }

  private static long estimatedBytes(RowTable[][] tables) {
    long n = 0;
    for (RowTable[] shard : tables) {
      for (RowTable t : shard) {
        n += t.estimatedBytes();
      }
    }
    return n;
  }

  /**
   * Called by the aggregation thread before a batch: past the row or byte budget, checkpoints
   * (waiting first for one in progress, which frees the rows it froze) until the rows fit again. A
   * store that cannot take a checkpoint holds aggregation here, retrying; ingestion then backs up
   * into 429s and health says so, and nothing acknowledged is dropped.
   */
  private void relieveMemory() {
    while (memoryRows() >= maxMemoryRows || memoryBytes() >= maxMemoryBytes) {
      try {
        // Waits for a checkpoint in progress first; then writes the active rows if they are
        // still over (the freeze resets their estimate).
        if (!checkpoint() && frozenBytes == 0) {
          return; // nothing of ours to write (rows applied without log positions)
        }
      } catch (IOException | RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(RollupEngine.class)
            .warn("rows in memory are over budget and a checkpoint failed: {}", e.toString());
        try {
          Thread.sleep(500);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return; // closing: the log holds whatever is not checkpointed
        }
      }
    }
  }

  /** The newest event time applied so far, or {@link Long#MIN_VALUE}. */
  public long watermark() {
    return watermark;
  }

  /**
   * Makes everything applied so far durable in the store, with the log position it covers: freezes
   * the in-memory rows (a pointer swap under the write lock), merges them into the stored rows and
   * writes them with the catalog's new entries and the checkpoint in one atomic batch. Called by
   * the aggregation thread; the store I/O runs without the engine's lock, so queries and (through
   * the pipeline's queue) ingestion go on.
   */
  public synchronized boolean checkpoint() throws IOException {
    if (store == null) {
      return false;
    }
    LogPosition position;
    RowTable[][] toFlush;
    List<byte[]> journal;
    Map<String, byte[]> stats;
    long mark;
    lock.writeLock().lock();
    try {
      position = appliedPosition;
      if (position.equals(checkpointPosition)) {
        return false; // nothing applied since the last one
      }
      toFlush = active;
      frozenBytes = estimatedBytes(toFlush);
      activeBytesSeen = 0;
      active = newTables();
      publish(new View(toFlush, store.snapshot()));
      journal = catalog.drainJournal();
      stats = catalog.drainStats();
      mark = watermark;
    } finally {
      lock.writeLock().unlock();
    }
    long journalStart = journalSequence;
    try (StoreBatch batch = store.batch()) {
      journalSequence = StoredCheckpoint.writeCatalog(batch, journal, stats, journalStart);
      for (RowTable[] shard : toFlush) { // shards hold disjoint series: each key is written once
        RowTable[] toWrite = rolledUp(shard);
        for (int t = 0; t < toWrite.length; t++) {
          MergeChunk chunk = new MergeChunk(t, batch);
          toWrite[t].forEach(chunk::add);
          chunk.flush();
        }
      }
      batch.putMeta(StoredCheckpoint.FORMAT, new byte[] {2});
      byte[] record = new StoredCheckpoint(position, mark, journalSequence).encode();
      batch.putMeta(StoredCheckpoint.CHECKPOINT, record);
      // Only over the checkpoint we follow: a second engine over this store (which would merge
      // its rows into ours and count them twice) is refused with StaleWriteException.
      batch.requireMeta(StoredCheckpoint.CHECKPOINT, committedCheckpoint);
      store.write(batch);
      committedCheckpoint = record;
      publish(new View(null, null)); // committed: from now on the latest store holds them
      frozenBytes = 0;
      checkpointPosition = position;
    } catch (IOException | RuntimeException e) {
      // Not committed: the frozen rows go back in front of the active ones and the catalog's
      // entries back in its journal; nothing is lost, the next checkpoint tries again.
      lock.writeLock().lock();
      try {
        journalSequence = journalStart;
        catalog.requeue(journal, stats);
        for (int s = 0; s < shards; s++) {
          for (int t = 0; t < tiers.size(); t++) {
            RowTable into = active[s][t];
            toFlush[s][t].forEach((key, row) -> into.getOrCreate(key).merge(row));
          }
        }
        publish(new View(null, null));
        frozenBytes = 0;
      } finally {
        lock.writeLock().unlock();
      }
      if (e instanceof UncheckedIOException u) {
        throw u.getCause();
      }
      throw e;
    }
    return true;
  }

  /**
   * Merges a tier's changed rows into what the store holds, {@link #MERGE_CHUNK} rows per {@link
   * RollupStore#multiGet}: one round trip per chunk instead of one per row.
   */
  private final class MergeChunk {
    private final int tier;
    private final StoreBatch batch;
    private final int[] series = new int[MERGE_CHUNK];
    private final long[] buckets = new long[MERGE_CHUNK];
    private final RollupRow[] rows = new RollupRow[MERGE_CHUNK];
    private int n;

    MergeChunk(int tier, StoreBatch batch) {
      this.tier = tier;
      this.batch = batch;
    }

    void add(long key, RollupRow row) {
      series[n] = RowTable.seriesOf(key);
      buckets[n] = RowTable.bucketOf(key);
      rows[n++] = row;
      if (n == MERGE_CHUNK) {
        flush();
      }
    }

    void flush() {
      if (n == 0) {
        return;
      }
      List<byte[]> stored;
      try {
        stored = store.multiGet(tier, series, buckets, n);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      for (int i = 0; i < n; i++) {
        byte[] old = stored.get(i);
        RollupRow merged = rows[i];
        if (old != null) {
          merged = RowCodec.decode(old); // the decoded copy; the frozen row stays as queries see it
          merged.merge(rows[i]);
        }
        batch.putRow(tier, series[i], buckets[i], RowCodec.encode(merged));
        rows[i] = null;
      }
      n = 0;
    }
  }

  /**
   * One shard's frozen rows to write: as frozen for the finest and totals tiers; for each derived
   * tier, its own frozen rows (historical events) plus the finest tier's rolled up. New tables: the
   * frozen ones stay exactly as queries see them until the commit.
   */
  private RowTable[] rolledUp(RowTable[] frozen) {
    RowTable[] out = frozen.clone();
    for (int d = 0; d < out.length; d++) {
      if (!derived[d]) {
        continue;
      }
      RowTable into = new RowTable(frozen[finestFull].size() / 4 + 16, false);
      long ratio = tiers.get(d).resolution().millis() / tiers.get(finestFull).resolution().millis();
      frozen[d].forEach((key, row) -> into.getOrCreate(key).merge(row));
      frozen[finestFull].forEach(
          (key, row) ->
              into.getOrCreate(RowTable.key(RowTable.seriesOf(key), RowTable.bucketOf(key) / ratio))
                  .merge(row));
      out[d] = into;
    }
    return out;
  }

  private void publish(View next) {
    View previous = view;
    view = next;
    previous.retire();
  }

  /** Reads the catalog and checkpoint back from the store. */
  private void load() {
    try {
      byte[] checkpoint = StoredCheckpoint.read(store);
      boolean beforeMarginals = StoredCheckpoint.beforeMarginals(store, checkpoint);
      journalSequence = StoredCheckpoint.replayCatalog(store, catalog, 0);
      if (beforeMarginals) {
        catalog.markMarginalsIncomplete(); // written by the full-combination design
      }
      catalog.reconcileCombinations(); // journaled: the next checkpoint records the changes
      committedCheckpoint = checkpoint;
      if (checkpoint != null) {
        StoredCheckpoint c = StoredCheckpoint.decode(checkpoint);
        checkpointPosition = c.position();
        appliedPosition = checkpointPosition;
        watermark = c.watermark();
        journalSequence = c.journalEntries();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Drops rows that have fallen out of their tier's retention, in memory and in the store. */
  public void expire(long nowMillis) throws IOException {
    lock.writeLock().lock();
    try {
      for (int i = 0; i < tiers.size(); i++) {
        Tier tier = tiers.get(i);
        if (!tier.keepsForever()) {
          for (RowTable[] shard : active) {
            shard[i].removeBefore(tier.resolution().bucketIndex(tier.cutoff(nowMillis)));
          }
        }
      }
    } finally {
      lock.writeLock().unlock();
    }
    if (store != null) {
      for (int i = 0; i < tiers.size(); i++) {
        Tier tier = tiers.get(i);
        if (!tier.keepsForever()) {
          store.deleteBefore(i, tier.resolution().bucketIndex(tier.cutoff(nowMillis)));
        }
      }
    }
  }

  /**
   * Whether the catalog reached {@code maxCatalogBytes}; without the lock, for health on an event
   * loop (a reader queued behind aggregation's write lock would stall the loop).
   */
  public boolean catalogFull() {
    return catalog.full();
  }

  /**
   * Runs {@code query} against a consistent view of the rollups: the active rows under the read
   * lock, and the frozen rows with the store as of their freezing (or the latest store once they
   * are committed).
   */
  @Override
  public <T> T read(Function<RollupReader, T> query) {
    lock.readLock().lock();
    try {
      View v;
      while (true) { // take the current view unless it is retired meanwhile
        v = view;
        v.readers.incrementAndGet();
        if (v == view) {
          break;
        }
        v.release();
      }
      try {
        return query.apply(new Reader(v.frozen, v.snapshot));
      } finally {
        v.release();
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  private final class Reader implements RollupReader {
    private final RowTable[][] frozenView;
    private final RollupStore.Snapshot snapshot;

    Reader(RowTable[][] frozenView, RollupStore.Snapshot snapshot) {
      this.frozenView = frozenView;
      this.snapshot = snapshot;
    }

    @Override
    public Catalog catalog() {
      return catalog;
    }

    @Override
    public List<Tier> tiers() {
      return tiers;
    }

    @Override
    public void readRows(
        int tier, int series, long fromBucket, long toBucket, RowNeeds needs, RowSink sink) {
      if (store != null) {
        StoredRollups.scan(store, snapshot, tier, series, fromBucket, toBucket, needs, sink);
      }
      int shard = RollupAccumulator.shardOf(series, shards); // the only one holding its rows
      RowTable[] f = frozenView == null ? null : frozenView[shard];
      RowTable[] a = active[shard];
      if (f != null) {
        visit(f[tier], series, fromBucket, toBucket, sink);
      }
      visit(a[tier], series, fromBucket, toBucket, sink);
      if (derived[tier]) {
        // What the finest tier holds in memory is not rolled up yet: roll it up here.
        long ratio =
            tiers.get(tier).resolution().millis() / tiers.get(finestFull).resolution().millis();
        if (f != null) {
          rollUp(f[finestFull], series, ratio, fromBucket, toBucket, sink);
        }
        rollUp(a[finestFull], series, ratio, fromBucket, toBucket, sink);
      }
    }

    private void rollUp(RowTable finest, int series, long ratio, long from, long to, RowSink sink) {
      finest.forEachOf(
          series,
          (key, row) -> {
            long bucket = RowTable.bucketOf(key) / ratio;
            if (bucket >= from && bucket < to) {
              sink.accept(bucket, row);
            }
          });
    }

    private void visit(RowTable table, int series, long from, long to, RowSink sink) {
      long lo = Math.max(from, table.minBucket());
      long hi = Math.min(to - 1, table.maxBucket());
      for (long b = lo; b <= hi; b++) {
        RollupRow row = table.get(RowTable.key(series, b));
        if (row != null) {
          sink.accept(b, row);
        }
      }
    }
  }
}
