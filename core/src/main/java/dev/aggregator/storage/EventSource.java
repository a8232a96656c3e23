package dev.aggregator.storage;

import java.time.Duration;
import java.util.List;

/**
 * The read side of an {@link EventLog}: what a runner consumes. It starts where the rows it feeds
 * were last checkpointed ({@link #seek}) and hands out the records after it in order per partition;
 * after a {@link #poll}, {@link #position} covers exactly the records returned so far, which is
 * what the next checkpoint records. Not thread-safe: one runner polls it.
 *
 * <p>In cluster mode it is {@code KafkaEventSource} (a read-committed consumer of the events
 * topic); the embedded runner is still handed batches by its pipeline (docs/DESIGN.md §1).
 */
public interface EventSource extends AutoCloseable {

  /** The next poll returns the records after {@code position} ({@link LogPosition#START}: all). */
  void seek(LogPosition position);

  /**
   * Up to {@code max} records after the last returned, waiting at most {@code timeout} when none is
   * there yet; empty if none came.
   *
   * @throws IllegalArgumentException for a record that is not an event this codec wrote (the
   *     position does not move past it)
   */
  List<LoggedEvent> poll(int max, Duration timeout);

  /** What the records returned so far cover: per partition, the last offset returned. */
  LogPosition position();

  @Override
  void close();
}
