package dev.aggregator.storage;

/**
 * Metadata changes to apply to a {@link MetadataStore} atomically, optionally conditioned on what
 * the store holds. Not thread-safe; build it on one thread and hand it to {@link
 * MetadataStore#write}.
 */
public interface MetaBatch extends AutoCloseable {

  /** Sets metadata {@code key} to {@code value}. */
  void putMeta(String key, byte[] value);

  /** Removes metadata {@code key}. */
  void deleteMeta(String key);

  /**
   * Makes the write conditional: it happens only if {@code key} holds exactly {@code expected}
   * (null: is absent) when it is applied. A checkpoint requires the checkpoint it follows, so a
   * second writer over the same store (a restarted Flink task beside a stale one, two processes
   * after a failover) is refused instead of double-counting rows: exactly-once needs it.
   */
  void requireMeta(String key, byte[] expected);

  /** How many changes the batch holds. */
  int size();

  /** Releases the batch's native resources, if any. */
  @Override
  void close();
}
