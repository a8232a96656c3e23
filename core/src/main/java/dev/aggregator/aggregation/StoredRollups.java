package dev.aggregator.aggregation;

import dev.aggregator.storage.LogPosition;
import dev.aggregator.storage.RollupStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * Rollups read from a store alone, with no engine and no rows in memory: what a query server runs
 * against when another process writes the rollups (a Flink job into PostgreSQL, docs/DESIGN.md
 * §10). It knows what the last checkpoint it {@linkplain #refresh saw} committed: the catalog
 * replayed from the store's journal, the rows through a store snapshot taken at that refresh.
 * Answers are those of the writer's engine at that checkpoint, without the rows it has applied
 * since; each {@link #read} sees one refresh whole.
 *
 * <p>In cluster mode the event types are partitioned, one writer per partition, each with a store
 * of its own (a PostgreSQL schema) and the series ids of its {@link SeriesIds} residue: one reader
 * over every partition's store replays their catalogs into one and reads each series' rows from the
 * store of the partition that owns it. Each partition's view is its own last checkpoint.
 *
 * <pre>{@code
 * StoredRollups rollups = new StoredRollups(store, Tier.DEFAULTS);
 * QueryEngine queries = new QueryEngine(rollups, System::currentTimeMillis);
 * rollups.refresh(); // after each checkpoint, e.g. once a second
 * }</pre>
 */
public final class StoredRollups implements RollupSource, AutoCloseable {
  /** Partition p's store: where the series with {@code SeriesIds#partitionOf == p} live. */
  private final List<RollupStore> stores;

  private final SeriesIds ids;
  private final List<Tier> tiers;

  /**
   * Replayed from every partition's journal (their event types and series ids are disjoint).
   * Declares no combinations of its own: the writer's are in the journal (with the event time they
   * start from), and declaring them here would register them anew.
   */
  private final Catalog catalog = new Catalog(CatalogLimits.defaults().withCombinations(List.of()));

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  // Per partition: the checkpoint record last seen, journal entries replayed, the snapshot read.
  private final byte[][] checkpoints;
  private final long[] journalEntries;
  private final RollupStore.Snapshot[] snapshots;

  /**
   * @param tiers the tiers the writer keeps, in its order (a row's tier is its index)
   */
  public StoredRollups(RollupStore store, List<Tier> tiers) throws IOException {
    this(List.of(store), tiers);
  }

  /**
   * Rollups written by one engine per partition of the event types (cluster mode), read as one.
   *
   * @param stores partition p's store at index p: the writers' {@code SeriesIds(p, stores.size())}
   */
  public StoredRollups(List<RollupStore> stores, List<Tier> tiers) throws IOException {
    if (stores.isEmpty()) {
      throw new IllegalArgumentException("rollups are read from one store or more");
    }
    this.stores = List.copyOf(stores);
    this.ids = new SeriesIds(0, stores.size());
    this.tiers = List.copyOf(tiers);
    this.checkpoints = new byte[stores.size()][];
    this.journalEntries = new long[stores.size()];
    this.snapshots = new RollupStore.Snapshot[stores.size()];
    refresh();
  }

  /**
   * Takes in what the stores hold now; returns whether a checkpoint was committed since the last
   * call. Cheap when nothing changed (one metadata read per store).
   */
  public boolean refresh() throws IOException {
    lock.writeLock().lock();
    try {
      boolean changed = false;
      for (int p = 0; p < stores.size(); p++) {
        changed |= refresh(p);
      }
      return changed;
    } finally {
      lock.writeLock().unlock();
    }
  }

  private boolean refresh(int p) throws IOException {
    RollupStore store = stores.get(p);
    byte[] now = StoredCheckpoint.read(store);
    if (snapshots[p] != null && java.util.Arrays.equals(now, checkpoints[p])) {
      return false;
    }
    // The snapshot first: the journal read after it holds every series its rows name (and
    // perhaps newer ones, which then read no rows until the next refresh).
    RollupStore.Snapshot next = store.snapshot();
    try {
      journalEntries[p] = StoredCheckpoint.replayCatalog(store, catalog, journalEntries[p]);
      if (journalEntries[p] > 0 && StoredCheckpoint.beforeMarginals(store, now)) {
        catalog.markMarginalsIncomplete();
      }
    } catch (IOException | RuntimeException e) {
      next.close();
      throw e;
    }
    if (snapshots[p] != null) {
      snapshots[p].close(); // no reader holds it: they read under the read lock
    }
    snapshots[p] = next;
    checkpoints[p] = now;
    return true;
  }

  /**
   * The log position the rows read cover ({@link LogPosition#START} before any checkpoint): of the
   * one store, or of partition 0's.
   */
  public LogPosition position() {
    return position(0);
  }

  /** The log position partition {@code p}'s rows cover. */
  public LogPosition position(int p) {
    lock.readLock().lock();
    try {
      return checkpoints[p] == null
          ? LogPosition.START
          : StoredCheckpoint.decode(checkpoints[p]).position();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public <T> T read(Function<RollupReader, T> query) {
    lock.readLock().lock();
    try {
      return query.apply(
          new RollupReader() {
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
                int tier,
                int series,
                long fromBucket,
                long toBucket,
                RowNeeds needs,
                RowSink sink) {
              int p = ids.partitionOf(series);
              scan(stores.get(p), snapshots[p], tier, series, fromBucket, toBucket, needs, sink);
            }
          });
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Hands {@code sink} the stored rows of a series' range as of {@code snapshot}, decoding only
   * what {@code needs} asks for (a count reads just each row's leading count).
   */
  static void scan(
      RollupStore store,
      RollupStore.Snapshot snapshot,
      int tier,
      int series,
      long fromBucket,
      long toBucket,
      RollupReader.RowNeeds needs,
      RollupReader.RowSink sink) {
    try {
      store.scan(
          snapshot,
          tier,
          series,
          fromBucket,
          toBucket,
          needs.field() == -1 && !needs.users() ? RowCodec.COUNT_PREFIX_BYTES : 0,
          (bucket, bytes) -> {
            RollupRow row = new RollupRow();
            RowCodec.mergeInto(bytes, row, needs.field(), needs.users(), needs.values());
            sink.accept(bucket, row);
          });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Releases the snapshots; the stores stay open (their owner closes them). */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      for (int p = 0; p < snapshots.length; p++) {
        if (snapshots[p] != null) {
          snapshots[p].close();
          snapshots[p] = null;
        }
      }
    } finally {
      lock.writeLock().unlock();
    }
  }
}
