package dev.aggregator.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aggregator.storage.MetaBatch;
import dev.aggregator.storage.MetadataStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Alerts in a {@link MetadataStore}, as JSON: {@code alert/a/<id>} the rule and its state, {@code
 * alert/h/<id>/<seq>} its transitions (the last {@value #HISTORY_KEPT}), {@code
 * alert/o/<deliveryId>} the webhook deliveries owed (the outbox). Every change is one fsynced
 * batch.
 */
final class AlertStore {
  static final String ALERT_KEY = "alert/a/";
  static final String HISTORY_KEY = "alert/h/";
  static final String OUTBOX_KEY = "alert/o/";

  /** Transitions kept per alert; older ones are dropped as new ones come. */
  static final int HISTORY_KEPT = 1_000;

  private final MetadataStore store;

  AlertStore(MetadataStore store) {
    this.store = store;
  }

  List<Alert> alerts() throws IOException {
    List<Alert> out = new ArrayList<>();
    for (byte[] stored : store.metaWithPrefix(ALERT_KEY).values()) {
      out.add(AlertJson.readStored(stored));
    }
    return out;
  }

  /** The deliveries a previous run owed and did not finish. */
  List<WebhookDelivery> outbox() throws IOException {
    List<WebhookDelivery> out = new ArrayList<>();
    for (byte[] stored : store.metaWithPrefix(OUTBOX_KEY).values()) {
      JsonNode o = AlertJson.tree(stored);
      out.add(
          new WebhookDelivery(
              o.get("deliveryId").asText(),
              URI.create(o.get("url").asText()),
              o.hasNonNull("secret") ? o.get("secret").asText() : null,
              o.get("body").binaryValue()));
    }
    return out;
  }

  /**
   * Stores the alert, its new transitions (the last of its {@code transitions()}; dropping what
   * falls out of the history) and the deliveries they owe, atomically and durably.
   */
  void write(Alert a, List<Transition> transitions, List<WebhookDelivery> deliveries) {
    try (MetaBatch batch = store.batch()) {
      batch.putMeta(ALERT_KEY + a.id(), AlertJson.stored(a));
      long seq = a.transitions() - transitions.size();
      for (Transition t : transitions) {
        batch.putMeta(historyKey(a.id(), seq), AlertJson.stored(t));
        if (seq >= HISTORY_KEPT) {
          batch.deleteMeta(historyKey(a.id(), seq - HISTORY_KEPT));
        }
        seq++;
      }
      for (WebhookDelivery d : deliveries) {
        ObjectNode o = AlertJson.MAPPER.createObjectNode();
        o.put("deliveryId", d.deliveryId());
        o.put("url", d.url().toString());
        if (d.secret() != null) {
          o.put("secret", d.secret());
        }
        o.put("body", d.body());
        batch.putMeta(OUTBOX_KEY + d.deliveryId(), AlertJson.bytes(o));
      }
      store.write(batch);
    } catch (IOException e) {
      throw new UncheckedIOException("storing alert " + a.id(), e);
    }
  }

  /** The alert's transitions, oldest first. */
  List<Transition> history(String id) {
    try {
      List<Transition> out = new ArrayList<>();
      for (byte[] stored : store.metaWithPrefix(HISTORY_KEY + id + "/").values()) {
        out.add(AlertJson.readTransition(stored));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("reading the history of alert " + id, e);
    }
  }

  /** Removes the alert and its history (deliveries it owes still go out). */
  void delete(String id) {
    try (MetaBatch batch = store.batch()) {
      batch.deleteMeta(ALERT_KEY + id);
      for (String key : store.metaWithPrefix(HISTORY_KEY + id + "/").keySet()) {
        batch.deleteMeta(key);
      }
      store.write(batch);
    } catch (IOException e) {
      throw new UncheckedIOException("deleting alert " + id, e);
    }
  }

  /** The delivery is done with (delivered, or its retries spent). */
  void finished(String deliveryId) throws IOException {
    try (MetaBatch batch = store.batch()) {
      batch.deleteMeta(OUTBOX_KEY + deliveryId);
      store.write(batch);
    }
  }

  private static String historyKey(String id, long seq) {
    return HISTORY_KEY + id + "/" + String.format("%016x", seq);
  }
}
