package dev.aggregator.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aggregator.aggregation.Durations;
import dev.aggregator.event.Timestamps;
import dev.aggregator.query.AggregateFunction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Alerts and transitions as JSON: the API's shape, and the stored one (the same plus the secrets
 * and the state machine's bookkeeping), so that what is stored reads like what the API shows.
 */
public final class AlertJson {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private AlertJson() {}

  /**
   * The API's view: the seed's {@code Alert} fields ({@code id, name, metric, condition, threshold,
   * status, createdAt, triggeredAt}) first, then the rest of the rule and the lifecycle. Webhook
   * secrets are never shown.
   */
  public static ObjectNode toApi(Alert a) {
    ObjectNode o = MAPPER.createObjectNode();
    AlertRule r = a.rule();
    o.put("id", a.id());
    o.put("name", r.name());
    o.put("metric", r.metric());
    o.put("condition", r.condition().wire());
    putNumber(o, "threshold", r.threshold());
    o.put("status", a.status().wire());
    o.put("createdAt", Timestamps.format(a.createdAt()));
    putTime(o, "triggeredAt", a.triggeredAt());
    o.put("function", r.function().label());
    ArrayNode filter = o.putArray("filter");
    r.filters().forEach((k, v) -> filter.add(k + ":" + String.join("|", v)));
    o.put("window", Durations.format(r.window()));
    o.put("for", Durations.format(r.forDuration()));
    putNumber(o, "recoveryThreshold", r.recoveryThreshold());
    o.put("severity", r.severity().wire());
    ArrayNode notify = o.putArray("notify");
    for (NotifyTarget t : r.targets()) {
      ObjectNode n = notify.addObject();
      n.put("type", t.type().name().toLowerCase(java.util.Locale.ROOT));
      if (t.url() != null) {
        n.put("url", t.url().toString());
        n.put("signed", t.secret() != null);
      }
    }
    o.put("updatedAt", Timestamps.format(a.updatedAt()));
    o.put("statusSince", Timestamps.format(a.state().since()));
    putTime(o, "resolvedAt", a.resolvedAt());
    if (a.acknowledgedBy() != null) {
      o.put("acknowledgedBy", a.acknowledgedBy());
      putTime(o, "acknowledgedAt", a.acknowledgedAt());
      putTime(o, "acknowledgedUntil", a.state().ackUntil());
    }
    if (a.comment() != null) {
      o.put("comment", a.comment());
    }
    putNumber(o, "value", a.value());
    putTime(o, "evaluatedAt", a.evaluatedAt());
    putTime(o, "pendingSince", a.state().pendingSince());
    return o;
  }

