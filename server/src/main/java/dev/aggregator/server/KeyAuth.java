package dev.aggregator.server;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.Locale;

/**
 * The first handler of every route: finds the calling key, checks its scope and takes one request
 * from its rate budget, before a body is read. Keys come as {@code Authorization: Bearer <key>};
 * browsers cannot set headers on a WebSocket, so there the key may also come as a subprotocol
 * {@code bearer.<key>} next to {@code aggregator.v1} (as Kubernetes does), never in the URL where
 * logs and proxies would keep it.
 */
final class KeyAuth {
  private static final String CALLER = "aggregator.key";

  /** The subprotocol the server answers a WebSocket with; a client offers it and its key. */
  static final String WS_PROTOCOL = "aggregator.v1";

  private static final String WS_KEY_PREFIX = "bearer.";

  private final ApiKeys keys;

  KeyAuth(ApiKeys keys) {
    this.keys = keys;
  }

  ApiKeys keys() {
    return keys;
  }

  /**
   * A handler that lets a request on only with a key of {@code scope}: 401 without a valid key, 403
   * with one of another scope, 429 past the key's rate limit. With {@code scope} null the route is
   * public (liveness, the dashboard's files) and a key, if any, is only noted.
   */
  Handler<RoutingContext> require(Scope scope) {
    return ctx -> {
      if (!ctx.request().isEnded()) {
        // Refused before its body is read: that body cannot be skipped cheaply, so close after.
        ctx.addHeadersEndHandler(
            v -> {
              if (ctx.response().getStatusCode() >= 400) {
                ctx.response().putHeader("Connection", "close");
              }
            });
      }
      String secret = secret(ctx.request());
      ApiKeys.Key key = keys.authenticate(secret).orElse(null);
      if (scope == null) {
        if (key != null) {
          ctx.put(CALLER, key);
        }
        ctx.next();
        return;
      }
      if (key == null) {
        ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"aggregator\"");
        Http.error(
            ctx,
            401,
            "unauthorized",
            secret == null
                ? "this route needs an API key with "
                    + scope.label()
                    + " scope: send"
                    + " Authorization: Bearer <key>"
                : "the API key is not known (deleted, or mistyped)");
        return;
      }
      if (!key.allows(scope)) {
        Http.error(
            ctx,
            403,
            "forbidden",
            "key '"
                + key.name()
                + "' has scopes "
                + key.scopeLabels()
                + "; "
                + ctx.request().method()
                + " "
                + ctx.request().path()
                + " needs "
                + scope.label());
        return;
      }
      long waitMillis = keys.throttle(key, System.nanoTime());
      if (waitMillis > 0) {
        ctx.response().putHeader("Retry-After", Long.toString((waitMillis + 999) / 1000));
        Http.error(
            ctx,
            429,
            "rate_limited",
            "key '"
                + key.name()
                + "' may make "
                + key.rateLimit()
                + " requests per second (rateLimit); retry after "
                + waitMillis
                + " ms");
        return;
      }
      ctx.put(CALLER, key);
      ctx.next();
    };
  }

  /** The key that made this request, if it gave one; null on a public route without one. */
  static ApiKeys.Key caller(RoutingContext ctx) {
    return ctx.get(CALLER);
  }

  static boolean isAdmin(RoutingContext ctx) {
    ApiKeys.Key k = caller(ctx);
    return k != null && k.allows(Scope.ADMIN);
  }

  private static String secret(HttpServerRequest req) {
    String auth = req.getHeader("Authorization");
    if (auth != null) {
      String a = auth.strip();
      if (a.length() > 7 && a.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
        return a.substring(7).strip();
      }
      return ""; // some other scheme: not a key of ours
    }
    String protocols = req.getHeader("Sec-WebSocket-Protocol");
    if (protocols != null) {
      for (String p : protocols.split(",")) {
        String s = p.strip();
        if (s.startsWith(WS_KEY_PREFIX)) {
          return s.substring(WS_KEY_PREFIX.length());
        }
      }
    }
    return null;
  }
}
