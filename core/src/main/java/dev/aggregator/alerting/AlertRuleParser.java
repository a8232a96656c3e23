package dev.aggregator.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aggregator.aggregation.Durations;
import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.QueryParser;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a rule from the API's JSON, checking every field and reporting every problem at once.
 *
 * <p>Fields: {@code name, metric, condition, threshold} (the seed's), and {@code function} (default
 * {@code sum}, as in queries), {@code filter} (a string or a list, as the query's {@code filter}),
 * {@code window} (default {@code 5m}), {@code for} (default {@code 0s}), {@code recoveryThreshold},
 * {@code severity} ({@code info, warning, critical}; default {@code warning}) and {@code notify}
 * (default {@code [{"type":"websocket"}]}). An edit names only the fields it changes.
 */
public final class AlertRuleParser {
  static final Set<String> FIELDS =
      Set.of(
          "name",
          "metric",
          "function",
          "filter",
          "window",
          "condition",
          "threshold",
          "recoveryThreshold",
          "for",
          "severity",
          "notify");
  static final int MAX_NAME = 200;
  static final int MAX_TARGETS = 8;
  static final int MAX_SECRET = 256;
  static final Duration MAX_WINDOW = Duration.ofDays(7);
  private static final Pattern METRIC = Pattern.compile("[A-Za-z0-9_.:-]{1,300}");

  private final WebhookPolicy policy;
  private final Granularity finest;
  private final Granularity finestFull;

  /**
   * @param tiers the engine's rollup tiers: a window is read from them, so it must be made of whole
   *     buckets of the finest one that can answer the rule
   */
  public AlertRuleParser(WebhookPolicy policy, List<Tier> tiers) {
    this.policy = policy;
    this.finest = tiers.get(0).resolution();
    this.finestFull =
        tiers.stream().filter(t -> !t.totalsOnly()).findFirst().orElseThrow().resolution();
  }

  /** A new rule: {@code name, metric, condition} and (but for {@code absent}) a threshold. */
  public AlertRule create(JsonNode body) throws InvalidRuleException {
    return parse(body, null);
  }

  /** {@code base} with the fields {@code body} names changed. */
  public AlertRule edit(AlertRule base, JsonNode body) throws InvalidRuleException {
    return parse(body, base);
  }

  /** Longest {@code by} of a status change. */
  static final int MAX_ACTOR = 200;

  /** Longest {@code comment} of a status change. */
  static final int MAX_COMMENT = 2_000;

  /** Whether a {@code PUT} body asks for a status change rather than a rule edit. */
  public static boolean isStatusChange(JsonNode body) {
    return body != null && body.has("status");
  }

  /**
   * A status change: {@code {"status":"acknowledged","by":"...","comment":"...","expiresIn":"1h"}}
   * (only {@code status} required; {@code expiresIn} for {@code acknowledged} only).
   *
   * @throws InvalidRuleException with every problem of the body
   */
  public StatusChange statusChange(JsonNode body) throws InvalidRuleException {
    List<InvalidRuleException.Problem> problems = new ArrayList<>();
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!Set.of("status", "by", "comment", "expiresIn").contains(f)) {
        problems.add(
            problem(
                f,
                "a status change takes status, by, comment and expiresIn; change the rule's "
                    + f
                    + " in a request of its own"));
      }
    }
    AlertStatus target = null;
    try {
      target = AlertStatus.parse(body.path("status").asText(""));
    } catch (IllegalArgumentException e) {
      problems.add(problem("status", e.getMessage()));
    }
    String by = optionalText(body, "by", MAX_ACTOR, problems);
    String comment = optionalText(body, "comment", MAX_COMMENT, problems);
    long expiresIn = -1;
    if (body.hasNonNull("expiresIn")) {
      try {
        expiresIn = Durations.parse(body.get("expiresIn").asText()).toMillis();
        if (target != AlertStatus.ACKNOWLEDGED) {
          problems.add(problem("expiresIn", "expiresIn applies to acknowledged only"));
        }
      } catch (IllegalArgumentException e) {
        problems.add(problem("expiresIn", e.getMessage()));
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidRuleException(problems);
    }
    return new StatusChange(target, by, comment, expiresIn);
  }

  private static String optionalText(
      JsonNode body, String field, int max, List<InvalidRuleException.Problem> problems) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual() || n.asText().length() > max) {
      problems.add(problem(field, field + " must be a string of at most " + max + " chars"));
      return null;
    }
    return n.asText();
  }

  private AlertRule parse(JsonNode body, AlertRule base) throws InvalidRuleException {
    List<InvalidRuleException.Problem> problems = new ArrayList<>();
    if (body == null || !body.isObject()) {
      throw new InvalidRuleException(
          List.of(new InvalidRuleException.Problem(null, "the body must be a JSON object")));
    }
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f)) {
        problems.add(
            problem(f, "unknown field '" + f + "'; a rule has " + String.join(", ", sorted())));
      }
    }
    Fields in = new Fields(body, base == null, problems);

    String name = in.text("name", base == null ? null : base.name(), true);
    if (name != null && (name.isBlank() || name.length() > MAX_NAME)) {
      problems.add(problem("name", "name must have 1 to " + MAX_NAME + " characters"));
    }
    String metric = in.text("metric", base == null ? null : base.metric(), true);
    if (metric != null && !METRIC.matcher(metric).matches()) {
      problems.add(
          problem(
              "metric",
              "metric '" + metric + "' is not a metric name (e.g. page_view_count, order_amount)"));
    }
    String fnText = in.text("function", base == null ? "sum" : base.function().label(), false);
    AggregateFunction function = fnText == null ? null : AggregateFunction.parse(fnText);
    if (fnText != null && function == null) {
      problems.add(
          problem(
              "function",
              "unknown function '" + fnText + "'; use one of " + AggregateFunction.labels()));
    }
    Map<String, List<String>> filters = filters(body, base, problems);
    Condition condition = null;
    String conditionText =
        in.text("condition", base == null ? null : base.condition().wire(), true);
    if (conditionText != null) {
      try {
        condition = Condition.parse(conditionText);
      } catch (IllegalArgumentException e) {
        problems.add(problem("condition", e.getMessage()));
      }
    }
    Double threshold = in.number("threshold", base == null ? null : base.threshold());
    if (condition != null
        && condition.needsThreshold()
        && threshold == null
        && !in.bad("threshold")) {
      problems.add(problem("threshold", "threshold is required for condition " + condition.wire()));
    }
    Double recovery =
        in.number("recoveryThreshold", base == null ? null : base.recoveryThreshold());
    if (recovery != null && condition != null && threshold != null) {
      int side = condition.recoverySide(threshold);
      if (side == 0) {
        problems.add(
            problem(
                "recoveryThreshold",
                "recoveryThreshold applies to greater_*, less_* and rate_of_change conditions,"
                    + " not "
                    + condition.wire()));
      } else if (side < 0 ? recovery > threshold : recovery < threshold) {
        problems.add(
            problem(
                "recoveryThreshold",
                "recoveryThreshold "
                    + recovery
                    + " must be "
                    + (side < 0 ? "at or below" : "at or above")
                    + " the threshold "
                    + threshold
                    + ": an alert firing on "
                    + (side < 0 ? "high" : "low")
                    + " values recovers once the value is back past it"));
      }
    }
    Duration window = in.duration("window", base == null ? Duration.ofMinutes(5) : base.window());
    Duration forDuration = in.duration("for", base == null ? Duration.ZERO : base.forDuration());
    if (forDuration != null && forDuration.compareTo(MAX_WINDOW) > 0) {
      problems.add(problem("for", "for must be at most 7d"));
    }
    Severity severity = null;
    String severityText =
        in.text("severity", base == null ? "warning" : base.severity().wire(), false);
    if (severityText != null) {
      try {
        severity = Severity.parse(severityText);
      } catch (IllegalArgumentException e) {
        problems.add(problem("severity", e.getMessage()));
      }
    }
    List<NotifyTarget> notify = notify(body, base, problems);

    if (window != null && function != null && filters != null) {
      checkWindow(window, !filters.isEmpty() || function.needsSketch(), problems);
    }
    if (!problems.isEmpty()) {
      throw new InvalidRuleException(problems);
    }
    return new AlertRule(
        name.strip(),
        metric,
        function,
        filters,
        window,
        condition,
        condition.needsThreshold() ? threshold : null,
        recovery,
        forDuration,
        severity,
        notify);
  }

  private void checkWindow(
      Duration window, boolean needsFull, List<InvalidRuleException.Problem> problems) {
    Granularity res = needsFull ? finestFull : finest;
    long ms = window.toMillis();
    if (ms <= 0 || window.compareTo(MAX_WINDOW) > 0) {
      problems.add(problem("window", "window must be between 1s and 7d"));
    } else if (ms % res.millis() != 0) {
      problems.add(
          problem(
              "window",
              "window "
                  + Durations.format(window)
                  + " is not a whole number of "
                  + res.label()
                  + " buckets"
                  + (needsFull
                      ? " (rules with filters, percentiles or unique_users read the "
                          + res.label()
                          + " rollups)"
                      : "")));
    }
  }

  private static Map<String, List<String>> filters(
      JsonNode body, AlertRule base, List<InvalidRuleException.Problem> problems) {
    JsonNode f = body.get("filter");
    if (f == null) {
      return base == null ? Map.of() : base.filters();
    }
    List<String> specs = new ArrayList<>();
    if (f.isTextual()) {
      specs.add(f.asText());
    } else if (f.isArray()) {
      for (JsonNode s : f) {
        if (!s.isTextual()) {
          problems.add(problem("filter", "filter must be a string or a list of strings"));
          return null;
        }
        specs.add(s.asText());
      }
    } else if (!f.isNull()) {
      problems.add(problem("filter", "filter must be a string or a list of strings"));
      return null;
    }
    try {
      return QueryParser.filters(specs);
    } catch (InvalidQueryException e) {
      problems.add(problem("filter", e.getMessage()));
      return null;
    }
  }

  private List<NotifyTarget> notify(
      JsonNode body, AlertRule base, List<InvalidRuleException.Problem> problems) {
    JsonNode n = body.get("notify");
    if (n == null) {
      return base == null ? List.of(NotifyTarget.websocket()) : base.targets();
    }
    if (n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      problems.add(problem("notify", "notify must be a list of targets"));
      return null;
    }
    if (n.size() > MAX_TARGETS) {
      problems.add(problem("notify", "at most " + MAX_TARGETS + " notify targets"));
      return null;
    }
    List<NotifyTarget> targets = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      JsonNode t = n.get(i);
      String at = "notify[" + i + "]";
      String type = t.isObject() && t.path("type").isTextual() ? t.get("type").asText() : null;
      if ("websocket".equals(type)) {
        targets.add(NotifyTarget.websocket());
      } else if ("webhook".equals(type)) {
        JsonNode url = t.get("url");
        JsonNode secret = t.get("secret");
        String secretText = null;
        if (secret != null && !secret.isNull()) {
          if (!secret.isTextual() || secret.asText().isEmpty()) {
            problems.add(problem(at + ".secret", "secret must be a non-empty string"));
          } else if (secret.asText().length() > MAX_SECRET) {
            problems.add(
                problem(at + ".secret", "secret is longer than " + MAX_SECRET + " characters"));
          } else {
            secretText = secret.asText();
          }
        }
        if (url == null || !url.isTextual()) {
          problems.add(problem(at + ".url", "a webhook needs a url"));
          continue;
        }
        try {
          targets.add(NotifyTarget.webhook(policy.check(url.asText()), secretText));
        } catch (IllegalArgumentException e) {
          problems.add(problem(at + ".url", e.getMessage()));
        }
      } else {
        problems.add(
            problem(
                at + ".type",
                "a notify target is {\"type\":\"webhook\",\"url\":...} or"
                    + " {\"type\":\"websocket\"}"));
      }
    }
    return List.copyOf(targets);
  }

  private static List<String> sorted() {
    return FIELDS.stream().sorted().toList();
  }

  static InvalidRuleException.Problem problem(String field, String message) {
    return new InvalidRuleException.Problem(field, message);
  }

  /** Reads typed fields, falling back to the base rule's, collecting problems. */
  private static final class Fields {
    private final JsonNode body;
    private final boolean creating;
    private final List<InvalidRuleException.Problem> problems;
    private final java.util.Set<String> bad = new java.util.HashSet<>();

    Fields(JsonNode body, boolean creating, List<InvalidRuleException.Problem> problems) {
      this.body = body;
      this.creating = creating;
      this.problems = problems;
    }

    boolean bad(String field) {
      return bad.contains(field);
    }

    String text(String field, String fallback, boolean required) {
      JsonNode n = body.get(field);
      if (n == null || (n.isNull() && !required)) {
        if (fallback == null && required && creating) {
          fail(field, field + " is required");
        }
        return fallback;
      }
      if (!n.isTextual()) {
        fail(field, field + " must be a string");
        return null;
      }
      return n.asText();
    }

    Double number(String field, Double fallback) {
      JsonNode n = body.get(field);
      if (n == null) {
        return fallback;
      }
      if (n.isNull()) {
        return null;
      }
      if (!n.isNumber()) {
        fail(field, field + " must be a number");
        return null;
      }
      double v = n.asDouble();
      if (!Double.isFinite(v)) {
        fail(field, field + " must be a finite number");
        return null;
      }
      return v;
    }

    Duration duration(String field, Duration fallback) {
      JsonNode n = body.get(field);
      if (n == null) {
        return fallback;
      }
      if (!n.isTextual()) {
        fail(field, field + " must be a duration such as 30s, 5m or 1h");
        return null;
      }
      try {
        return Durations.parse(n.asText());
      } catch (IllegalArgumentException e) {
        fail(field, e.getMessage());
        return null;
      }
    }

    private void fail(String field, String message) {
      bad.add(field);
      problems.add(problem(field, message));
    }
  }
}
