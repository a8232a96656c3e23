package dev.aggregator.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Arrays;
import org.HdrHistogram.Histogram;

/**
 * Measures freshness: how long after an event is acknowledged a query sees it.
 *
 * <p>Every {@code markerEvery} it posts one marker event ({@code eventType} {@value #MARKER_TYPE},
 * timestamp now, a unique id) to {@code POST /api/events}. Once a marker is acknowledged (202) it
 * polls {@code GET /api/analytics/query?metric=bench_marker&function=count&granularity=1d
 * &start=now-2d}, one query at a time with 1 ms between them, until the count (summed over the
 * returned days, less the count found before the run) reaches the number of markers acknowledged. A
 * marker's freshness is the time the first query showing it returned, less the time its 202
 * arrived: an upper bound, by at most one query round trip plus 1 ms. Markers are taken as visible
 * in acknowledgement order, as the server aggregates in log order.
 *
 * <p>It runs on its own connections (a client of its own), so markers and queries never wait behind
 * batches; all its state is confined to its event-loop context.
 */
final class FreshnessProbe extends VerticleBase {
  static final String MARKER_TYPE = "bench_marker";

  /** What the probe saw, for the markers acknowledged inside the measured window. */
  record Result(Histogram freshnessMicros, int markers, int notVisible, int errors) {}

  private final HttpClient client;
  private final String eventsUri;
  private final String queryUri;
  private final long everyMillis;
  private final String idPrefix;
  private final LoadWindow window;
  private final Histogram freshness = new Histogram(3);

  private long baseline;
  private long[] ackNanos = new long[256];
  private int sent;
  private int acked;
  private int seen;
  private int windowMarkers;
  private int errors;
  private boolean markerInFlight;
  private boolean pollInFlight;
  private long timer = -1;

  FreshnessProbe(
      HttpClient client, String basePath, long everyMillis, long runId, LoadWindow window) {
    this.client = client;
    this.eventsUri = basePath + "/api/events";
    this.queryUri =
        basePath
            + "/api/analytics/query?metric="
            + MARKER_TYPE
            + "&function=count&granularity=1d&start=now-2d";
    this.everyMillis = everyMillis;
    this.idPrefix = "bench-marker-" + Long.toUnsignedString(runId, 36) + "-";
    this.window = window;
  }

  /** Deploying reads the markers already counted (earlier runs), and fails if it cannot. */
  @Override
  public Future<?> start() {
    return count().onSuccess(c -> baseline = c);
  }

  /** Starts sending markers. */
  void begin() {
    context.runOnContext(
        v -> {
          if (everyMillis > 0) {
            timer = vertx.setPeriodic(everyMillis, id -> sendMarker());
          }
        });
  }

  /**
   * Stops sending markers, waits up to {@code waitMillis} for those acknowledged to become visible,
   * and reports.
   */
  Future<Result> finish(long waitMillis) {
    Promise<Result> done = Promise.promise();
    context.runOnContext(
        v -> {
          if (timer >= 0) {
            vertx.cancelTimer(timer);
          }
          long deadline = System.nanoTime() + waitMillis * 1_000_000;
          vertx.setPeriodic(
              5,
              id -> {
                if ((!markerInFlight && seen >= acked) || System.nanoTime() > deadline) {
                  vertx.cancelTimer(id);
                  int missing = 0;
                  for (int i = seen; i < acked; i++) {
                    if (window.contains(ackNanos[i])) {
                      missing++;
                    }
                  }
                  done.complete(new Result(freshness.copy(), windowMarkers, missing, errors));
                }
              });
        });
    return done.future();
  }

  private void sendMarker() {
    if (markerInFlight) {
      return; // the previous one is still unanswered: do not pile up behind a slow server
    }
    markerInFlight = true;
    String json =
        "{\"id\":\""
            + idPrefix
            + sent++
            + "\",\"eventType\":\""
            + MARKER_TYPE
            + "\",\"timestamp\":"
            + System.currentTimeMillis()
            + ",\"source\":\"bench\"}";
    client
        .request(HttpMethod.POST, eventsUri)
        .compose(
            req ->
                req.putHeader("Content-Type", "application/json")
                    .putHeader("Authorization", BenchKey.authorization())
                    .send(Buffer.buffer(json)))
        .compose(resp -> resp.body().map(body -> resp.statusCode()))
        .onComplete(
            ar -> {
              markerInFlight = false;
              long now = System.nanoTime();
              if (ar.failed() || ar.result() != 202) {
                errors++;
                return;
              }
              if (acked == ackNanos.length) {
                ackNanos = Arrays.copyOf(ackNanos, acked * 2);
              }
              ackNanos[acked++] = now;
              if (window.contains(now)) {
                windowMarkers++;
              }
              poll();
            });
  }

  private void poll() {
    if (pollInFlight || seen >= acked) {
      return;
    }
    pollInFlight = true;
    count()
        .onComplete(
            ar -> {
              pollInFlight = false;
              long now = System.nanoTime();
              if (ar.succeeded()) {
                long visible = ar.result() - baseline;
                while (seen < acked && seen < visible) {
                  long ack = ackNanos[seen++];
                  if (window.contains(ack)) {
                    freshness.recordValue(Math.max(0, (now - ack) / 1_000));
                  }
                }
              } else {
                errors++;
              }
              if (seen < acked) {
                vertx.setTimer(1, id -> poll());
              }
            });
  }

  /** The markers the server counts now. */
  private Future<Long> count() {
    return client
        .request(HttpMethod.GET, queryUri)
        .compose(req -> req.putHeader("Authorization", BenchKey.authorization()).send())
        .compose(
            resp ->
                resp.body()
                    .map(
                        body -> {
                          if (resp.statusCode() != 200) {
                            throw new IllegalStateException(
                                "GET " + queryUri + " answered " + resp.statusCode() + ": " + body);
                          }
                          JsonArray data = new JsonObject(body).getJsonArray("data");
                          long total = 0;
                          for (int i = 0; i < data.size(); i++) {
                            Number value = data.getJsonObject(i).getNumber("value");
                            total += value == null ? 0 : value.longValue();
                          }
                          return total;
                        }));
  }
}
