package dev.aggregator.storage;

import java.util.concurrent.CompletableFuture;

/**
 * The durable, ordered log of accepted events: the source of truth everything else is rebuilt from.
 *
 * <p>The embedded default is {@code FileEventLog} (module {@code embedded}); a cluster deployment
 * puts a Kafka topic behind the same contract. Reading the log back happens when an implementation
 * is opened, before the first append.
 */
public interface EventLog extends AutoCloseable {

  /**
   * Appends framed records (as {@link RecordBuffer} writes them) in one piece.
   *
   * <p>The future completes with the sequence number of the first record once the records are
   * durable (fsynced, or replicated), and exceptionally if they cannot be made durable. A call with
   * no records is a barrier: it completes once everything appended before it is durable. The caller
   * must not change {@code records} until the future completes.
   */
  CompletableFuture<Long> append(byte[] records, int length, int count);

  /** The sequence number the next record will get. */
  long nextSequence();

  /** Counters for health and metrics. */
  LogStats stats();

  /** Stops accepting appends, makes what was appended durable and releases files. */
  @Override
  void close();
}
