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
 * <pre>{@code
 * StoredRollups rollups = new StoredRollups(store, Tier.DEFAULTS);
 * QueryEngine queries = new QueryEngine(rollups, System::currentTimeMillis);
 * rollups.refresh(); // after each checkpoint, e.g. once a second
 * }</pre>
 */
public final class StoredRollups implements RollupSource, AutoCloseable {
  private final RollupStore store;
  private final List<Tier> tiers;

  /**
   * Replayed from the journal. Declares no combinations of its own: the writer's are in the journal
   * (with the event time they start from), and declaring them here would register them anew.
   */
  private final Catalog catalog = new Catalog(CatalogLimits.defaults().withCombinations(List.of()));

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private byte[] checkpoint;
  private long journalEntries;
  private RollupStore.Snapshot snapshot;

  /**
   * @param tiers the tiers the writer keeps, in its order (a row's tier is its index)
   */
  public StoredRollups(RollupStore store, List<Tier> tiers) throws IOException {
    this.store = store;
    this.tiers = List.copyOf(tiers);
    refresh();
  }

  /**
   * Takes in what the store holds now; returns whether a checkpoint was committed since the last
   * call. Cheap when nothing changed (one metadata read).
   */
  public boolean refresh() throws IOException {
    lock.writeLock().lock();
    try {
      byte[] now = StoredCheckpoint.read(store);
      if (snapshot != null && java.util.Arrays.equals(now, checkpoint)) {
        return false;
      }
      // The snapshot first: the journal read after it holds every series its rows name (and
      // perhaps newer ones, which then read no rows until the next refresh).
      RollupStore.Snapshot next = store.snapshot();
      try {
        journalEntries = StoredCheckpoint.replayCatalog(store, catalog, journalEntries);
        if (journalEntries > 0 && StoredCheckpoint.beforeMarginals(store, now)) {
          catalog.markMarginalsIncomplete();
        }
      } catch (IOException | RuntimeException e) {
        next.close();
        throw e;
      }
      if (snapshot != null) {
        snapshot.close(); // no reader holds it: they read under the read lock
      }
      snapshot = next;
      checkpoint = now;
      return true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** The log position the rows read cover ({@link LogPosition#START} before any checkpoint). */
  public LogPosition position() {
    lock.readLock().lock();
    try {
      return checkpoint == null
          ? LogPosition.START
          : StoredCheckpoint.decode(checkpoint).position();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public <T> T read(Function<RollupReader, T> query) {
    lock.readLock().lock();
    try {
      RollupStore.Snapshot at = snapshot;
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
              scan(store, at, tier, series, fromBucket, toBucket, needs, sink);
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

  /** Releases the snapshot; the store stays open (its owner closes it). */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (snapshot != null) {
        snapshot.close();
        snapshot = null;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }
}
