package dev.aggregator.processing;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts of the event lifecycle (the seed's state machine): {@code Received → Validating → Valid |
 * Invalid; Valid → Queued → Processing → Aggregated | Failed; Queued → Expired}, plus duplicates
 * (acknowledged, not counted again) and late events (aggregated behind the watermark).
 *
 * <p>Validation runs synchronously inside the request, so no event waits in {@code Validating};
 * {@code Queued} and {@code Processing} are gauges of events in the pipeline now, the rest are
 * totals since start. The Prometheus counters are the storage: health reads the same numbers {@code
 * /metrics} exports.
 */
public final class Lifecycle {
  private final Counter events =
      Counter.builder()
          .name("aggregator_events_total")
          .help("Events by lifecycle outcome since start")
          .labelNames("state")
          .build();

  private final CounterDataPoint received = events.labelValues("received");
  private final CounterDataPoint valid = events.labelValues("valid");
  private final CounterDataPoint invalid = events.labelValues("invalid");
  private final CounterDataPoint duplicate = events.labelValues("duplicate");
  private final CounterDataPoint aggregated = events.labelValues("aggregated");
  private final CounterDataPoint late = events.labelValues("late");
  private final CounterDataPoint failed = events.labelValues("failed");
  private final CounterDataPoint expired = events.labelValues("expired");
  private final CounterDataPoint replayed = events.labelValues("replayed");
  private final AtomicLong queued = new AtomicLong();
  private final AtomicLong processing = new AtomicLong();

  public void register(PrometheusRegistry registry) {
    registry.register(events);
    registry.register(
        GaugeWithCallback.builder()
            .name("aggregator_events_in_pipeline")
            .help("Events acknowledged or awaiting the log, not yet aggregated")
            .labelNames("state")
            .callback(
                cb -> {
                  cb.call(queued.get(), "queued");
                  cb.call(processing.get(), "processing");
                })
            .build());
  }

  public void received(int n) {
    received.inc(n);
  }

  public void validated(int valid, int invalid) {
    this.valid.inc(valid);
    this.invalid.inc(invalid);
  }

  public void duplicates(int n) {
    duplicate.inc(n);
  }

  /** Events entering the pipeline (valid, new, on their way to the log). */
  public void queued(int n) {
    queued.addAndGet(n);
  }

  /** Events the log refused: they leave the pipeline as failed. */
  public void notLogged(int n) {
    queued.addAndGet(-n);
    failed.inc(n);
  }

  /**
   * Events the log refused for its budget ({@code LogFullException}): they leave the pipeline
   * unlogged and uncounted as failed — the client got 429 and sends them again.
   */
  public void refused(int n) {
    queued.addAndGet(-n);
  }

  public void processing(int n) {
    queued.addAndGet(-n);
    processing.addAndGet(n);
  }

  public void aggregated(int n, int lateOnes) {
    processing.addAndGet(-n);
    aggregated.inc(n);
    late.inc(lateOnes);
  }

  public void failed(int n) {
    processing.addAndGet(-n);
    failed.inc(n);
  }

  public void expired(int n) {
    processing.addAndGet(-n);
    expired.inc(n);
  }

  /** Events re-applied from the log at start (not part of the totals above). */
  public void replayed(long n) {
    replayed.inc(n);
  }

  public long aggregatedTotal() {
    return (long) aggregated.get();
  }

  /** Every count by state name, in lifecycle order. */
  public Map<String, Long> snapshot() {
    Map<String, Long> m = new LinkedHashMap<>();
    m.put("received", (long) received.get());
    m.put("valid", (long) valid.get());
    m.put("invalid", (long) invalid.get());
    m.put("duplicate", (long) duplicate.get());
    m.put("queued", queued.get());
    m.put("processing", processing.get());
    m.put("aggregated", (long) aggregated.get());
    m.put("late", (long) late.get());
    m.put("failed", (long) failed.get());
    m.put("expired", (long) expired.get());
    m.put("replayed", (long) replayed.get());
    return m;
  }
}
