package dev.aggregator.storage;

/**
 * Changes to apply to a {@link RollupStore} atomically: row puts besides the metadata changes of a
 * {@link MetaBatch}. Not thread-safe; build it on one thread and hand it to {@link
 * RollupStore#write}.
 */
public interface StoreBatch extends MetaBatch {

  /** Sets the row {@code (tier, series, bucket)} to {@code value}. */
  void putRow(int tier, int series, long bucket, byte[] value);
}
