package dev.aggregator.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.aggregator.Aggregator;
import dev.aggregator.EngineConfig;
import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.testing.TestEvents;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Alerts over the real engine: events go through the pipeline into the rollups, rules read their
 * windows from there, state and history go to the store and come back after a restart. The clock is
 * the test's, so windows and {@code for} durations are exact.
 */
class AlertsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long T0 = Timestamps.parseRfc3339("2026-06-01T12:00:30Z");

  @TempDir Path dir;
  private final AtomicLong now = new AtomicLong(T0);
  private Aggregator agg;
  private HttpServer receiver;

  @AfterEach
  void stop() {
    if (agg != null) {
      agg.close();
    }
    if (receiver != null) {
      receiver.stop(0);
    }
  }

  private Aggregator open(EngineConfig config) throws Exception {
    agg = Aggregator.open(config, now::get);
    return agg;
  }

  private Aggregator open() throws Exception {
    return open(EngineConfig.defaults(dir));
  }

  private void restart() throws Exception {
    EngineConfig config = agg.config();
    agg.close();
    agg = null;
    open(config);
  }

  private void ingest(Event... events) {
    agg.pipeline().submit(List.of(events)).join();
    long target = agg.log().nextSequence() - 1;
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (agg.runner().appliedUpTo() < target && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
  }

  private static Event event(String type, long at, double value) {
    return TestEvents.event(type).at(at).user("u" + (long) value).prop("ms", value).build();
  }

  private Alert create(String json) throws Exception {
    return agg.alerts().create(agg.alerts().parser().create(JSON.readTree(json)));
  }

  private Alert put(String id, String json) throws Exception {
    JsonNode body = JSON.readTree(json);
    Alerts alerts = agg.alerts();
    if (AlertRuleParser.isStatusChange(body)) {
      return alerts.act(id, alerts.parser().statusChange(body));
    }
    Alert current = alerts.get(id);
    return current == null ? null : alerts.edit(id, alerts.parser().edit(current.rule(), body));
  }

  private AlertStatus evaluate(String id) {
    agg.alerts().evaluateAll();
    return agg.alerts().get(id).status();
  }

  private List<String> path(String id) {
    List<String> steps = new ArrayList<>();
    for (Transition t : agg.alerts().history(id)) {
      steps.add(t.from().wire() + ">" + t.to().wire());
    }
    return steps;
  }

  @Test
  void triggersIsAcknowledgedAndResolvesAcrossARestart() throws Exception {
    open();
    Alert a =
        create(
            "{\"name\":\"errors\",\"metric\":\"error_count\",\"condition\":\"greater_than\","
                + "\"threshold\":2,\"window\":\"1m\"}");
    assertThat(a.status()).isEqualTo(AlertStatus.ACTIVE);
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.NORMAL);

    ingest(event("error", T0 - 10_000, 1), event("error", T0 - 5_000, 2));
    assertThat(evaluate(a.id())).as("2 errors are not more than 2").isEqualTo(AlertStatus.NORMAL);
    ingest(event("error", T0 - 1_000, 3));
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.TRIGGERED);
    assertThat(agg.alerts().get(a.id()).value()).isEqualTo(3.0);
    assertThat(agg.alerts().get(a.id()).triggeredAt()).isEqualTo(T0);

    now.addAndGet(1_000);
    Alert acked = put(a.id(), "{\"status\":\"acknowledged\",\"by\":\"ana\",\"comment\":\"on it\"}");
    assertThat(acked.status()).isEqualTo(AlertStatus.ACKNOWLEDGED);
    assertThat(acked.acknowledgedBy()).isEqualTo("ana");
    assertThatThrownBy(() -> put(a.id(), "{\"status\":\"active\"}"))
        .isInstanceOf(IllegalTransitionException.class)
        .hasMessageContaining("allowed from acknowledged: triggered, resolved");

    restart();
    Alert back = agg.alerts().get(a.id());
    assertThat(back.status())
        .as("the state survives a restart")
        .isEqualTo(AlertStatus.ACKNOWLEDGED);
    assertThat(back.acknowledgedBy()).isEqualTo("ana");
    assertThat(back.rule()).isEqualTo(a.rule());
    assertThat(evaluate(a.id()))
        .as("still breached: stays acknowledged")
        .isEqualTo(AlertStatus.ACKNOWLEDGED);

    now.addAndGet(120_000); // the errors leave the 1-minute window
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.RESOLVED);
    assertThat(path(a.id()))
        .containsExactly(
            "active>evaluating",
            "evaluating>normal",
            "normal>active",
            "active>evaluating",
            "evaluating>triggered",
            "triggered>acknowledged",
            "acknowledged>resolved");
    Transition ack = agg.alerts().history(a.id()).get(5);
    assertThat(ack.actor()).isEqualTo("ana");
    assertThat(ack.comment()).isEqualTo("on it");
    assertThat(agg.alerts().history(a.id()).get(4).value()).isEqualTo(3.0);
  }

  @Test
  void forKeepsABreachPendingAndTheRecoveryThresholdStopsFlapping() throws Exception {
    open();
    Alert a =
        create(
            "{\"name\":\"slow checkout\",\"metric\":\"checkout_ms\",\"function\":\"avg\","
                + "\"condition\":\"greater_than\",\"threshold\":500,\"recoveryThreshold\":400,"
                + "\"for\":\"30s\",\"window\":\"5m\"}");
    ingest(event("checkout", T0 - 10_000, 600), event("checkout", T0 - 9_000, 600));
    assertThat(evaluate(a.id())).as("breached, pending for 30s").isEqualTo(AlertStatus.EVALUATING);
    now.addAndGet(29_000);
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.EVALUATING);
    now.addAndGet(1_000);
    assertThat(evaluate(a.id())).as("held for 30s").isEqualTo(AlertStatus.TRIGGERED);

    ingest(event("checkout", T0, 300), event("checkout", T0, 300)); // avg 450
    assertThat(evaluate(a.id()))
        .as("450 is under the threshold but not under the recovery threshold")
        .isEqualTo(AlertStatus.TRIGGERED);
    assertThat(agg.alerts().get(a.id()).value()).isEqualTo(450.0);
    ingest(event("checkout", T0, 100), event("checkout", T0, 100)); // avg 350
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.RESOLVED);
  }

  @Test
  void aLateEventThatChangesTheWindowIsSeen() throws Exception {
    open();
    Alert a =
        create(
            "{\"name\":\"refunds\",\"metric\":\"refund_amount\",\"condition\":"
                + "\"greater_or_equal\",\"threshold\":100,\"window\":\"10m\"}");
    ingest(TestEvents.event("refund").at(T0).prop("amount", 60).build());
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.NORMAL);
    ingest(TestEvents.event("refund").at(T0 - 4 * 60_000).prop("amount", 40).build()); // 4 min late
    assertThat(agg.lifecycle().snapshot()).containsEntry("late", 1L);
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.TRIGGERED);
    assertThat(agg.alerts().get(a.id()).value()).isEqualTo(100.0);
  }

  @Test
  void absentFiresWhenASourceStopsSending() throws Exception {
    open();
    Alert a =
        create(
            "{\"name\":\"no heartbeat\",\"metric\":\"heartbeat\",\"condition\":\"absent\","
                + "\"window\":\"1m\",\"filter\":\"source:billing\"}");
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.TRIGGERED);
    ingest(TestEvents.event("heartbeat").at(T0 - 1_000).source("crm").build());
    assertThat(evaluate(a.id())).as("another source's heartbeat").isEqualTo(AlertStatus.TRIGGERED);
    ingest(TestEvents.event("heartbeat").at(T0 - 1_000).source("billing").build());
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.RESOLVED);
  }

  @Test
  void rateOfChangeComparesWithThePreviousWindow() throws Exception {
    open();
    Alert a =
        create(
            "{\"name\":\"signups halved\",\"metric\":\"signup_count\","
                + "\"condition\":\"rate_of_change\",\"threshold\":-50,\"window\":\"1m\"}");
    for (int i = 0; i < 10; i++) {
      ingest(event("signup", T0 - 70_000 + i, i)); // the previous minute
    }
    ingest(event("signup", T0 - 10_000, 1), event("signup", T0 - 9_000, 2));
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.TRIGGERED);
    assertThat(agg.alerts().get(a.id()).value()).as("10 → 2: -80 %").isEqualTo(-80.0);
  }

  @Test
  void percentilesWithFiltersReadTheMinuteTier() throws Exception {
    open();
    Alert a =
        create(
            "{\"name\":\"p95 DE\",\"metric\":\"checkout_ms\",\"function\":\"p95\","
                + "\"filter\":[\"country:DE\"],\"condition\":\"greater_or_equal\",\"threshold\":900,"
                + "\"window\":\"5m\"}");
    List<Event> events = new ArrayList<>();
    for (int i = 1; i <= 100; i++) {
      events.add(
          TestEvents.event("checkout")
              .at(T0 - 60_000)
              .prop("country", "DE")
              .prop("ms", i * 10)
              .build());
      events.add(
          TestEvents.event("checkout").at(T0 - 60_000).prop("country", "FR").prop("ms", 5).build());
    }
    ingest(events.toArray(Event[]::new));
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.TRIGGERED);
    assertThat(agg.alerts().get(a.id()).value()).isBetween(940.0, 970.0);
  }

  @Test
  void refusesBadRulesWithEveryProblemNamed() throws Exception {
    open();
    assertThatThrownBy(
            () ->
                create(
                    "{\"name\":\"x\",\"metric\":\"m\",\"condition\":\"bigger\",\"threshold\":1e999,"
                        + "\"window\":\"5 minutes\",\"severity\":\"loud\",\"colour\":1}"))
        .isInstanceOfSatisfying(
            InvalidRuleException.class,
            e ->
                assertThat(e.problems())
                    .extracting(InvalidRuleException.Problem::field)
                    .containsExactlyInAnyOrder(
                        "colour", "condition", "threshold", "window", "severity"));
    assertThatThrownBy(
            () ->
                create(
                    "{\"name\":\"x\",\"metric\":\"m\",\"condition\":\"greater_than\","
                        + "\"threshold\":1,\"notify\":[{\"type\":\"webhook\","
                        + "\"url\":\"http://127.0.0.1:9/hook\"}]}"))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("webhookAllow");
    assertThatThrownBy(
            () ->
                create(
                    "{\"name\":\"x\",\"metric\":\"m\",\"condition\":\"greater_than\","
                        + "\"threshold\":1,\"recoveryThreshold\":2}"))
        .hasMessageContaining("at or below the threshold");
    assertThatThrownBy(
            () ->
                create(
                    "{\"name\":\"x\",\"metric\":\"m\",\"function\":\"p95\",\"condition\":"
                        + "\"greater_than\",\"threshold\":1,\"window\":\"90s\"}"))
        .hasMessageContaining("whole number of 1m buckets");
    ingest(event("error", T0, 1));
    assertThatThrownBy(
            () ->
                create(
                    "{\"name\":\"x\",\"metric\":\"error_count\",\"function\":\"p95\","
                        + "\"condition\":\"greater_than\",\"threshold\":1}"))
        .hasMessageContaining("counts events");
    assertThat(agg.alerts().list(Set.of())).isEmpty();
  }

  @Test
  void webhooksAreSignedRetriedAndRedeliveredAfterARestart() throws Exception {
    BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
    List<String> deliveryIds = new java.util.concurrent.CopyOnWriteArrayList<>();
    AtomicInteger failuresLeft = new AtomicInteger(2);
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext(
        "/hook",
        exchange -> {
          byte[] body = exchange.getRequestBody().readAllBytes();
          boolean fail = failuresLeft.getAndDecrement() > 0;
          if (!fail) {
            assertThat(exchange.getRequestHeaders().getFirst("X-Aggregator-Signature"))
                .isEqualTo(WebhookSender.signature("s3cret", body));
            deliveryIds.add(exchange.getRequestHeaders().getFirst("X-Aggregator-Delivery"));
            received.add(JSON.readTree(body));
          }
          exchange.sendResponseHeaders(fail ? 503 : 204, -1);
          exchange.close();
        });
    receiver.start();
    String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
    open(EngineConfig.defaults(dir).withWebhookAllow("127.0.0.0/8"));
    Alert a =
        create(
            "{\"name\":\"errors\",\"metric\":\"error\",\"condition\":\"greater_than\","
                + "\"threshold\":0,\"window\":\"1m\",\"severity\":\"critical\",\"notify\":"
                + "[{\"type\":\"webhook\",\"url\":\""
                + url
                + "\",\"secret\":\"s3cret\"}]}");
    ingest(event("error", T0, 1));
    assertThat(evaluate(a.id())).isEqualTo(AlertStatus.TRIGGERED);

    JsonNode triggered = received.poll(20, TimeUnit.SECONDS);
    assertThat(triggered).as("delivered after two 503s").isNotNull();
    assertThat(triggered.get("event").asText()).isEqualTo("triggered");
    assertThat(triggered.get("alert").get("id").asText()).isEqualTo(a.id());
    assertThat(triggered.get("alert").get("severity").asText()).isEqualTo("critical");
    assertThat(triggered.get("transition").get("value").asDouble()).isEqualTo(1.0);
    assertThat(triggered.get("alert").get("notify").get(0).has("secret")).isFalse();

    // A delivery the server could not finish before stopping is sent after the restart.
    failuresLeft.set(1_000);
    put(a.id(), "{\"status\":\"resolved\"}");
    Thread.sleep(200); // the first attempt fails
    restart();
    failuresLeft.set(0);
    JsonNode resolved = received.poll(20, TimeUnit.SECONDS);
    assertThat(resolved).isNotNull();
    assertThat(resolved.get("event").asText()).isEqualTo("resolved");
    assertThat(deliveryIds).doesNotHaveDuplicates().hasSize(2);
    assertThat(received.poll(1, TimeUnit.SECONDS)).as("each transition once").isNull();
    String body = new String(JSON.writeValueAsBytes(resolved), StandardCharsets.UTF_8);
    assertThat(body).doesNotContain("s3cret");
  }
}
