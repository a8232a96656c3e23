package dev.aggregator.server;

import io.vertx.core.http.HttpConnection;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Connections in total and per client address, at most. A connection past either bound is kept just
 * long enough to answer its first request with a 503 naming the bound, then closed: 2,000 idle
 * connections were once all kept, and when file descriptors ran out the log failed for good. Shared
 * by every event loop's server.
 */
final class ConnectionGuard {
  /**
   * @param bodyTimeout how long a request's body may take to arrive (then 408 and closed)
   * @param idleTimeout how long a connection may stay idle (then closed)
   * @param maxConnections open connections at most
   * @param maxConnectionsPerAddress open connections from one client address at most
   */
  record Limits(
      Duration bodyTimeout,
      Duration idleTimeout,
      int maxConnections,
      int maxConnectionsPerAddress) {}

  /** How long a connection past a bound may take to send the request its 503 answers. */
  static final long REFUSED_GRACE_MS = 1_000;

  private final Limits limits;
  private final AtomicInteger open = new AtomicInteger();
  private final Map<String, AtomicInteger> perAddress = new ConcurrentHashMap<>();
  private final Set<HttpConnection> refused = Collections.newSetFromMap(new ConcurrentHashMap<>());

  ConnectionGuard(Limits limits) {
    this.limits = limits;
  }

  Limits limits() {
    return limits;
  }

  /** The server's connection handler: counts the connection, marks it refused past a bound. */
  void accept(HttpConnection c) {
    String address = c.remoteAddress() == null ? "?" : c.remoteAddress().hostAddress();
    AtomicInteger mine = perAddress.computeIfAbsent(address, a -> new AtomicInteger());
    int total = open.incrementAndGet();
    int fromAddress = mine.incrementAndGet();
    if (total > limits.maxConnections() || fromAddress > limits.maxConnectionsPerAddress()) {
      refused.add(c);
      // The 503 answers a request; one that sends none would be kept until idleTimeout, and
      // 2,000 idle connections from one address all were. It gets a moment to ask, then is closed.
      io.vertx.core.Context context = io.vertx.core.Vertx.currentContext();
      if (context != null) {
        context
            .owner()
            .setTimer(
                REFUSED_GRACE_MS,
                t -> {
                  if (refused.contains(c)) {
                    c.close();
                  }
                });
      }
    }
    c.closeHandler(
        v -> {
          refused.remove(c);
          open.decrementAndGet();
          if (mine.decrementAndGet() == 0) {
            perAddress.remove(address, mine);
          }
        });
  }

  /** Answers 503 and closes if the request's connection is past a bound; true if it did. */
  boolean refuse(RoutingContext ctx) {
    HttpConnection c = ctx.request().connection();
    if (c == null || !refused.contains(c)) {
      return false;
    }
    ctx.response().putHeader("Connection", "close").putHeader("Retry-After", "1");
    String which =
        open.get() > limits.maxConnections()
            ? limits.maxConnections() + " connections are open (maxConnections)"
            : limits.maxConnectionsPerAddress()
                + " connections are open from your address (maxConnectionsPerAddress)";
    ctx.response().endHandler(v -> c.close()); // before the answer ends it
    Http.error(ctx, 503, "too_many_connections", which + "; close some and retry");
    return true;
  }

  int open() {
    return open.get();
  }
}
