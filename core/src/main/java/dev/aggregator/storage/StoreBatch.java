package dev.aggregator.storage;

/**
 * Changes to apply to a {@link RollupStore} atomically: row puts and metadata puts and deletes. Not
 * thread-safe; build it on one thread and hand it to {@link RollupStore#write}.
 */
public interface StoreBatch extends AutoCloseable {

  /** Sets the row {@code (tier, series, bucket)} to {@code value}. */
  void putRow(int tier, int series, long bucket, byte[] value);

  /** Sets metadata {@code key} to {@code value}. */
  void putMeta(String key, byte[] value);

  /** Removes metadata {@code key}. */
  void deleteMeta(String key);

  /** How many changes the batch holds. */
  int size();

  /** Releases the batch's native resources, if any. */
  @Override
  void close();
}
