package dev.aggregator.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aggregator.aggregation.Catalog;
import dev.aggregator.aggregation.Durations;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.storage.MetadataStore;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The alert system: rules, their lifecycle, evaluation and notification.
 *
 * <p><b>Evaluation.</b> Each rule's value is {@code function(metric)} over its trailing event-time
 * window, read from the rollups like a query (the window's rows merged into one, so a p95 over 5
 * minutes is the p95 of those minutes' values). An evaluator thread re-evaluates a rule as soon as
 * events of its event type have been aggregated — late events included — and every rule once a
 * second (windows slide, {@code for} durations elapse and {@code absent} needs no event to fire).
 * It works in slices of {@value #PASS_BUDGET_MS} ms with {@value #MIN_PASS_GAP_MS} ms pauses, least
 * recently evaluated rule first.
 *
 * <p><b>Durability.</b> A rule, its state and every transition are written to the {@link
 * MetadataStore} in one fsynced batch before anyone hears of the transition, together with the
 * webhook deliveries it owes (an outbox). A restart, also after {@code kill -9}, finds each alert
 * in the state it was in and re-sends what the outbox still holds; a delivery leaves the outbox
 * once the receiver answered 2xx or its retries are spent. Every delivery carries an id ({@code
 * X-Aggregator-Delivery}) for the receiver to drop the one repeat a crash between its answer and
 * the outbox's update can cause.
 *
 * <p><b>Notification.</b> Webhooks hear of {@code triggered}, {@code acknowledged} and {@code
 * resolved}; WebSocket listeners and the log hear of every transition.
 */
public final class Alerts implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Alerts.class);

  /** How long one slice of evaluations may run before the evaluator pauses. */
  static final long PASS_BUDGET_MS = 20;

  static final long MIN_PASS_GAP_MS = 5;
  static final long FULL_PASS_MS = 1_000;
  static final int MAX_ACTOR = 200;
  static final int MAX_COMMENT = 2_000;
  private static final Set<AlertStatus> NOTIFIED_BY_WEBHOOK =
      Set.of(AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED);
  private static final SecureRandom IDS = new SecureRandom();

  private final AlertStore store;
  private final EvaluationQueue queue;
  private final WindowEvaluator windows;
  private final Function<String, Catalog.MetricRef> metrics;
  private final LongSupplier clock;
  private final AlertRuleParser parser;
  private final WebhookSender webhooks;
  private final int maxAlerts;

  private final Map<String, Alert> alerts = new LinkedHashMap<>(); // guarded by this
  private final List<Consumer<byte[]>> listeners = new CopyOnWriteArrayList<>();
  private final Thread evaluator;
  private volatile boolean closed;
  private final java.util.concurrent.atomic.AtomicInteger pendingDeliveries =
      new java.util.concurrent.atomic.AtomicInteger();
  private volatile int ruleCount;

  private final Counter transitionsTotal =
      Counter.builder()
          .name("aggregator_alert_transitions_total")
          .help("Alert transitions, by the state entered")
          .labelNames("to")
          .build();
  private final Counter deliveries =
      Counter.builder()
          .name("aggregator_alert_webhook_deliveries_total")
          .help("Webhook deliveries finished, by result (delivered, failed)")
          .labelNames("result")
          .build();
  private final Counter evaluationErrors =
      Counter.builder()
          .name("aggregator_alert_evaluation_errors_total")
          .help("Rule evaluations that could not read their window")
          .build();
  private final Histogram passSeconds =
      Histogram.builder()
          .name("aggregator_alert_pass_seconds")
          .help("Time one evaluation pass took")
          .build();

  /**
   * @param metrics resolves a metric name against the catalog (null when unknown yet), to refuse a
   *     percentile of an event count at once
   */
  public Alerts(
      MetadataStore store,
      QueryEngine queries,
      Function<String, Catalog.MetricRef> metrics,
      List<Tier> tiers,
      LongSupplier clock,
      WebhookPolicy policy,
      WebhookSender webhooks,
      int maxAlerts)
      throws IOException {
    this.store = new AlertStore(store);
    this.metrics = metrics;
    this.clock = clock;
    this.parser = new AlertRuleParser(policy, tiers);
    this.webhooks = webhooks;
    this.maxAlerts = maxAlerts;
    for (Alert a : this.store.alerts()) {
      alerts.put(a.id(), a);
    }
    this.ruleCount = alerts.size();
    this.windows = new WindowEvaluator(queries, tiers);
    this.queue = new EvaluationQueue(() -> list(Set.of()), this::get);
    this.evaluator = new Thread(this::run, "alert-evaluator");
    this.evaluator.setDaemon(true);
    List<WebhookDelivery> owed = this.store.outbox();
    owed.forEach(this::deliver);
    LOG.info(
        "{} alert rule(s) loaded{}",
        alerts.size(),
        owed.isEmpty()
            ? ""
            : "; re-sending " + owed.size() + " webhook delivery(ies) left unfinished");
  }

  /** Starts evaluating in the background. */
  public void start() {
    evaluator.start();
  }

  /** Hears of every transition of rules that notify WebSocket clients, as the message to send. */
  public void addListener(Consumer<byte[]> listener) {
    listeners.add(listener);
  }

  public void register(PrometheusRegistry registry) {
    registry.register(transitionsTotal);
    registry.register(deliveries);
    registry.register(evaluationErrors);
    registry.register(passSeconds);
    registry.register(queue.dataDelay);
    registry.register(
        GaugeWithCallback.builder()
            .name("aggregator_alerts")
            .help("Alert rules, by status")
            .labelNames("status")
            .callback(
                cb -> {
                  Map<AlertStatus, Integer> counts = counts();
                  for (AlertStatus s : AlertStatus.values()) {
                    cb.call(counts.getOrDefault(s, 0), s.wire());
                  }
                })
            .build());
  }

  // ---- the API --------------------------------------------------------------------------------

  /**
   * Creates a rule, {@code active} until its first evaluation, which follows at once.
   *
   * @throws InvalidRuleException with every problem of the body
   * @throws LimitException when {@code maxAlerts} rules exist
   */
  public Alert create(JsonNode body) throws InvalidRuleException {
    AlertRule rule = parser.create(body);
    checkAgainstCatalog(rule);
    Alert a;
    synchronized (this) {
      if (alerts.size() >= maxAlerts) {
        throw new LimitException(
            maxAlerts + " alert rules exist (maxAlerts); delete some or raise the limit");
      }
      String id;
      do {
        byte[] random = new byte[6];
        IDS.nextBytes(random);
        id = "al_" + HexFormat.of().formatHex(random);
      } while (alerts.containsKey(id));
      a = Alert.created(id, rule, clock.getAsLong());
      store.write(a, List.of(), List.of());
      alerts.put(id, a);
      ruleCount = alerts.size();
    }
    LOG.info("alert {} ({}) created: {}", a.id(), rule.name(), describe(rule));
    wake(a.id());
    return a;
  }

  /** The rules, oldest first, optionally only those in {@code statuses} (empty: all). */
  public synchronized List<Alert> list(Set<AlertStatus> statuses) {
    List<Alert> out = new ArrayList<>();
    for (Alert a : alerts.values()) {
      if (statuses.isEmpty() || statuses.contains(a.status())) {
        out.add(a);
      }
    }
    out.sort(Comparator.comparingLong(Alert::createdAt).thenComparing(Alert::id));
    return out;
  }

  public synchronized Alert get(String id) {
    return alerts.get(id);
  }

  /**
   * Changes a rule ({@code body} names the fields to change; its state carries on), or moves it
   * through its lifecycle ({@code {"status":"acknowledged","by":"...","comment":"...",
   * "expiresIn":"1h"}}, {@code {"status":"resolved"}}, ...).
   *
   * @return the alert after the change, or null if there is no such alert
   * @throws IllegalTransitionException when the lifecycle does not allow the move (a 409)
   */
  public Alert update(String id, JsonNode body) throws InvalidRuleException {
    if (body != null && body.has("status")) {
      return act(id, body);
    }
    Alert current = get(id);
    if (current == null) {
      return null;
    }
    AlertRule rule = parser.edit(current.rule(), body);
    checkAgainstCatalog(rule);
    Alert edited;
    synchronized (this) {
      current = alerts.get(id);
      if (current == null) {
        return null;
      }
      edited = current.withRule(rule, clock.getAsLong());
      store.write(edited, List.of(), List.of());
      alerts.put(id, edited);
    }
    LOG.info("alert {} ({}) edited: {}", id, rule.name(), describe(rule));
    wake(id);
    return edited;
  }

  /** Deletes a rule with its history; false if there was none. */
  public boolean delete(String id) {
    synchronized (this) {
      if (alerts.remove(id) == null) {
        return false;
      }
      ruleCount = alerts.size();
      queue.ruleDeleted(id);
      store.delete(id);
    }
    LOG.info("alert {} deleted", id);
    return true;
  }

  /**
   * The alert's transitions, oldest first (the last {@value AlertStore#HISTORY_KEPT}); null if no
   * alert.
   */
  public List<Transition> history(String id) {
    if (get(id) == null) {
      return null;
    }
    return store.history(id);
  }

  /** How many rules are in each status. */
  public synchronized Map<AlertStatus, Integer> counts() {
    Map<AlertStatus, Integer> counts = new LinkedHashMap<>();
    for (Alert a : alerts.values()) {
      counts.merge(a.status(), 1, Integer::sum);
    }
    return counts;
  }

  private Alert act(String id, JsonNode body) throws InvalidRuleException {
    List<InvalidRuleException.Problem> problems = new ArrayList<>();
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!Set.of("status", "by", "comment", "expiresIn").contains(f)) {
        problems.add(
            AlertRuleParser.problem(
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
      problems.add(AlertRuleParser.problem("status", e.getMessage()));
    }
    String by = optionalText(body, "by", MAX_ACTOR, problems);
    String comment = optionalText(body, "comment", MAX_COMMENT, problems);
    long expiresIn = -1;
    if (body.hasNonNull("expiresIn")) {
      try {
        expiresIn = Durations.parse(body.get("expiresIn").asText()).toMillis();
        if (target != AlertStatus.ACKNOWLEDGED) {
          problems.add(
              AlertRuleParser.problem("expiresIn", "expiresIn applies to acknowledged only"));
        }
      } catch (IllegalArgumentException e) {
        problems.add(AlertRuleParser.problem("expiresIn", e.getMessage()));
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidRuleException(problems);
    }
    String actor = by == null ? "api" : by;
    List<Runnable> notifications = new ArrayList<>();
    Alert next;
    synchronized (this) {
      Alert current = alerts.get(id);
      if (current == null) {
        return null;
      }
      long now = clock.getAsLong();
      AlertStateMachine.Step step =
          AlertStateMachine.request(current.state(), target, actor, comment, now, expiresIn);
      next = current.after(step, actor, comment, null, now);
      commit(next, step.transitions(), notifications);
    }
    notifications.forEach(Runnable::run);
    wake(id);
    return next;
  }

  // ---- evaluation -----------------------------------------------------------------------------

  /**
   * Tells the evaluator that events of these types have been aggregated; called on the aggregation
   * thread, so it only notes them.
   */
  public void typesChanged(Set<String> eventTypes) {
    if (ruleCount > 0 && !eventTypes.isEmpty()) {
      queue.typesChanged(eventTypes);
    }
  }

  /** Evaluates every rule now, on the calling thread (tests; the evaluator thread does it too). */
  public void evaluateAll() {
    evaluate(list(Set.of()));
  }

  private void wake(String id) {
    queue.ruleChanged(id);
  }

  private void run() {
    long nextSweep = System.nanoTime();
    while (!closed) {
      try {
        queue.await((nextSweep - System.nanoTime()) / 1_000_000);
        if (closed) {
          return;
        }
        long started = System.nanoTime();
        if (started - nextSweep >= 0) {
          queue.sweep(list(Set.of()).stream().map(Alert::id).toList());
          nextSweep = started + FULL_PASS_MS * 1_000_000;
        }
        evaluate(queue.nextSlice(started + PASS_BUDGET_MS * 1_000_000));
        passSeconds.observe((System.nanoTime() - started) / 1e9);
        Thread.sleep(MIN_PASS_GAP_MS); // leaves the cores to ingestion between slices
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.error("alert evaluation pass failed", e);
      }
    }
  }

  private void evaluate(Iterable<Alert> which) {
    List<Runnable> notifications = new ArrayList<>();
    for (Alert a : which) {
      queue.evaluating(a.id());
      long now = clock.getAsLong();
      Condition.Judgement j;
      try {
        j = windows.judge(a.rule(), now);
      } catch (InvalidQueryException e) {
        evaluationErrors.inc();
        LOG.debug("alert {} not evaluated: {}", a.id(), e.getMessage());
        continue;
      }
      synchronized (this) {
        Alert current = alerts.get(a.id());
        if (current == null || current.rule() != a.rule()) {
          continue; // deleted or edited meanwhile: the edit queued an evaluation of its own
        }
        AlertStateMachine.Step step =
            AlertStateMachine.evaluate(
                current.state(), j.verdict(), j.value(), now, a.rule().forDuration().toMillis());
        Alert next = current.after(step, null, null, j.value(), now);
        if (step.state().equals(current.state())) {
          alerts.put(next.id(), next); // only the last value changed: nothing to store
        } else {
          commit(next, step.transitions(), notifications);
        }
      }
    }
    notifications.forEach(Runnable::run);
  }

  // ---- storage and notification ---------------------------------------------------------------

  /** Stores the alert's new state with its transitions and their deliveries; caller holds lock. */
  private void commit(Alert next, List<Transition> transitions, List<Runnable> notifications) {
    List<WebhookDelivery> owed = new ArrayList<>();
    List<byte[]> messages = new ArrayList<>();
    long seq = next.transitions() - transitions.size();
    for (Transition t : transitions) {
      byte[] body = AlertJson.notification(next, t, seq);
      messages.add(body);
      if (NOTIFIED_BY_WEBHOOK.contains(t.to())) {
        List<NotifyTarget> targets = next.rule().targets();
        for (int i = 0; i < targets.size(); i++) {
          NotifyTarget target = targets.get(i);
          if (target.type() == NotifyTarget.Type.WEBHOOK) {
            String deliveryId = next.id() + "-" + seq + "-" + i;
            owed.add(new WebhookDelivery(deliveryId, target.url(), target.secret(), body));
          }
        }
      }
      seq++;
    }
    store.write(next, transitions, owed);
    alerts.put(next.id(), next);
    boolean toSockets =
        next.rule().targets().stream().anyMatch(t -> t.type() == NotifyTarget.Type.WEBSOCKET);
    for (int k = 0; k < transitions.size(); k++) {
      Transition t = transitions.get(k);
      transitionsTotal.labelValues(t.to().wire()).inc();
      LOG.info(
          "alert {} ({}) {} -> {}: {}{} by {}",
          next.id(),
          next.rule().name(),
          t.from().wire(),
          t.to().wire(),
          t.reason(),
          t.value() == null ? "" : " (value " + t.value() + ")",
          t.actor());
      if (toSockets) {
        byte[] message = messages.get(k);
        notifications.add(() -> listeners.forEach(l -> l.accept(message)));
      }
    }
    for (WebhookDelivery d : owed) {
      notifications.add(() -> deliver(d));
    }
  }

  /** Webhook deliveries owed and not finished yet (in the outbox). */
  public int pendingDeliveries() {
    return pendingDeliveries.get();
  }

  private void deliver(WebhookDelivery d) {
    pendingDeliveries.incrementAndGet();
    webhooks
        .send(d)
        .whenComplete(
            (result, error) -> {
              boolean ok = error == null && result.delivered();
              deliveries.labelValues(ok ? "delivered" : "failed").inc();
              if (closed) {
                return; // the store may be gone; the outbox keeps it for the next start
              }
              try {
                store.finished(d.deliveryId());
              } catch (IOException | RuntimeException e) {
                LOG.warn("could not clear delivered webhook {}: {}", d.deliveryId(), e.toString());
              } finally {
                pendingDeliveries.decrementAndGet();
              }
            });
  }

  private void checkAgainstCatalog(AlertRule rule) throws InvalidRuleException {
    Catalog.MetricRef ref = metrics.apply(rule.metric());
    if (ref != null && ref.isCount() && !rule.function().appliesToCount()) {
      throw new InvalidRuleException(
          List.of(
              AlertRuleParser.problem(
                  "function",
                  rule.metric()
                      + " counts events; use function count, sum or unique_users ("
                      + rule.function().label()
                      + " applies to numeric fields such as "
                      + ref.schema().name()
                      + "_value)")));
    }
  }

  private static String optionalText(
      JsonNode body, String field, int max, List<InvalidRuleException.Problem> problems) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual() || n.asText().length() > max) {
      problems.add(
          AlertRuleParser.problem(field, field + " must be a string of at most " + max + " chars"));
      return null;
    }
    return n.asText();
  }

  private static String describe(AlertRule r) {
    return r.function().label()
        + "("
        + r.metric()
        + (r.filters().isEmpty() ? "" : " " + r.filters())
        + ") over "
        + Durations.format(r.window())
        + " "
        + r.condition().wire()
        + (r.threshold() == null ? "" : " " + r.threshold())
        + (r.forDuration().isZero() ? "" : " for " + Durations.format(r.forDuration()));
  }

  /** A limit on the number of rules was reached. */
  public static final class LimitException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    LimitException(String message) {
      super(message);
    }
  }

  @Override
  public void close() {
    closed = true;
    evaluator.interrupt();
    try {
      evaluator.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    webhooks.close(); // deliveries still retrying stay in the outbox for the next start
  }
}
