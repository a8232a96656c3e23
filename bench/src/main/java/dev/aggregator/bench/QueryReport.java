package dev.aggregator.bench;

import dev.aggregator.bench.QueryBenchmark.LoadResult;
import dev.aggregator.bench.QueryBenchmark.QueryResult;
import dev.aggregator.bench.QueryBenchmark.StoreFigures;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What a query benchmark run measured, as a human summary and as one JSON line.
 *
 * @param load the load phase, or null without {@code --load}
 */
record QueryReport(
    QueryOptions options, LoadResult load, List<QueryResult> queries, StoreFigures store) {

  /** Whether every answer, warmup included, was 200 with at least one point. */
  boolean allAnswered() {
    return queries.stream().allMatch(q -> q.failures() == 0 && q.empty() == 0);
  }

  String summary() {
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            Locale.ROOT,
            "query benchmark: %s, %d measured after %d warmup per query, one connection%n",
            options.url(),
            options.iterations(),
            options.warmup()));
    if (load != null) {
      b.append(
          String.format(
              Locale.ROOT,
              "load: %,d standard-workload events over the last %d days, %d connections,"
                  + " batches of %,d%n",
              load.events(),
              options.days(),
              options.connections(),
              QueryOptions.BATCH));
      b.append(
          String.format(
              Locale.ROOT,
              "  acknowledged  %,d events in %.1f s = %,.0f events/s (%,d accepted, %,d"
                  + " duplicates; %,d rejected as invalid)%n",
              load.accepted() + load.duplicates(),
              load.seconds(),
              load.ackedEventsPerSec(),
              load.accepted(),
              load.duplicates(),
              load.rejected()));
      b.append(
          String.format(
              Locale.ROOT,
              "  requests      %,d, of which 429: %,d; errors: %,d; batches lost: %,d%n",
              load.requests(),
              load.status429(),
              load.errors(),
              load.lostBatches()));
      b.append(
          String.format(
              Locale.ROOT,
              "  aggregated    %.1f s after the last ack (%,d late, %,d expired, %,d failed);"
                  + " checkpointed %.1f s later (last checkpoint took %,d ms)%n",
              load.settleSeconds(),
              load.late(),
              load.expired(),
              load.failed(),
              load.checkpointSeconds(),
              load.lastCheckpointMillis()));
      b.append(
          String.format(
              Locale.ROOT,
              "  health        slowest answer while waiting %.3f s; %d did not answer%n",
              load.slowestHealthSeconds(),
              load.healthStalls()));
      if (load.lastError() != null) {
        b.append("  last error: ").append(load.lastError()).append('\n');
      }
    }
    b.append("queries (ms, request to last byte of the answer):\n");
    for (QueryResult q : queries) {
      b.append(
          String.format(
              Locale.ROOT,
              "  (%s) %-45s %s%n",
              q.spec().name(),
              q.spec().description(),
              percentiles(q.latencyMicros())));
      b.append(
          String.format(
              Locale.ROOT,
              "      first answer: %,d points in %d series, %,d bytes%s%n",
              q.firstPoints(),
              q.firstSeries(),
              q.firstBytes(),
              q.failures() + q.empty() > 0
                  ? String.format(
                      Locale.ROOT,
                      "; %d failed, %d empty; last: %s",
                      q.failures(),
                      q.empty(),
                      q.lastError())
                  : ""));
      if (!q.groups().isEmpty()) {
        b.append("      groups: ").append(String.join(" ", q.groups())).append('\n');
      }
      for (String w : q.firstWarnings()) {
        b.append("      warning: ").append(w).append('\n');
      }
    }
    b.append(
        String.format(
            Locale.ROOT,
            "store: %,d bytes on disk (%.1f MiB), %,d series (health), %,d series (catalog),"
                + " %,d metrics of %,d event types, %,d rows still in memory%n",
            store.storeBytes(),
            store.storeBytes() / 1048576.0,
            store.series(),
            store.catalogSeries(),
            store.metrics(),
            store.eventTypes(),
            store.rowsInMemory()));
    b.append("  bytes per stored row: not derived (the server exposes no row count)\n");
    return b.toString();
  }

  /** One line: the fields a results table or a script wants. */
  String json() {
    JsonObject j = new JsonObject();
    j.put("iterations", options.iterations()).put("warmup", options.warmup());
    if (load != null) {
      j.put("loadEvents", load.events())
          .put("days", options.days())
          .put("connections", options.connections())
          .put("loadAckedEventsPerSec", Math.round(load.ackedEventsPerSec()))
          .put("loadSeconds", round(load.seconds(), 1))
          .put("accepted", load.accepted())
          .put("duplicates", load.duplicates())
          .put("rejected", load.rejected())
          .put("requests", load.requests())
          .put("status429", load.status429())
          .put("errors", load.errors())
          .put("lostBatches", load.lostBatches())
          .put("settleSeconds", round(load.settleSeconds(), 1))
          .put("checkpointSeconds", round(load.checkpointSeconds(), 1))
          .put("late", load.late())
          .put("expired", load.expired())
          .put("failed", load.failed())
          .put("lastCheckpointMillis", load.lastCheckpointMillis())
          .put("healthStalls", load.healthStalls())
          .put("slowestHealthSeconds", round(load.slowestHealthSeconds(), 3));
    }
    JsonObject qs = new JsonObject();
    for (QueryResult q : queries) {
      Histogram h = q.latencyMicros();
      qs.put(
          q.spec().name(),
          new JsonObject()
              .put("p50Ms", millisValue(h, 50))
              .put("p90Ms", millisValue(h, 90))
              .put("p99Ms", millisValue(h, 99))
              .put("maxMs", millisValue(h, 100))
              .put("samples", h.getTotalCount())
              .put("failures", q.failures())
              .put("empty", q.empty())
              .put("points", q.firstPoints())
              .put("series", q.firstSeries())
              .put("bytes", q.firstBytes()));
    }
    j.put("queries", qs);
    j.put("storeBytes", store.storeBytes())
        .put("series", store.series())
        .put("catalogSeries", store.catalogSeries())
        .put("metrics", store.metrics())
        .put("eventTypes", store.eventTypes())
        .put("rowsInMemory", store.rowsInMemory());
    return j.encode();
  }

  private static String percentiles(Histogram h) {
    if (h.getTotalCount() == 0) {
      return "(no samples)";
    }
    return String.format(
        Locale.ROOT,
        "p50 %8s  p90 %8s  p99 %8s  max %8s",
        millis(h, 50),
        millis(h, 90),
        millis(h, 99),
        millis(h, 100));
  }

  /** A percentile in ms with µs resolution, or {@code null} without samples. */
  static String millis(Histogram h, double percentile) {
    Double ms = millisValue(h, percentile);
    return ms == null ? "null" : String.format(Locale.ROOT, "%.3f", ms);
  }

  private static Double millisValue(Histogram h, double percentile) {
    if (h.getTotalCount() == 0) {
      return null;
    }
    long micros = percentile >= 100 ? h.getMaxValue() : h.getValueAtPercentile(percentile);
    return micros / 1000.0;
  }

  private static double round(double v, int decimals) {
    double scale = Math.pow(10, decimals);
    return Math.round(v * scale) / scale;
  }
}
