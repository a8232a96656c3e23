package dev.aggregator.server;

import dev.aggregator.Aggregator;
import dev.aggregator.aggregation.Durations;
import dev.aggregator.ingestion.IngestLimits;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every HTTP route of the aggregator, in one place. Each route is timed into {@code
 * aggregator_http_request_duration_seconds{route,status}}; every error, including 404, 405 and 413,
 * answers with the JSON error shape.
 */
final class Routes {
  private static final Logger LOG = LoggerFactory.getLogger(Routes.class);

  private final Histogram latency =
      Histogram.builder()
          .name("aggregator_http_request_duration_seconds")
          .help("HTTP request latency by route and status")
          .labelNames("route", "status")
          .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
          .build();

  private static final String ROUTE_LABEL = "aggregator.route";

  /**
   * An alert rule's body, at most: rules are small; this bounds what a request can make us hold.
   */
  static final long ALERT_BYTES = 64 * 1024;

  private final Router router;
  private final LiveSockets sockets;

  Routes(
      Vertx vertx,
      Aggregator agg,
      PrometheusRegistry registry,
      IngestRate rate,
      ConnectionGuard guard,
      HostCheck hosts,
      int maxIngestRequests,
      int maxQueries,
      List<String> allowedOrigins) {
    registry.register(latency);
    IngestLimits limits = agg.config().limits();
    IngestHandlers ingest = new IngestHandlers(agg);
    WorkerExecutor queryWorkers =
        vertx.createSharedWorkerExecutor(
            "queries", Math.max(2, Runtime.getRuntime().availableProcessors()));
    QueryHandlers query = new QueryHandlers(agg, queryWorkers, maxQueries);
    OpsHandlers ops = new OpsHandlers(agg, registry, rate);
    DashboardHandler dashboard = new DashboardHandler(agg, ops, queryWorkers);
    AlertHandlers alerts =
        new AlertHandlers(agg.alerts(), vertx.createSharedWorkerExecutor("alerts", 2));
    sockets =
        new LiveSockets(vertx, agg, vertx.createSharedWorkerExecutor("live", 2), allowedOrigins);
    agg.alerts().addListener(sockets::broadcast);
    router = Router.router(vertx);
    timeEveryRequest(vertx, guard, hosts);
    IngestAdmission admission = new IngestAdmission(maxIngestRequests);
    router.post("/api/events").handler(admission); // before the body is read
    router.post("/api/events/batch").handler(admission);

    route(HttpMethod.POST, "/api/events", body(limits.maxEventBytes()), ingest::ingestOne);
    route(HttpMethod.POST, "/api/events/batch", body(limits.maxBatchBytes()), ingest::ingestBatch);
    route(HttpMethod.GET, "/api/events/health", null, ops::health);
    route(HttpMethod.GET, "/api/events/deadletters", null, ops::deadLetters);
    route(HttpMethod.GET, "/api/events/export", null, query::export);
    route(HttpMethod.GET, "/api/analytics/query", null, query::query);
    route(HttpMethod.GET, "/api/analytics/metrics", null, query::metrics);
    route(HttpMethod.GET, "/api/analytics/dashboard", null, dashboard::dashboard);
    route(HttpMethod.POST, "/api/alerts", body(ALERT_BYTES), alerts::create);
    route(HttpMethod.GET, "/api/alerts", null, alerts::list);
    route(HttpMethod.GET, "/api/alerts/:id", null, alerts::get);
    route(HttpMethod.PUT, "/api/alerts/:id", body(ALERT_BYTES), alerts::update);
    route(HttpMethod.DELETE, "/api/alerts/:id", null, alerts::delete);
    route(HttpMethod.GET, "/api/alerts/:id/history", null, alerts::history);
    route(HttpMethod.GET, "/ws/analytics", null, sockets::upgrade);
    route(HttpMethod.GET, "/metrics", null, ops::metrics);
    route(
        HttpMethod.GET,
        "/",
        null,
        ctx -> {
          String accept = ctx.request().getHeader("Accept");
          if (accept != null && accept.contains("text/html")) {
            ctx.reroute("/ui/index.html"); // a browser: the dashboard
          } else {
            ops.index(ctx); // anything else: what the API offers, as JSON
          }
        });
    // The dashboard's files, from the jar (web/): its own, and uPlot copied in by the build.
    router.get("/ui/*").handler(StaticHandler.create("web"));

    router.errorHandler(
        404,
        ctx ->
            Http.error(ctx, 404, "not_found", "no route " + ctx.request().path() + "; see GET /"));
    router.errorHandler(
        405,
        ctx ->
            Http.error(
                ctx,
                405,
                "method_not_allowed",
                ctx.request().method() + " is not allowed on " + ctx.request().path()));
    router.errorHandler(
        413,
        ctx ->
            Http.error(
                ctx,
                413,
                "payload_too_large",
                "the body exceeds "
                    + (ctx.request().path().startsWith("/api/alerts")
                        ? ALERT_BYTES + " bytes"
                        : ctx.request().path().endsWith("/batch")
                            ? limits.maxBatchBytes() + " bytes (maxBatchBytes)"
                            : limits.maxEventBytes() + " bytes (maxEventBytes)")));
    router.errorHandler(
        400, ctx -> Http.error(ctx, 400, "bad_request", "the request could not be read"));
    router.errorHandler(
        500,
        ctx -> {
          LOG.error("unhandled error on {}", ctx.request().path(), ctx.failure());
          Http.error(ctx, 500, "internal", "an internal error occurred; it has been logged");
        });
  }

