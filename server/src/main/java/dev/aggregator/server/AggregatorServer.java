package dev.aggregator.server;

import dev.aggregator.Aggregator;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The aggregator behind HTTP: opens the engine on the data directory (replaying its log), then
 * listens with one HTTP server per event loop.
 *
 * <pre>{@code
 * try (AggregatorServer server = AggregatorServer.start(ServerConfig.load(args, System.getenv()))) {
 *   System.out.println("listening on port " + server.port());
 * }
 * }</pre>
 */
public final class AggregatorServer implements AutoCloseable {
  private final Engine agg;
  private final Vertx vertx;
  private final int port;
  private final Routes routes;

  private final ApiKeys keys;
  private final AuditLog audit;

  private AggregatorServer(
      Engine agg, Vertx vertx, int port, Routes routes, ApiKeys keys, AuditLog audit) {
    this.agg = agg;
    this.vertx = vertx;
    this.port = port;
    this.routes = routes;
    this.keys = keys;
    this.audit = audit;
  }

  /** Opens the engine and starts listening; returns once requests are served. */
  public static AggregatorServer start(ServerConfig config) throws IOException {
    Engine agg =
        config.clusterMode()
            ? new ClusterEngine(config.engine(), config.cluster())
            : new EmbeddedEngine(Aggregator.open(config.engine()));
    ApiKeys keys;
    AuditLog audit;
    try {
      keys =
          ApiKeys.open(
              config.engine().dataDir(),
              config.security().adminKey(),
              config.security().keyRateLimit());
    } catch (IOException e) {
      agg.close();
      throw e;
    }
    try {
      audit = new AuditLog(config.engine().dataDir());
    } catch (IOException e) {
      keys.close();
      agg.close();
      throw e;
    }
    PrometheusRegistry registry = new PrometheusRegistry();
    agg.register(registry);
    JvmMetrics.builder().register(registry);
    Vertx vertx = Vertx.vertx();
    IngestRate rate = new IngestRate(agg.lifecycle()::aggregatedTotal);
    vertx.setPeriodic(1000, id -> rate.sample(System.currentTimeMillis()));
    ConnectionGuard guard = new ConnectionGuard(config.connections());
    Routes routes =
        new Routes(
            vertx,
            agg,
            registry,
            rate,
            guard,
            new HostCheck(config.host(), config.allowedHosts()),
            new KeyAuth(keys),
            audit,
            config.maxIngestRequests(),
            config.maxQueries(),
            config.live(),
            config.allowedOrigins());
    // One server per event loop, deployed together: Vert.x spreads connections over them, and
    // instances of one deployment share the port, including a random one picked for port 0.
    int instances = Math.max(1, Runtime.getRuntime().availableProcessors());
    List<HttpVerticle> deployed = new CopyOnWriteArrayList<>();
    try {
      vertx
          .deployVerticle(
              () -> {
                HttpVerticle v = new HttpVerticle(routes, guard, config);
                deployed.add(v);
                return v;
              },
              new DeploymentOptions().setInstances(instances))
          .toCompletionStage()
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      audit.close();
      keys.close();
      agg.close();
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IOException(
          "cannot listen on " + config.host() + ":" + config.port() + ": " + cause.getMessage(),
          cause);
    }
    return new AggregatorServer(agg, vertx, deployed.get(0).actualPort(), routes, keys, audit);
  }

  /** The route table (for the test that walks it). */
  java.util.List<Routes.Entry> routeTable() {
    return routes.table();
  }

  /** Where the admin key generated on the first start is, if it was made that way. */
  public java.util.Optional<java.nio.file.Path> adminKeyFile() {
    return keys.generatedAdminFile();
  }

  public int port() {
    return port;
  }

  /** WebSocket clients connected to {@code /ws/analytics}. */
  public int liveClients() {
    return routes.sockets().clients();
  }

  /** The embedded engine; null in cluster mode. */
  public Aggregator aggregator() {
    return agg.embedded();
  }

  /** Stops listening, then closes the engine (making everything acknowledged durable). */
  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // closing anyway
    }
    audit.close();
    keys.close();
    agg.close();
  }

  private static final class HttpVerticle extends VerticleBase {
    private final Routes routes;
    private final ConnectionGuard guard;
    private final ServerConfig config;
    private HttpServer server;

    HttpVerticle(Routes routes, ConnectionGuard guard, ServerConfig config) {
      this.routes = routes;
      this.guard = guard;
      this.config = config;
    }

    @Override
    public Future<?> start() {
      HttpServerOptions options =
          new HttpServerOptions()
              .setHost(config.host())
              .setPort(config.port())
              .setCompressionSupported(true)
              // h2c upgrades of requests with a body larger than a few KiB (Java's HttpClient
              // attempts one by default) end in a dropped connection: answer HTTP/1.1 instead.
              .setHttp2ClearTextEnabled(false)
              .setTcpNoDelay(true)
              .setIdleTimeout((int) Math.max(1, guard.limits().idleTimeout().toSeconds()))
              .setIdleTimeoutUnit(TimeUnit.SECONDS)
              // Browsers cannot send headers on a WebSocket: they offer this and bearer.<key>.
              .setWebSocketSubProtocols(List.of(KeyAuth.WS_PROTOCOL));
      ServerConfig.Security sec = config.security();
      if (sec.tlsCert() != null) {
        options
            .setSsl(true)
            .setKeyCertOptions(
                new PemKeyCertOptions()
                    .setCertPath(sec.tlsCert().toString())
                    .setKeyPath(sec.tlsKey().toString()));
      }
      server =
          vertx
              .createHttpServer(options)
              .connectionHandler(
                  c -> {
                    StrictRequestDecoder.install(c, options);
                    guard.accept(c);
                  })
              .requestHandler(routes.router());
      return server.listen();
    }

    int actualPort() {
      return server.actualPort();
    }
  }
}
