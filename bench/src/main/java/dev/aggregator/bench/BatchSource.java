package dev.aggregator.bench;

import dev.aggregator.testing.StandardWorkload;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Request bodies of the standard workload, generated ahead by background threads into a bounded
 * queue, so the event loops that send them only take a ready buffer.
 *
 * <p>Each thread has its own {@link StandardWorkload} with its own seed, hence its own client-id
 * prefix: ids never collide across threads, and retries repeat ids of the same thread.
 */
final class BatchSource implements AutoCloseable {
  private final BlockingQueue<Buffer> ready;
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean closed;

  /**
   * @param threads generator threads
   * @param batch events per body
   * @param ahead bodies kept ready, at most
   * @param seed seeds the first thread; the others take the following seeds
   * @param latePer100k late events per 100,000
   */
  BatchSource(int threads, int batch, int ahead, long seed, int latePer100k) {
    this.ready = new ArrayBlockingQueue<>(ahead);
    for (int i = 0; i < threads; i++) {
      StandardWorkload workload =
          new StandardWorkload(seed + i, System::currentTimeMillis, latePer100k);
      Thread t = new Thread(() -> generate(workload, batch), "generator-" + i);
      t.setDaemon(true);
      this.threads.add(t);
    }
  }

  void start() {
    threads.forEach(Thread::start);
  }

  /** A ready body, or null if the generators are behind (never blocks: event loops call it). */
  Buffer poll() {
    return ready.poll();
  }

  /** Waits until {@code n} bodies are ready (or the queue is full), at most {@code millis}. */
  void awaitReady(int n, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    while (ready.size() < n && ready.remainingCapacity() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
  }

  private void generate(StandardWorkload workload, int batch) {
    try {
      while (!closed) {
        ready.put(Buffer.buffer(workload.ndjsonBatch(batch)));
      }
    } catch (InterruptedException e) {
      // closed
    }
  }

  @Override
  public void close() {
    closed = true;
    threads.forEach(Thread::interrupt);
  }
}
