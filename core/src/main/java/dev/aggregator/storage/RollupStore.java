package dev.aggregator.storage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Durable storage of rollup rows and of the engine's metadata (catalog, checkpoint, alert and
 * dashboard definitions), in the data directory.
 *
 * <p>A row is addressed by {@code (tier, series, bucket)}: the tier's index, a series id and the
 * bucket's index in that tier ({@code epochMillis / resolution}); its value is opaque bytes (the
 * engine's row encoding). Rows of one series are stored in bucket order so that a series' range is
 * one sequential scan. Every write goes through an atomic, durable {@link StoreBatch}: rows and
 * metadata change together or not at all, which is what makes a checkpoint consistent.
 *
 * <p>The embedded default is {@code RocksRollupStore} (module {@code embedded}); a cluster
 * deployment puts PostgreSQL behind the same contract.
 */
public interface RollupStore extends MetadataStore, AutoCloseable {

  /** Receives the rows of a scan in bucket order. */
  @FunctionalInterface
  interface RowVisitor {
    /**
     * @param value the row's bytes; valid only during the call
     */
    void visit(long bucket, byte[] value);
  }

  /** A frozen view of the rows as they were when it was taken; close it once done reading. */
  interface Snapshot extends AutoCloseable {
    @Override
    void close();
  }

  /** A snapshot of the rows now: reads through it do not see later writes. */
  Snapshot snapshot();

  /**
   * Visits the rows of {@code series} in {@code tier} with {@code fromBucket <= bucket < toBucket}
   * as of {@code snapshot} (null: as of now).
   */
  default void scan(
      Snapshot snapshot, int tier, int series, long fromBucket, long toBucket, RowVisitor visitor)
      throws IOException {
    scan(snapshot, tier, series, fromBucket, toBucket, 0, visitor);
  }

  /**
   * Like {@link #scan(Snapshot, int, int, long, long, RowVisitor)}, handing the visitor at most the
   * first {@code maxValueBytes} of each value (0: all of it). A row leads with its event count and
   * trails kilobytes of sketches; a count query needs only the lead, and reading just that keeps a
   * day of minutes from copying megabytes.
   */
  void scan(
      Snapshot snapshot,
      int tier,
      int series,
      long fromBucket,
      long toBucket,
      int maxValueBytes,
      RowVisitor visitor)
      throws IOException;

  /** {@link #scan(Snapshot, int, int, long, long, RowVisitor)} as of now. */
  default void scan(int tier, int series, long fromBucket, long toBucket, RowVisitor visitor)
      throws IOException {
    scan(null, tier, series, fromBucket, toBucket, visitor);
  }

  /** The row's bytes, or null if there is none. */
  byte[] get(int tier, int series, long bucket) throws IOException;

  /**
   * The rows of one tier at {@code (series[i], buckets[i])} for {@code i < n}, element {@code i}
   * null where there is none: one round trip for many rows. A checkpoint reads every row it
   * changes; on a network store (PostgreSQL) one {@link #get} per row would be one round trip per
   * row. The default is that loop, for stores where a get is local.
   */
  default List<byte[]> multiGet(int tier, int[] series, long[] buckets, int n) throws IOException {
    List<byte[]> rows = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      rows.add(get(tier, series[i], buckets[i]));
    }
    return rows;
  }

  /** A new, empty batch of rows and metadata; nothing happens until {@link #write}. */
  @Override
  StoreBatch batch();

  /**
   * Drops the rows of {@code tier} older than {@code bucket}, as far as cheaply possible: whole
   * partitions go at once, so some rows just before {@code bucket} may stay until a later call.
   */
  void deleteBefore(int tier, long bucket) throws IOException;

  /** Bytes the store occupies on disk (approximate: what the engine reports). */
  long diskBytes();

  @Override
  void close();
}
