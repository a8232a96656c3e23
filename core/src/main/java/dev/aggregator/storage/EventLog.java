package dev.aggregator.storage;

import java.util.concurrent.CompletableFuture;

/**
 * The durable, ordered log of accepted events: the source of truth everything else is rebuilt from.
 *
 * <p>The embedded default is {@code FileEventLog} (module {@code embedded}); in cluster mode it is
 * {@code KafkaEventLog} (module {@code cluster}), a Kafka topic. Reading the log back happens when
 * an implementation is opened, before the first append.
 */
public interface EventLog extends AutoCloseable {

  /**
   * Appends framed records (as {@link RecordBuffer} writes them) in one piece.
   *
   * <p>The future completes once the records are durable (fsynced, or replicated), with the
   * sequence number of the first record in a log with one order (the embedded log), or -1 in a
   * partitioned one (Kafka: positions there are per partition, see {@link LogPosition}). It
   * completes exceptionally if they cannot be made durable — with {@link LogFullException} when the
   * log's budget for records in flight is spent (backpressure: retry) — and then none of them is
   * ever read back. A call with no records is a barrier: it completes once everything appended
   * before it is durable. The caller must not change {@code records} until the future completes.
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
