package dev.aggregator.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.WorkerExecutor;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code /api/keys} and {@code /api/audit}: admin only; file writes run on a worker. */
final class KeyHandlers {
  private static final Logger LOG = LoggerFactory.getLogger(KeyHandlers.class);
  static final long BODY_BYTES = 4 * 1024;

  private final ApiKeys keys;
  private final AuditLog audit;
  private final WorkerExecutor workers;

  KeyHandlers(ApiKeys keys, AuditLog audit, WorkerExecutor workers) {
    this.keys = keys;
    this.audit = audit;
    this.workers = workers;
  }

  /**
   * {@code POST /api/keys {"name":"sdk","scopes":["ingest"],"rateLimit":100}} → 201 with the
   * secret, the only time it is shown.
   */
  void create(RoutingContext ctx) {
    JsonNode body;
    try {
      body = Http.JSON.readTree(ctx.body().buffer().getBytes());
    } catch (IOException | RuntimeException e) {
      Http.error(ctx, 400, "malformed_json", "the body is not a JSON object");
      return;
    }
    if (body == null || !body.isObject()) {
      Http.error(ctx, 400, "malformed_json", "the body is not a JSON object");
      return;
    }
    for (var it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!Set.of("name", "scopes", "rateLimit").contains(f)) {
        invalid(ctx, f, "unknown field; a key has name, scopes and rateLimit");
        return;
      }
    }
    Set<Scope> scopes = EnumSet.noneOf(Scope.class);
    JsonNode s = body.path("scopes");
    if (!s.isArray()) {
      invalid(ctx, "scopes", "scopes is a list of ingest, read, admin");
      return;
    }
    for (JsonNode n : s) {
      try {
        scopes.add(Scope.parse(n.asText()));
      } catch (IllegalArgumentException e) {
        invalid(ctx, "scopes", e.getMessage());
        return;
      }
    }
    int rate = -1;
    if (body.has("rateLimit")) {
      JsonNode r = body.get("rateLimit");
      if (!r.canConvertToInt() || !r.isIntegralNumber() || r.asInt() < 0) {
        invalid(ctx, "rateLimit", "rateLimit is requests per second, a whole number ≥ 0 (0: none)");
        return;
      }
      rate = r.asInt();
    }
    String name = body.path("name").isTextual() ? body.get("name").asText() : null;
    int rateLimit = rate;
    ApiKeys.Key by = KeyAuth.caller(ctx);
    workers
        .executeBlocking(() -> keys.create(name, scopes, rateLimit, by.name()), false)
        .onComplete(
            done -> {
              if (done.succeeded()) {
                Map<String, Object> out = ApiKeys.describe(done.result().key());
                out.put("key", done.result().secret());
                Http.json(ctx, 201, out);
              } else {
                fail(ctx, done.cause());
              }
            });
  }

  /** {@code GET /api/keys}: every key, without secrets or hashes. */
  void list(RoutingContext ctx) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("keys", keys.list().stream().map(ApiKeys::describe).toList());
    Http.json(ctx, 200, out);
  }

  /** {@code DELETE /api/keys/{id}} → 204; the key stops working at once. */
  void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    workers
        .executeBlocking(() -> keys.delete(id), false)
        .onComplete(
            done -> {
              if (done.failed()) {
                fail(ctx, done.cause());
              } else if (!done.result()) {
                Http.error(ctx, 404, "not_found", "no key " + Http.shown(id));
              } else {
                ctx.response().setStatusCode(204).end();
              }
            });
  }

  /** {@code GET /api/audit?limit=100}: the newest admin actions first. */
  void audit(RoutingContext ctx) {
    int limit = 100;
    String l = ctx.request().getParam("limit");
    if (l != null) {
      try {
        limit = Integer.parseInt(l);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > AuditLog.MAX_READ) {
        Http.error(
            ctx,
            400,
            "invalid_parameter",
            "limit must be a whole number from 1 to " + AuditLog.MAX_READ,
            List.of(Map.of("field", "limit")));
        return;
      }
    }
    int n = limit;
    workers
        .executeBlocking(() -> audit.newest(n), false)
        .onComplete(
            done -> {
              if (done.failed()) {
                LOG.warn("cannot read the audit log: {}", done.cause().toString());
                Http.error(ctx, 503, "audit_unavailable", "the audit log cannot be read now");
              } else {
                Http.json(ctx, 200, Map.of("entries", done.result()));
              }
            });
  }

  private static void invalid(RoutingContext ctx, String field, String message) {
    Http.error(
        ctx,
        400,
        "invalid_key",
        message,
        List.of(Map.of("field", Http.shown(field), "message", message)));
  }

  private static void fail(RoutingContext ctx, Throwable e) {
    if (e instanceof ApiKeys.KeyException k) {
      Http.error(
          ctx,
          k.status,
          k.status == 409 ? "conflict" : "invalid_key",
          k.getMessage(),
          List.of(Map.of("field", k.field, "message", k.getMessage())));
    } else {
      LOG.error("cannot write the keys", e);
      Http.error(ctx, 503, "keys_unavailable", "the keys cannot be written now; retry later");
    }
  }
}
