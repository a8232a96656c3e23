package dev.aggregator.cluster;

import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.event.Event;
import dev.aggregator.event.Hashing;
import dev.aggregator.ingestion.Deduplicator;
import dev.aggregator.storage.EventSource;
import dev.aggregator.storage.LogPosition;
import dev.aggregator.storage.LoggedEvent;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aggregates an {@link EventSource} into a {@link RollupEngine} whose store is shared (PostgreSQL):
 * the single-writer runner of cluster mode until the Flink job replaces it for more than one
 * machine's worth of aggregation. Exactly once: it starts at the position the store's last
 * checkpoint covers, and each checkpoint commits rows and the position they cover in one
 * transaction, conditioned on the checkpoint it follows — a restarted runner replays only what no
 * checkpoint holds, and a stale one left running is refused ({@code StaleWriteException}).
 *
 * <p>Dedup of clients' ids uses the core's {@link Deduplicator} in memory: within its window for as
 * long as the runner lives; after a restart, ids seen before its checkpoint are forgotten (the
 * Flink job keeps them in keyed state instead).
 */
public final class EventSourceRunner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EventSourceRunner.class);
  private static final int POLL_MAX = 10_000;

  private final EventSource source;
  private final RollupEngine engine;
  private final Deduplicator dedup;
  private final long checkpointEveryMillis;
  private final LongSupplier clock;
  private final Thread thread;
  private final AtomicLong applied = new AtomicLong();
  private final AtomicLong duplicates = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private volatile boolean closed;
  private long lastCheckpoint;

  public EventSourceRunner(
      EventSource source,
      RollupEngine engine,
      Deduplicator dedup,
      Duration checkpointEvery,
      LongSupplier clock) {
    this.source = source;
    this.engine = engine;
    this.dedup = dedup;
    this.checkpointEveryMillis = checkpointEvery.toMillis();
    this.clock = clock;
    this.thread = new Thread(this::run, "source-runner");
    this.thread.setDaemon(true);
    source.seek(engine.checkpointPosition());
    this.lastCheckpoint = clock.getAsLong();
  }

  /** Polls, applies and checkpoints on a thread of its own until {@link #close}. */
  public void start() {
    thread.start();
  }

  private void run() {
    while (!closed) {
      try {
        step(Duration.ofMillis(100));
        if (clock.getAsLong() - lastCheckpoint >= checkpointEveryMillis
            || engine.wantsCheckpoint()) {
          checkpoint();
        }
      } catch (IOException | RuntimeException e) {
        LOG.error("aggregating the event source failed; retrying", e);
        sleepQuietly();
      }
    }
  }

  /**
   * Polls once (waiting at most {@code timeout}) and applies what came, less duplicates; returns
   * how many records came. Called by the runner's thread, or by a caller that did not start it.
   */
  public int step(Duration timeout) {
    List<LoggedEvent> records = source.poll(POLL_MAX, timeout);
    if (records.isEmpty()) {
      return 0;
    }
    List<Event> events = new ArrayList<>(records.size());
    for (LoggedEvent r : records) {
      String id = r.event().id();
      if (id != null
          && !r.assignedId()
          && !dedup.markIfNew(Hashing.hash64(id), r.arrivalMillis())) {
        duplicates.incrementAndGet();
        continue;
      }
      events.add(r.event());
    }
    engine.apply(
        events,
        source.position(),
        clock.getAsLong(),
        (i, e, outcome) -> {
          if (outcome == RollupEngine.Outcome.FAILED) {
            failed.incrementAndGet();
          }
        });
    applied.addAndGet(events.size());
    return records.size();
  }

  /** Commits the rows applied so far with the position they cover. */
  public void checkpoint() throws IOException {
    lastCheckpoint = clock.getAsLong();
    engine.checkpoint();
  }

  /** What the rows applied so far cover. */
  public LogPosition position() {
    return source.position();
  }

  public long applied() {
    return applied.get();
  }

  public long duplicates() {
    return duplicates.get();
  }

  /** Events the engine could not apply (a full catalog); logged, not retried. */
  public long failed() {
    return failed.get();
  }

  private static void sleepQuietly() {
    try {
      Thread.sleep(1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops polling and writes a last checkpoint. */
  @Override
  public void close() throws IOException {
    closed = true;
    if (thread.isAlive()) {
      try {
        thread.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    checkpoint();
  }
}
