package dev.aggregator.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aggregator.alerting.Alert;
import dev.aggregator.alerting.AlertJson;
import dev.aggregator.alerting.AlertRuleParser;
import dev.aggregator.alerting.AlertStatus;
import dev.aggregator.alerting.Alerts;
import dev.aggregator.alerting.IllegalTransitionException;
import dev.aggregator.alerting.InvalidRuleException;
import dev.aggregator.alerting.Transition;
import io.vertx.core.WorkerExecutor;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code /api/alerts}: rules and their lifecycle. Changes are written to the store (an fsync)
 * before they are answered, so they run on a worker thread, never on an event loop.
 */
final class AlertHandlers {
  private final Alerts alerts;
  private final WorkerExecutor workers;

  AlertHandlers(Alerts alerts, WorkerExecutor workers) {
    this.alerts = alerts;
    this.workers = workers;
  }

  /** {@code POST /api/alerts} → 201 with the new alert. */
  void create(RoutingContext ctx) {
    JsonNode body = body(ctx);
    if (body != null) {
      run(ctx, 201, () -> AlertJson.toApi(alerts.create(alerts.parser().create(body))));
    }
  }

  /** {@code GET /api/alerts?status=triggered,acknowledged}. */
  void list(RoutingContext ctx) {
    Set<AlertStatus> statuses = EnumSet.noneOf(AlertStatus.class);
    for (String param : ctx.queryParam("status")) {
      for (String s : param.split(",")) {
        try {
          statuses.add(AlertStatus.parse(s));
        } catch (IllegalArgumentException e) {
          Http.error(ctx, 400, "invalid_parameter", e.getMessage(), List.of(field("status")));
          return;
        }
      }
    }
    ObjectNode out = Http.JSON.createObjectNode();
    ArrayNode list = out.putArray("alerts");
    boolean admin = KeyAuth.isAdmin(ctx);
    for (Alert a : alerts.list(statuses)) {
      list.add(shown(AlertJson.toApi(a), admin));
    }
    Http.json(ctx, 200, out);
  }

  /** {@code GET /api/alerts/{id}}. */
  void get(RoutingContext ctx) {
    Alert a = alerts.get(ctx.pathParam("id"));
    if (a == null) {
      notFound(ctx);
    } else {
      Http.json(ctx, 200, shown(AlertJson.toApi(a), KeyAuth.isAdmin(ctx)));
    }
  }

  /** {@code PUT /api/alerts/{id}}: edit the rule, or move it through its lifecycle. */
  void update(RoutingContext ctx) {
    JsonNode body = body(ctx);
    if (body != null) {
      if (body instanceof ObjectNode o && o.has("status")) {
        // Who moved it is the key that did, not what the body claims.
        o.put("by", KeyAuth.caller(ctx).name());
      }
      String id = ctx.pathParam("id");
      run(
          ctx,
          200,
          () -> {
            Alert a;
            if (AlertRuleParser.isStatusChange(body)) {
              a = alerts.act(id, alerts.parser().statusChange(body));
            } else {
              Alert current = alerts.get(id);
              a =
                  current == null
                      ? null
                      : alerts.edit(id, alerts.parser().edit(current.rule(), body));
            }
            return a == null ? null : AlertJson.toApi(a);
          });
    }
  }

  /** {@code DELETE /api/alerts/{id}} → 204. */
  void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    workers
        .executeBlocking(() -> alerts.delete(id), false)
        .onComplete(
            done -> {
              if (done.failed()) {
                ctx.fail(done.cause());
              } else if (!done.result()) {
                notFound(ctx);
              } else {
                ctx.response().setStatusCode(204).end();
              }
            });
  }

  /** {@code GET /api/alerts/{id}/history}: transitions, oldest first. */
  void history(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    run(
        ctx,
        200,
        () -> {
          List<Transition> history = alerts.history(id);
          if (history == null) {
            return null;
          }
          ObjectNode out = Http.JSON.createObjectNode();
          out.put("id", id);
          ArrayNode list = out.putArray("history");
          history.forEach(t -> list.add(AlertJson.toApi(t)));
          return out;
        });
  }

  /**
   * An alert as a caller may see it: webhook URLs often carry a token in their path or query, so
   * keys without admin scope see only their scheme and host.
   */
  static JsonNode shown(JsonNode alert, boolean admin) {
    if (!admin) {
      for (JsonNode t : alert.path("notify")) {
        if (t instanceof ObjectNode n && n.has("url")) {
          try {
            java.net.URI u = java.net.URI.create(n.get("url").asText());
            n.put(
                "url",
                u.getScheme()
                    + "://"
                    + u.getHost()
                    + (u.getPort() >= 0 ? ":" + u.getPort() : "")
                    + "/…");
          } catch (IllegalArgumentException e) {
            n.put("url", "…");
          }
        }
      }
    }
    return alert;
  }

  /** Runs {@code work} on a worker; null from it means 404. Maps the alert errors to statuses. */
  private void run(RoutingContext ctx, int status, Callable<JsonNode> work) {
    workers
        .executeBlocking(work, false)
        .onComplete(
            done -> {
              if (done.succeeded()) {
                if (done.result() == null) {
                  notFound(ctx);
                } else {
                  Http.json(ctx, status, done.result());
                }
              } else if (done.cause() instanceof InvalidRuleException e) {
                Http.error(
                    ctx,
                    400,
                    "invalid_alert",
                    e.getMessage(),
                    e.problems().stream()
                        .map(
                            p -> Map.of("field", String.valueOf(p.field()), "message", p.message()))
                        .toList());
              } else if (done.cause() instanceof IllegalTransitionException e) {
                Http.error(
                    ctx,
                    409,
                    "illegal_transition",
                    e.getMessage(),
                    List.of(
                        Map.of(
                            "from",
                            e.from().wire(),
                            "to",
                            e.to().wire(),
                            "allowed",
                            e.allowed().stream().map(AlertStatus::wire).toList())));
              } else if (done.cause() instanceof Alerts.LimitException e) {
                Http.error(ctx, 409, "limit_reached", e.getMessage());
              } else {
                ctx.fail(done.cause());
              }
            });
  }

  /** The body as JSON, or null after answering 400/415. */
  private static JsonNode body(RoutingContext ctx) {
    String type = ctx.request().getHeader("Content-Type");
    if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
      // Required, not assumed: a cross-site page can POST without one, no preflight asked.
      Http.error(
          ctx,
          415,
          "unsupported_media_type",
          "send the alert as application/json" + (type == null ? "" : ", not " + type));
      return null;
    }
    try {
      JsonNode body =
          ctx.body().buffer() == null ? null : Http.JSON.readTree(ctx.body().buffer().getBytes());
      if (body == null || !body.isObject()) {
        Http.error(ctx, 400, "invalid_alert", "the body must be a JSON object");
        return null;
      }
      return body;
    } catch (IOException e) {
      Http.error(ctx, 400, "malformed_json", "the body is not valid JSON");
      return null;
    }
  }

  private static void notFound(RoutingContext ctx) {
    Http.error(
        ctx, 404, "not_found", "no alert " + ctx.pathParam("id") + "; GET /api/alerts lists them");
  }

  private static Map<String, String> field(String name) {
    return Map.of("field", name);
  }
}
