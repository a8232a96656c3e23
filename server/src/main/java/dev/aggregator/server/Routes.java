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
import java.util.ArrayList;
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

  /** One row of the route table: who may call it ({@code null}: anyone). */
  record Entry(HttpMethod method, String path, Scope scope) {}

  private final Router router;
  private final LiveSockets sockets;
  private final KeyAuth auth;
  private final AuditLog audit;
  private final WorkerExecutor auditWorker;
  private final List<Entry> table = new ArrayList<>();

  Routes(
      Vertx vertx,
      Engine agg,
      PrometheusRegistry registry,
      IngestRate rate,
      ConnectionGuard guard,
      HostCheck hosts,
      KeyAuth auth,
      AuditLog audit,
      int maxIngestRequests,
      int maxQueries,
      LiveSockets.Budget live,
      List<String> allowedOrigins) {
    registry.register(latency);
    this.auth = auth;
    this.audit = audit;
    this.auditWorker = vertx.createSharedWorkerExecutor("audit", 1); // one: entries in order
    IngestLimits limits = agg.config().limits();
    IngestHandlers ingest =
        new IngestHandlers(
            agg,
            vertx.createSharedWorkerExecutor(
                "ingest-decode", Math.max(2, Runtime.getRuntime().availableProcessors())));
    WorkerExecutor queryWorkers =
        vertx.createSharedWorkerExecutor(
            "queries", Math.max(2, Runtime.getRuntime().availableProcessors()));
    QueryHandlers query = new QueryHandlers(agg, queryWorkers, maxQueries);
    OpsHandlers ops = new OpsHandlers(agg, registry, rate, guard::open, this::livePoints);
    DashboardHandler dashboard = new DashboardHandler(agg, ops, queryWorkers);
    WorkerExecutor adminWorkers = vertx.createSharedWorkerExecutor("alerts", 2);
    Aggregator embedded = agg.embedded(); // null in cluster mode
    AlertHandlers alerts =
        embedded == null ? null : new AlertHandlers(embedded.alerts(), adminWorkers);
    KeyHandlers keys = new KeyHandlers(auth.keys(), audit, adminWorkers);
    UserHandlers users = embedded == null ? null : new UserHandlers(embedded, adminWorkers);
    sockets =
        new LiveSockets(
            vertx, agg, vertx.createSharedWorkerExecutor("live", 2), live, allowedOrigins, hosts);
    if (embedded != null) {
      embedded.alerts().addListener(sockets::broadcast);
    }
    router = Router.router(vertx);
    timeEveryRequest(vertx, guard, hosts);
    IngestAdmission admission = new IngestAdmission(maxIngestRequests);

    // The whole API. Scope: INGEST sends events, READ reads, ADMIN changes (and is audited).
    Scope in = Scope.INGEST;
    Scope read = Scope.READ;
    Scope admin = Scope.ADMIN;
    route(
        HttpMethod.POST,
        "/api/events",
        in,
        admission,
        body(limits.maxEventBytes()),
        ingest::ingestOne);
    route(
        HttpMethod.POST,
        "/api/events/batch",
        in,
        admission,
        body(limits.maxBatchBytes()),
        ingest::ingestBatch);
    route(HttpMethod.GET, "/api/events/health", null, null, null, ops::health);
    route(HttpMethod.GET, "/api/events/deadletters", admin, null, null, ops::deadLetters);
    route(
        HttpMethod.GET,
        "/api/events/export",
        admin,
        null,
        null,
        embeddedOnly(embedded, "export", () -> query::export));
    route(HttpMethod.GET, "/api/analytics/query", read, null, null, query::query);
    route(HttpMethod.GET, "/api/analytics/metrics", read, null, null, query::metrics);
    route(HttpMethod.GET, "/api/analytics/dashboard", read, null, null, dashboard::dashboard);
    route(
        HttpMethod.POST,
        "/api/alerts",
        admin,
        null,
        body(ALERT_BYTES),
        embeddedOnly(embedded, "alert rules", () -> alerts::create));
    route(
        HttpMethod.GET,
        "/api/alerts",
        read,
        null,
        null,
        embeddedOnly(embedded, "alert rules", () -> alerts::list));
    route(
        HttpMethod.GET,
        "/api/alerts/:id",
        read,
        null,
        null,
        embeddedOnly(embedded, "alert rules", () -> alerts::get));
    route(
        HttpMethod.PUT,
        "/api/alerts/:id",
        admin,
        null,
        body(ALERT_BYTES),
        embeddedOnly(embedded, "alert rules", () -> alerts::update));
    route(
        HttpMethod.DELETE,
        "/api/alerts/:id",
        admin,
        null,
        null,
        embeddedOnly(embedded, "alert rules", () -> alerts::delete));
    route(
        HttpMethod.GET,
        "/api/alerts/:id/history",
        read,
        null,
        null,
        embeddedOnly(embedded, "alert rules", () -> alerts::history));
    route(HttpMethod.POST, "/api/keys", admin, null, body(KeyHandlers.BODY_BYTES), keys::create);
    route(HttpMethod.GET, "/api/keys", admin, null, null, keys::list);
    route(HttpMethod.DELETE, "/api/keys/:id", admin, null, null, keys::delete);
    route(HttpMethod.GET, "/api/audit", admin, null, null, keys::audit);
    route(
        HttpMethod.DELETE,
        "/api/users/:userId/events",
        admin,
        null,
        null,
        embeddedOnly(embedded, "user deletion", () -> users::deleteEvents));
    route(HttpMethod.GET, "/ws/analytics", read, null, null, sockets::upgrade);
    route(HttpMethod.GET, "/metrics", read, null, null, ops::metrics);
    route(
        HttpMethod.GET,
        "/",
        null,
        null,
        null,
        ctx -> {
          String accept = ctx.request().getHeader("Accept");
          if (accept != null && accept.contains("text/html")) {
            ctx.reroute("/ui/index.html"); // a browser: the dashboard
          } else {
            ops.index(ctx); // anything else: what the API offers, as JSON
          }
        });
    // The dashboard's files, from the jar (web/): its own, and uPlot copied in by the build. They
    // hold no data (the page asks for a key before it asks for any), so they are public.
    table.add(new Entry(HttpMethod.GET, "/ui/*", null));
    router.get("/ui/*").handler(Routes::pageHeaders).handler(StaticHandler.create("web"));

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

  /**
   * {@code handler}, or in cluster mode (no embedded engine) an answer that says {@code what} is
   * not served there yet: 501, rather than a route that seems to work on data the cluster does not
   * have.
   */
  private static Handler<RoutingContext> embeddedOnly(
      Aggregator embedded,
      String what,
      java.util.function.Supplier<Handler<RoutingContext>> handler) {
    if (embedded != null) {
      return handler.get();
    }
    return ctx ->
        Http.error(
            ctx,
            501,
            "not_in_cluster_mode",
            what
                + " is served in embedded mode only in this version; this server runs in cluster mode");
  }

  Router router() {
    return router;
  }

  LiveSockets sockets() {
    return sockets;
  }

  /**
   * What a browser should enforce on the dashboard's pages: no framing (clickjacking), scripts and
   * connections from this server only, no referrer leaking a URL.
   */
  private static void pageHeaders(RoutingContext ctx) {
    ctx.response()
        .putHeader(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
                + " img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none';"
                + " base-uri 'none'; form-action 'self'")
        .putHeader("X-Frame-Options", "DENY")
        .putHeader("Referrer-Policy", "no-referrer");
    ctx.next();
  }

  /** The route table, for the test that walks it (every route but the public ones needs a key). */
  List<Entry> table() {
    return List.copyOf(table);
  }

  private static BodyHandler body(long limit) {
    return BodyHandler.create(false).setBodyLimit(limit);
  }

  /**
   * Adds a route: the key check first (before any body is read), then {@code admission} and {@code
   * body} if given, then the handler. Its path pattern (never the raw path, whose values are
   * unbounded) labels the latency of requests that reach it; the rest are labelled {@code other}.
   * Admin routes are audited once answered, with the status they got.
   */
  private void route(
      HttpMethod method,
      String path,
      Scope scope,
      Handler<RoutingContext> admission,
      BodyHandler body,
      Handler<RoutingContext> handler) {
    table.add(new Entry(method, path, scope));
    // Routes of their own: Vert.x wants a body handler first on its route, and these must run
    // before any body is read.
    router.route(method, path).handler(auth.require(scope));
    if (admission != null) {
      router.route(method, path).handler(admission);
    }
    var route = router.route(method, path);
    if (body != null) {
      route.handler(body);
    }
    route.handler(
        ctx -> {
          ctx.put(ROUTE_LABEL, path);
          Long timer = ctx.get(BODY_TIMER);
          if (timer != null) {
            ctx.vertx().cancelTimer(timer); // the body is in (or there was none)
          }
          if (scope == Scope.ADMIN) {
            audited(ctx, method + " " + path);
          }
          handler.handle(ctx);
        });
  }

  /** Records an admin request in the audit log once it is answered, on the one audit thread. */
  private void audited(RoutingContext ctx, String action) {
    ApiKeys.Key by = KeyAuth.caller(ctx);
    String target =
        ctx.pathParams().isEmpty()
            ? ctx.request().query()
            : String.join(",", ctx.pathParams().values());
    ctx.addEndHandler(
        v -> {
          int status = ctx.response().getStatusCode();
          String shown = ctx.get(AUDIT_TARGET) != null ? ctx.get(AUDIT_TARGET) : target;
          auditWorker
              .executeBlocking(
                  () -> {
                    audit.record(by, action, shown, status);
                    return null;
                  },
                  true)
              .onFailure(e -> LOG.error("cannot write the audit log: {}", e.toString()));
        });
  }

  private static final String BODY_TIMER = "aggregator.bodyTimer";

  /** Set by a handler whose audit entry should name something else than its path parameters. */
  static final String AUDIT_TARGET = "aggregator.auditTarget";

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
              ctx.response().putHeader("X-Content-Type-Options", "nosniff");
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

  /** Points the live subscriptions keep; for health (the sockets are made after its handler). */
  private long livePoints() {
    return sockets.points();
  }
}