  Router router() {
    return router;
  }

  LiveSockets sockets() {
    return sockets;
  }

  private static BodyHandler body(long limit) {
    return BodyHandler.create(false).setBodyLimit(limit);
  }

  /**
   * Adds a route. Its path pattern (never the raw path, whose values are unbounded) labels the
   * latency of requests that reach it; the rest are labelled {@code other}.
   */
  private void route(
      HttpMethod method, String path, BodyHandler body, Handler<RoutingContext> handler) {
    var route = router.route(method, path);
    if (body != null) {
      route.handler(body); // Vert.x requires the body handler first
    }
    route.handler(
        ctx -> {
          ctx.put(ROUTE_LABEL, path);
          Long timer = ctx.get(BODY_TIMER);
          if (timer != null) {
            ctx.vertx().cancelTimer(timer); // the body is in (or there was none)
          }
          handler.handle(ctx);
        });
  }

  private static final String BODY_TIMER = "aggregator.bodyTimer";

  /**
   * Times every request, matched or not, refuses those of connections past a bound, and gives a
   * body {@code bodyTimeout} to arrive: 64 connections that sent headers and never their bodies
   * once held every ingest slot for as long as they stayed open. Registered before any route.
   */
  private void timeEveryRequest(Vertx vertx, ConnectionGuard guard, HostCheck hosts) {
    long bodyMillis = Math.max(1, guard.limits().bodyTimeout().toMillis());
    router
        .route()
        .handler(
            ctx -> {
              if (guard.refuse(ctx) || hosts.refuse(ctx)) {
                return;
              }
              if (ctx.request().method() != HttpMethod.GET
                  && ctx.request().method() != HttpMethod.HEAD
                  && !ctx.request().isEnded()) {
                long timer =
                    vertx.setTimer(
                        bodyMillis,
                        id -> {
                          if (!ctx.response().ended()) {
                            ctx.response().putHeader("Connection", "close");
                            Http.error(
                                ctx,
                                408,
                                "request_timeout",
                                "the request body did not arrive within "
                                    + Durations.format(guard.limits().bodyTimeout())
                                    + " (bodyTimeout)");
                          }
                          ctx.request().connection().close();
                        });
                ctx.put(BODY_TIMER, timer);
                ctx.addEndHandler(v -> vertx.cancelTimer(timer));
              }
              long start = System.nanoTime();
              ctx.addEndHandler(
                  v -> {
                    String route = ctx.get(ROUTE_LABEL);
                    latency
                        .labelValues(
                            route == null ? "other" : route,
                            Integer.toString(ctx.response().getStatusCode()))
                        .observe((System.nanoTime() - start) / 1e9);
                  });
              ctx.next();
            });
  }
}
