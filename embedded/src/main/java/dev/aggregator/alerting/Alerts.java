package dev.aggregator.alerting;

import dev.aggregator.aggregation.Catalog;
import dev.aggregator.aggregation.Durations;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.query.EventsUnavailableException;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
  private static final SecureRandom IDS = new SecureRandom();

  private final AlertStore store;
  private final EvaluationQueue queue;
  private final WindowEvaluator windows;
  private final Function<String, Catalog.MetricRef> metrics;
  private final LongSupplier clock;
  private final AlertRuleParser parser;
  private final AlertNotifier notifier;
  private final int maxAlerts;

  private final Map<String, Alert> alerts = new LinkedHashMap<>(); // guarded by this
  private final Thread evaluator;
  private volatile boolean closed;
  private volatile int ruleCount;

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
    this.notifier = new AlertNotifier(webhooks, this.store);
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
    owed.forEach(notifier::deliver);
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
    notifier.addListener(listener);
  }

  /** Parses API bodies into the rules and status changes this takes (the server calls it). */
  public AlertRuleParser parser() {
    return parser;
  }

  public void register(PrometheusRegistry registry) {
    notifier.register(registry);
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
  public Alert create(AlertRule rule) throws InvalidRuleException {
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
   * Replaces a rule ({@link AlertRuleParser#edit} of its current one); its state carries on.
   *
   * @return the alert after the change, or null if there is no such alert
   */
  public Alert edit(String id, AlertRule rule) throws InvalidRuleException {
    checkAgainstCatalog(rule);
    Alert edited;
    synchronized (this) {
      Alert current = alerts.get(id);
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

  /**
   * Moves an alert through its lifecycle.
   *
   * @return the alert after the change, or null if there is no such alert
   * @throws IllegalTransitionException when the lifecycle does not allow the move (a 409)
   */
  public Alert act(String id, StatusChange change) {
    String actor = change.by() == null ? "api" : change.by();
    List<Runnable> notifications = new ArrayList<>();
    Alert next;
    synchronized (this) {
      Alert current = alerts.get(id);
      if (current == null) {
        return null;
      }
      long now = clock.getAsLong();
      AlertStateMachine.Step step =
          AlertStateMachine.request(
              current.state(),
              change.target(),
              actor,
              change.comment(),
              now,
              change.expiresInMillis());
      next = current.after(step, actor, change.comment(), null, now);
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
      } catch (EventsUnavailableException e) {
        // Judged on part of the events it could fire or resolve wrongly: it waits, as it is.
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
    AlertNotifier.Plan plan = notifier.plan(next, transitions);
    store.write(next, transitions, plan.deliveries());
    alerts.put(next.id(), next);
    notifier.stored(next, transitions, plan, notifications);
  }

  /** Webhook deliveries owed and not finished yet (in the outbox). */
  public int pendingDeliveries() {
    return notifier.pendingDeliveries();
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
    notifier.close(); // deliveries still retrying stay in the outbox for the next start
  }
}