  public static ObjectNode toApi(Transition t) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("from", t.from().wire());
    o.put("to", t.to().wire());
    o.put("at", Timestamps.format(t.at()));
    putNumber(o, "value", t.value());
    o.put("reason", t.reason());
    o.put("actor", t.actor());
    if (t.comment() != null) {
      o.put("comment", t.comment());
    }
    return o;
  }

  /** The body of a notification: the alert as it is after the transition, and the transition. */
  public static byte[] notification(Alert a, Transition t, long sequence) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("type", "alert");
    o.put("event", t.to().wire());
    o.put("sequence", sequence);
    o.set("alert", toApi(a));
    o.set("transition", toApi(t));
    return bytes(o);
  }

  // ---- storage ------------------------------------------------------------------------------

  static byte[] stored(Alert a) {
    ObjectNode o = toApi(a);
    o.put("createdAtMs", a.createdAt());
    o.put("updatedAtMs", a.updatedAt());
    o.put("triggeredAtMs", a.triggeredAt());
    o.put("resolvedAtMs", a.resolvedAt());
    o.put("acknowledgedAtMs", a.acknowledgedAt());
    o.put("transitions", a.transitions());
    ObjectNode s = o.putObject("state");
    s.put("status", a.state().status().wire());
    s.put("since", a.state().since());
    s.put("pendingSince", a.state().pendingSince());
    s.put("rearmAfterRecovery", a.state().rearmAfterRecovery());
    s.put("ackUntil", a.state().ackUntil());
    ArrayNode notify = o.putArray("notify");
    for (NotifyTarget t : a.rule().targets()) {
      ObjectNode n = notify.addObject();
      n.put("type", t.type().name());
      if (t.url() != null) {
        n.put("url", t.url().toString());
      }
      if (t.secret() != null) {
        n.put("secret", t.secret());
      }
    }
    return bytes(o);
  }

  static Alert readStored(byte[] bytes) {
    JsonNode o = tree(bytes);
    Map<String, List<String>> filters = new LinkedHashMap<>();
    for (JsonNode f : o.get("filter")) {
      String spec = f.asText();
      int colon = spec.indexOf(':');
      filters.put(spec.substring(0, colon), List.of(spec.substring(colon + 1).split("\\|", -1)));
    }
    List<NotifyTarget> notify = new ArrayList<>();
    for (JsonNode n : o.get("notify")) {
      NotifyTarget.Type type = NotifyTarget.Type.valueOf(n.get("type").asText());
      notify.add(
          new NotifyTarget(
              type,
              n.hasNonNull("url") ? URI.create(n.get("url").asText()) : null,
              n.hasNonNull("secret") ? n.get("secret").asText() : null));
    }
    AlertRule rule =
        new AlertRule(
            o.get("name").asText(),
            o.get("metric").asText(),
            AggregateFunction.parse(o.get("function").asText()),
            filters,
            Durations.parse(o.get("window").asText()),
            Condition.parse(o.get("condition").asText()),
            number(o, "threshold"),
            number(o, "recoveryThreshold"),
            Durations.parse(o.get("for").asText()),
            Severity.parse(o.get("severity").asText()),
            List.copyOf(notify));
    JsonNode s = o.get("state");
    AlertState state =
        new AlertState(
            AlertStatus.parse(s.get("status").asText()),
            s.get("since").asLong(),
            s.get("pendingSince").asLong(),
            s.get("rearmAfterRecovery").asBoolean(),
            s.get("ackUntil").asLong());
    return new Alert(
        o.get("id").asText(),
        rule,
        o.get("createdAtMs").asLong(),
        o.get("updatedAtMs").asLong(),
        state,
        o.get("triggeredAtMs").asLong(),
        o.get("resolvedAtMs").asLong(),
        o.hasNonNull("acknowledgedBy") ? o.get("acknowledgedBy").asText() : null,
        o.get("acknowledgedAtMs").asLong(),
        o.hasNonNull("comment") ? o.get("comment").asText() : null,
        number(o, "value"),
        -1,
        o.get("transitions").asLong());
  }

  static byte[] stored(Transition t) {
    ObjectNode o = toApi(t);
    o.put("atMs", t.at());
    return bytes(o);
  }

  static Transition readTransition(byte[] bytes) {
    JsonNode o = tree(bytes);
    return new Transition(
        AlertStatus.parse(o.get("from").asText()),
        AlertStatus.parse(o.get("to").asText()),
        o.get("atMs").asLong(),
        number(o, "value"),
        o.get("reason").asText(),
        o.get("actor").asText(),
        o.hasNonNull("comment") ? o.get("comment").asText() : null);
  }

  static JsonNode tree(byte[] bytes) {
    try {
      return MAPPER.readTree(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] bytes(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void putTime(ObjectNode o, String name, long millis) {
    if (millis < 0) {
      o.putNull(name);
    } else {
      o.put(name, Timestamps.format(millis));
    }
  }

  /** Infinite values (a rise from zero) are written as strings: JSON has no infinity. */
  private static void putNumber(ObjectNode o, String name, Double value) {
    if (value == null) {
      o.putNull(name);
    } else if (value.isInfinite()) {
      o.put(name, value > 0 ? "Infinity" : "-Infinity");
    } else {
      o.put(name, value);
    }
  }

  private static Double number(JsonNode o, String name) {
    JsonNode n = o.get(name);
    if (n == null || n.isNull()) {
      return null;
    }
    return n.isTextual() ? Double.parseDouble(n.asText()) : n.asDouble();
  }
}
