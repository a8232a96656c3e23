package dev.aggregator.bench;

import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What a load run measured, as a human summary and as one JSON line.
 *
 * @param seconds the measured window
 * @param ackedEvents {@code accepted + duplicates} of the 200 answers within the window
 * @param rejectedEvents invalid events the server rejected (by design ~0.5 % of the workload)
 * @param latencyMicros request latency of acknowledged batches: from the send (full speed) or from
 *     the due time (fixed rate), to the end of the answer
 * @param unsentBatches batches due (fixed rate) that no connection got to send
 * @param generatorStalls times a connection found no body ready (the generators were behind)
 */
record LoadReport(
    LoadOptions options,
    double seconds,
    long ackedEvents,
    long rejectedEvents,
    long requests,
    long status429,
    long errors,
    Histogram latencyMicros,
    FreshnessProbe.Result freshness,
    long unsentBatches,
    long generatorStalls,
    String lastError) {

  double ackedEventsPerSec() {
    return ackedEvents / seconds;
  }

  String summary() {
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            Locale.ROOT,
            "load: %s, %d connections, batches of %d, %s, warmup %ds, measured %.1fs%n",
            options.url(),
            options.connections(),
            options.batch(),
            options.openLoop()
                ? String.format(Locale.ROOT, "open loop at %,.0f events/s", options.rate())
                : "full speed (closed loop)",
            options.warmup().toSeconds(),
            seconds));
    b.append(
        String.format(
            Locale.ROOT,
            "  acknowledged  %,d events = %,.0f events/s (+ %,d rejected as invalid)%n",
            ackedEvents,
            ackedEventsPerSec(),
            rejectedEvents));
    b.append(
        String.format(
            Locale.ROOT,
            "  requests      %,d, of which 429: %,d, errors: %,d%n",
            requests,
            status429,
            errors));
    b.append("  latency ms    ").append(percentiles(latencyMicros)).append('\n');
    Histogram f = freshness.freshnessMicros();
    b.append("  freshness ms  ")
        .append(percentiles(f))
        .append(
            String.format(
                Locale.ROOT,
                "  (%d markers, %d never visible, %d probe errors)%n",
                freshness.markers(),
                freshness.notVisible(),
                freshness.errors()));
    if (unsentBatches > 0) {
      b.append(
          String.format(
              Locale.ROOT,
              "  WARNING: %,d batches due were never sent: the server (or this machine) did not"
                  + " sustain %,.0f events/s%n",
              unsentBatches,
              options.rate()));
    }
    if (generatorStalls > 0) {
      b.append(
          String.format(
              Locale.ROOT,
              "  note: %,d times no body was ready; add --generators%n",
              generatorStalls));
    }
    if (lastError != null) {
      b.append("  last error: ").append(lastError).append('\n');
    }
    return b.toString();
  }

  /** One line: the fields a results table or a script wants. */
  String json() {
    return String.format(
        Locale.ROOT,
        "{\"ackedEventsPerSec\":%.0f,\"requests\":%d,\"status429\":%d,\"errors\":%d,"
            + "\"latencyP50Ms\":%s,\"latencyP99Ms\":%s,\"freshnessP50Ms\":%s,\"freshnessP99Ms\":%s,"
            + "\"connections\":%d,\"batch\":%d,\"rate\":%s,"
            + "\"seconds\":%.1f,\"ackedEvents\":%d,\"rejectedEvents\":%d,\"latencyMaxMs\":%s,"
            + "\"freshnessSamples\":%d,\"unsentBatches\":%d,\"generatorStalls\":%d}",
        ackedEventsPerSec(),
        requests,
        status429,
        errors,
        millis(latencyMicros, 50),
        millis(latencyMicros, 99),
        millis(freshness.freshnessMicros(), 50),
        millis(freshness.freshnessMicros(), 99),
        options.connections(),
        options.batch(),
        options.openLoop() ? String.format(Locale.ROOT, "%.0f", options.rate()) : "null",
        seconds,
        ackedEvents,
        rejectedEvents,
        millis(latencyMicros, 100),
        freshness.freshnessMicros().getTotalCount(),
        unsentBatches,
        generatorStalls);
  }

  private static String percentiles(Histogram h) {
    if (h.getTotalCount() == 0) {
      return "(no samples)";
    }
    return String.format(
        Locale.ROOT,
        "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s",
        millis(h, 50),
        millis(h, 90),
        millis(h, 99),
        millis(h, 99.9),
        millis(h, 100));
  }

  /** A percentile in ms with µs resolution, or {@code null} without samples. */
  private static String millis(Histogram h, double percentile) {
    if (h.getTotalCount() == 0) {
      return "null";
    }
    long micros = percentile >= 100 ? h.getMaxValue() : h.getValueAtPercentile(percentile);
    return String.format(Locale.ROOT, "%.3f", micros / 1000.0);
  }
}
