package dev.aggregator.bench;

/**
 * When the load generator measures: the {@link System#nanoTime} span after the warmup. Responses
 * completing inside it are counted; those before or after are not.
 */
final class LoadWindow {
  private volatile long start = Long.MAX_VALUE;
  private volatile long end = Long.MAX_VALUE;
  private volatile boolean stopping;

  void set(long startNanos, long endNanos) {
    start = startNanos;
    end = endNanos;
  }

  long start() {
    return start;
  }

  long end() {
    return end;
  }

  boolean contains(long nanos) {
    return nanos >= start && nanos < end;
  }

  /** Senders start no new request once this is set. */
  void stop() {
    stopping = true;
  }

  boolean stopping() {
    return stopping;
  }
}
