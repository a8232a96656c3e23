package dev.aggregator.processing;

import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.storage.FileEventLog;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The background thread that makes the rollups durable and keeps the disk bounded: a checkpoint
 * every {@code interval} (sooner when the rows in memory reach their bound), retention once a
 * minute, and trimming the event log behind each checkpoint.
 *
 * <p>Checkpoints are what keep restarts short: a restart replays only the log after the last one
 * (10 s of events by default, ~4 M at 400k events/s).
 */
public final class Checkpointer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);
  private static final long EXPIRE_EVERY_MS = 60_000;

  private final RollupEngine engine;
  private final FileEventLog log;
  private final LongSupplier nowMillis;
  private final long intervalMillis;
  private final long dedupWindowMillis;
  private final long walRetentionBytes;
  private final LongSupplier rawCommitted;
  private final Thread thread;
  private final AtomicLong checkpoints = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private volatile boolean closed;
  private volatile long lastMillis;

  public Checkpointer(
      RollupEngine engine,
      FileEventLog log,
      LongSupplier nowMillis,
      Duration interval,
      Duration dedupWindow,
      long walRetentionBytes,
      LongSupplier rawCommitted) {
    this.rawCommitted = rawCommitted;
    this.engine = engine;
    this.log = log;
    this.nowMillis = nowMillis;
    this.intervalMillis = interval.toMillis();
    this.dedupWindowMillis = dedupWindow.toMillis();
    this.walRetentionBytes = walRetentionBytes;
    this.thread = new Thread(this::run, "checkpointer");
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  /** Checkpoints written since start. */
  public long checkpoints() {
    return checkpoints.get();
  }

  /** Checkpoints that failed (retried at the next interval; nothing is lost meanwhile). */
  /** Whether the latest checkpoint attempt failed (cleared by the next one that succeeds). */
  public boolean lastFailed() {
    return lastFailed;
  }

  private volatile boolean lastFailed;

  public long failures() {
    return failures.get();
  }

  /** Milliseconds the last checkpoint took. */
  public long lastMillis() {
    return lastMillis;
  }

  private void run() {
    long lastCheckpoint = nowMillis.getAsLong();
    long lastExpire = lastCheckpoint;
    while (!closed) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        continue;
      }
      long now = nowMillis.getAsLong();
      if (now - lastCheckpoint >= intervalMillis || engine.wantsCheckpoint()) {
        checkpointNow();
        lastCheckpoint = now;
      }
      if (now - lastExpire >= EXPIRE_EVERY_MS) {
        lastExpire = now;
        try {
          engine.expire(now);
        } catch (IOException | RuntimeException e) {
          LOG.warn("dropping rows past retention failed: {}", e.toString());
        }
      }
    }
  }

  /** Writes a checkpoint now and trims the log behind it; synchronized: also called on demand. */
  public synchronized void checkpointNow() {
    long start = System.nanoTime();
    try {
      if (!engine.checkpoint()) {
        return; // nothing new: neither counted nor timed
      }
      checkpoints.incrementAndGet();
      lastFailed = false;
      lastMillis = (System.nanoTime() - start) / 1_000_000;
      // The log is also the event store's source until its files hold the events.
      log.trim(
          Math.min(engine.checkpointSequence(), rawCommitted.getAsLong()),
          nowMillis.getAsLong() - dedupWindowMillis,
          walRetentionBytes);
    } catch (IOException | RuntimeException e) {
      failures.incrementAndGet();
      lastFailed = true;
      LOG.error("checkpoint failed; the rows stay in memory and the next one retries", e);
    }
  }

  /** Stops the thread and writes a last checkpoint, so the next start replays nothing. */
  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    checkpointNow();
  }
}
