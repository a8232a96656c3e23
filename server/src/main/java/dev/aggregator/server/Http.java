package dev.aggregator.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON responses and the error shape of docs/DESIGN.md §5: {@code {"error","message","details"}}.
 */
final class Http {
  static final ObjectMapper JSON =
      new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

  private Http() {}

  static void json(RoutingContext ctx, int status, Object body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("unserializable response", e);
    }
    send(ctx, status, "application/json", Buffer.buffer(bytes));
  }

  static void send(RoutingContext ctx, int status, String contentType, Buffer body) {
    if (ctx.response().ended() || ctx.response().closed()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader("Content-Type", contentType).end(body);
  }

  static void error(RoutingContext ctx, int status, String code, String message) {
    error(ctx, status, code, message, List.of());
  }

  static void error(RoutingContext ctx, int status, String code, String message, List<?> details) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", code);
    body.put("message", message);
    body.put("details", details);
    json(ctx, status, body);
  }

  /** A client's text, cut to 100 characters, to be quoted in a message. */
  static String shown(String text) {
    return text.length() > 100 ? text.substring(0, 100) + "…" : text;
  }

  /** 429 with {@code Retry-After}: the pipeline is full, try again shortly. */
  static void overloaded(RoutingContext ctx, long inFlight, long capacity) {
    ctx.response().putHeader("Retry-After", "1");
    error(
        ctx,
        429,
        "overloaded",
        "the ingest pipeline is full ("
            + inFlight
            + " of "
            + capacity
            + " events in flight); retry after 1 second");
  }
}
