package dev.aggregator.alerting;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who hears of an alert's transitions: the webhook deliveries each one owes (planned before the
 * transition is stored, so they go into the outbox in the same batch), WebSocket listeners, the log
 * and the transition metrics. {@link Alerts} decides transitions; this tells.
 */
final class AlertNotifier {
  private static final Logger LOG = LoggerFactory.getLogger(AlertNotifier.class);
  private static final Set<AlertStatus> NOTIFIED_BY_WEBHOOK =
      Set.of(AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED);

  private final WebhookSender webhooks;
  private final AlertStore store;
  private final List<Consumer<byte[]>> listeners = new CopyOnWriteArrayList<>();
  private final AtomicInteger pendingDeliveries = new AtomicInteger();
  private volatile boolean closed;

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

  AlertNotifier(WebhookSender webhooks, AlertStore store) {
    this.webhooks = webhooks;
    this.store = store;
  }

  void register(PrometheusRegistry registry) {
    registry.register(transitionsTotal);
    registry.register(deliveries);
  }

  void addListener(Consumer<byte[]> listener) {
    listeners.add(listener);
  }

  /**
   * What {@code transitions} (the last of {@code next}'s) owe: one message each, and a webhook
   * delivery per webhook target of those that notify by webhook, with ids stable across restarts.
   */
  record Plan(List<byte[]> messages, List<WebhookDelivery> deliveries) {}

  Plan plan(Alert next, List<Transition> transitions) {
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
    return new Plan(messages, owed);
  }

  /**
   * Logs and counts stored transitions, and adds to {@code later} what to send once the caller has
   * released its lock: the listeners' messages and the webhook deliveries.
   */
  void stored(Alert next, List<Transition> transitions, Plan plan, List<Runnable> later) {
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
        byte[] message = plan.messages().get(k);
        later.add(() -> listeners.forEach(l -> l.accept(message)));
      }
    }
    for (WebhookDelivery d : plan.deliveries()) {
      later.add(() -> deliver(d));
    }
  }

  /** Webhook deliveries owed and not finished yet (in the outbox). */
  int pendingDeliveries() {
    return pendingDeliveries.get();
  }

  /** Sends {@code d}; it leaves the outbox once delivered or its retries are spent. */
  void deliver(WebhookDelivery d) {
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

  /** Stops clearing the outbox; deliveries still retrying stay in it for the next start. */
  void close() {
    closed = true;
    webhooks.close();
  }
}
