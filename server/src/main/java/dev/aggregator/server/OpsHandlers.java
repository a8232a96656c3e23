package dev.aggregator.server;

import dev.aggregator.event.Timestamps;
import dev.aggregator.storage.DeadLetter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Health, dead letters, Prometheus metrics and the index. */
final class OpsHandlers {
  private static final int MAX_DEAD_LETTER_LIMIT = 1_000;

  private final Engine engine;
  private final PrometheusRegistry registry;
  private final IngestRate rate;
  private final long startedAt = System.currentTimeMillis();
  private final java.util.function.IntSupplier connections;
  private final java.util.function.LongSupplier livePoints;

  /**
   * @param connections HTTP connections open now
   * @param livePoints points the live subscriptions keep (reserved)
   */
  OpsHandlers(
      Engine engine,
      PrometheusRegistry registry,
      IngestRate rate,
      java.util.function.IntSupplier connections,
      java.util.function.LongSupplier livePoints) {
    this.engine = engine;
    this.registry = registry;
    this.rate = rate;
    this.connections = connections;
    this.livePoints = livePoints;
  }

  /** Up, degraded (pipeline over 80% full or aggregation behind) or failed (the log refuses). */
  void health(RoutingContext ctx) {
    ApiKeys.Key caller = KeyAuth.caller(ctx);
    if (caller == null || !caller.allows(Scope.READ)) {
      // Liveness needs no key, and so tells no more than whether the server is well.
      Map<String, Object> out = new LinkedHashMap<>();
      Map<String, Object> full = ingest();
      out.put("status", full.get("status"));
      if (full.containsKey("degraded")) {
        out.put("degraded", full.get("degraded"));
      }
      Http.json(ctx, "failed".equals(full.get("status")) ? 503 : 200, out);
      return;
    }
    Map<String, Object> out = ingest();
    out.putAll(engine.details());

    Map<String, Object> dead = new LinkedHashMap<>();
    dead.put("kept", engine.deadLetters().size());
    dead.put("total", engine.deadLetters().total());
    dead.put("unpersisted", engine.deadLetters().unpersisted());
    out.put("deadLetters", dead);

    Map<String, Object> serving = new LinkedHashMap<>();
    serving.put("connections", connections.getAsInt());
    serving.put("livePoints", livePoints.getAsLong());
    out.put("serving", serving);

    Http.json(ctx, engine.failed() ? 503 : 200, out);
  }

  /** Status, rate, queue, lag and lifecycle counts: the head of health, and the dashboard's. */
  Map<String, Object> ingest() {
    long inFlight = engine.pipeline().inFlight();
    long capacity = engine.pipeline().maxInFlight();
    long lag = engine.lagMillis();
    // Why not "up", in words: a cap or a failure that holds data back must show here.
    List<String> reasons = new java.util.ArrayList<>();
    if (inFlight * 5 >= capacity * 4) {
      reasons.add("the pipeline is over 80% full (maxInFlight)");
    }
    if (lag > 1_000) {
      reasons.add("aggregation is " + lag + " ms behind");
    }
    reasons.addAll(engine.degraded());
    if (engine.decoder().types().full()) {
      reasons.add(
          "event types are at maxEventTypes ("
              + engine.decoder().types().max()
              + "): events of new types are refused");
    }
    String status = engine.failed() ? "failed" : reasons.isEmpty() ? "up" : "degraded";
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("status", status);
    if (!reasons.isEmpty()) {
      out.put("degraded", reasons);
    }
    out.put("uptimeSeconds", (System.currentTimeMillis() - startedAt) / 1000);
    out.put("eventsPerSecond", Math.round(rate.perSecond()));
    out.put("queueDepth", inFlight);
    out.put("queueCapacity", capacity);
    out.put("lagMillis", lag);
    out.put("lifecycle", engine.lifecycle().snapshot());
    return out;
  }

  /** The newest dead letters as the API shows them. */
  List<Map<String, Object>> newestDeadLetters(int limit, String reason) {
    List<Map<String, Object>> items = new ArrayList<>();
    for (DeadLetter d : engine.deadLetters().newest(limit, reason)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("time", Timestamps.format(d.time()));
      m.put("reason", d.reason());
      if (d.sequence() != null) {
        m.put("sequence", d.sequence());
      }
      m.put("problems", d.problems());
      m.put("event", d.event());
      items.add(m);
    }
    return items;
  }

  /** {@code GET /api/events/deadletters?limit=N&reason=invalid}: newest first. */
  void deadLetters(RoutingContext ctx) {
    int limit = 100;
    String limitText = ctx.queryParams().get("limit");
    if (limitText != null) {
      try {
        limit = Integer.parseInt(limitText.trim());
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_DEAD_LETTER_LIMIT) {
        Http.error(
            ctx,
            400,
            "invalid_parameter",
            "limit must be a whole number from 1 to " + MAX_DEAD_LETTER_LIMIT);
        return;
      }
    }
    String reason = ctx.queryParams().get("reason");
    if (reason != null
        && !List.of(DeadLetter.INVALID, DeadLetter.EXPIRED, DeadLetter.FAILED).contains(reason)) {
      Http.error(ctx, 400, "invalid_parameter", "reason must be one of invalid, expired, failed");
      return;
    }
    List<Map<String, Object>> items = newestDeadLetters(limit, reason);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("total", engine.deadLetters().total());
    out.put("kept", engine.deadLetters().size());
    out.put("deadLetters", items);
    Http.json(ctx, 200, out);
  }

  /** Prometheus text exposition of the aggregator's own metrics. */
  void metrics(RoutingContext ctx) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
    try {
      PrometheusTextFormatWriter.create().write(out, registry.scrape());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Http.send(ctx, 200, PrometheusTextFormatWriter.CONTENT_TYPE, Buffer.buffer(out.toByteArray()));
  }

  /** {@code GET /}: what this is and where to go (the dashboard replaces it). */
  void index(RoutingContext ctx) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("name", "analytics-aggregator");
    out.put(
        "endpoints",
        List.of(
            "POST /api/events",
            "POST /api/events/batch",
            "GET /api/events/health",
            "GET /api/events/deadletters?limit=N",
            "GET /api/analytics/query?metric=&start=&end=&granularity=&function=&fill=&filter=&groupBy=&limit=&tz=",
            "GET /api/analytics/metrics",
            "GET /api/analytics/dashboard",
            "GET|POST /api/alerts",
            "GET|PUT|DELETE /api/alerts/{id}",
            "GET /api/alerts/{id}/history",
            "WS /ws/analytics",
            "GET /metrics"));
    Http.json(ctx, 200, out);
  }
}
