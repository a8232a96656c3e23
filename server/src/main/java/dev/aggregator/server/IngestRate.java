package dev.aggregator.server;

import java.util.function.LongSupplier;

/**
 * Events aggregated per second over the last ~10 seconds, from samples of a running total taken
 * once a second.
 */
final class IngestRate {
  private static final int SAMPLES = 11;
  private final LongSupplier total;
  private final long[] counts = new long[SAMPLES];
  private final long[] times = new long[SAMPLES];
  private int next;
  private int filled;

  IngestRate(LongSupplier total) {
    this.total = total;
  }

  synchronized void sample(long nowMillis) {
    counts[next] = total.getAsLong();
    times[next] = nowMillis;
    next = (next + 1) % SAMPLES;
    filled = Math.min(filled + 1, SAMPLES);
  }

  synchronized double perSecond() {
    if (filled < 2) {
      return 0;
    }
    int newest = (next - 1 + SAMPLES) % SAMPLES;
    int oldest = filled < SAMPLES ? 0 : next;
    long dt = times[newest] - times[oldest];
    return dt <= 0 ? 0 : (counts[newest] - counts[oldest]) * 1000.0 / dt;
  }
}
