package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /api/alerts} and the {@code alert} messages of {@code /ws/analytics}, on the real server.
 */
class AlertApiTest {
  private static final String RULE =
      "{\"name\":\"checkout errors\",\"metric\":\"checkout_error_count\",\"condition\":"
          + "\"greater_than\",\"threshold\":1,\"window\":\"5m\",\"severity\":\"critical\","
          + "\"notify\":[{\"type\":\"websocket\"}]}";

  @TempDir Path dir;
  private AggregatorServer server;
  private TestClient client;
  private final long now = System.currentTimeMillis();

  @BeforeEach
  void start() throws Exception {
    server = TestServers.start(dir);
    client = new TestClient(server.port());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private void error(int n) {
    client.postJson(
        "/api/events",
        "{\"eventType\":\"checkout_error\",\"userId\":\"u" + n + "\",\"timestamp\":" + now + "}");
  }

  private JsonNode awaitStatus(String id, String status) throws InterruptedException {
    JsonNode a = null;
    for (int i = 0; i < 1_000; i++) {
      a = client.get("/api/alerts/" + id).json();
      if (a.get("status").asText().equals(status)) {
        return a;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("not " + status + ": " + a);
  }

  @Test
  void theLifecycleThroughTheApiWithWebSocketMessages() throws Exception {
    WsClient ws = new WsClient(server.port(), true);

    TestClient.Reply created = client.postJson("/api/alerts", RULE);
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    JsonNode alert = created.json();
    String id = alert.get("id").asText();
    assertThat(alert.fieldNames())
        .toIterable()
        .startsWith(
            "id", "name", "metric", "condition", "threshold", "status", "createdAt", "triggeredAt");
    assertThat(alert.get("status").asText()).isEqualTo("active");
    assertThat(alert.get("triggeredAt").isNull()).isTrue();
    assertThat(alert.get("function").asText()).isEqualTo("sum");
    awaitStatus(id, "normal");

    error(1);
    error(2);
    JsonNode triggered = awaitStatus(id, "triggered");
    assertThat(triggered.get("value").asDouble()).isEqualTo(2.0);
    assertThat(triggered.get("triggeredAt").isNull()).isFalse();
    JsonNode message = ws.next(m -> m.path("event").asText().equals("triggered"));
    assertThat(message.get("type").asText()).isEqualTo("alert");
    assertThat(message.get("alert").get("id").asText()).isEqualTo(id);
    assertThat(message.get("transition").get("from").asText()).isEqualTo("evaluating");

    TestClient.Reply refused = client.putJson("/api/alerts/" + id, "{\"status\":\"active\"}");
    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.json().get("error").asText()).isEqualTo("illegal_transition");
    assertThat(refused.json().get("details").get(0).get("allowed"))
        .extracting(JsonNode::asText)
        .containsExactly("acknowledged", "resolved");

    // The acknowledgement is by the key that sent it (here "ana"'s), whatever "by" says.
    TestClient ana =
        client.as(
            client
                .postJson("/api/keys", "{\"name\":\"ana\",\"scopes\":[\"admin\"]}")
                .json()
                .get("key")
                .asText());
    TestClient.Reply acked =
        ana.putJson(
            "/api/alerts/" + id,
            "{\"status\":\"acknowledged\",\"by\":\"bob\",\"comment\":\"looking\","
                + "\"expiresIn\":\"1h\"}");
    assertThat(acked.status()).as(acked.body()).isEqualTo(200);
    assertThat(acked.json().get("status").asText()).isEqualTo("acknowledged");
    assertThat(acked.json().get("acknowledgedBy").asText()).isEqualTo("ana");
    assertThat(acked.json().get("acknowledgedUntil").isNull()).isFalse();

    TestClient.Reply edited = client.putJson("/api/alerts/" + id, "{\"threshold\":100}");
    assertThat(edited.status()).isEqualTo(200);
    assertThat(edited.json().get("threshold").asDouble()).isEqualTo(100.0);
    assertThat(edited.json().get("status").asText())
        .as("an edit keeps the state")
        .isEqualTo("acknowledged");
    awaitStatus(id, "resolved"); // 2 errors are no longer more than 100

    assertThat(client.get("/api/alerts?status=resolved").json().get("alerts")).hasSize(1);
    assertThat(client.get("/api/alerts?status=triggered,normal").json().get("alerts")).isEmpty();
    assertThat(client.get("/api/alerts?status=firing").status()).isEqualTo(400);

    JsonNode history = client.get("/api/alerts/" + id + "/history").json().get("history");
    assertThat(history)
        .extracting(t -> t.get("from").asText() + ">" + t.get("to").asText())
        .containsExactly(
            "active>evaluating",
            "evaluating>normal",
            "normal>active",
            "active>evaluating",
            "evaluating>triggered",
            "triggered>acknowledged",
            "acknowledged>resolved");
    assertThat(history.get(5).get("actor").asText()).isEqualTo("ana");
    assertThat(history.get(5).get("comment").asText()).isEqualTo("looking");

    assertThat(client.method("DELETE", "/api/alerts/" + id).status()).isEqualTo(204);
    assertThat(client.get("/api/alerts/" + id).status()).isEqualTo(404);
    assertThat(client.method("DELETE", "/api/alerts/" + id).status()).isEqualTo(404);
    assertThat(client.get("/api/alerts/" + id + "/history").status()).isEqualTo(404);
    ws.close();
  }

  @Test
  void badRulesAndRequestsGetClearErrors() {
    TestClient.Reply bad =
        client.postJson(
            "/api/alerts",
            "{\"name\":\"x\",\"metric\":\"m\",\"condition\":\"above\",\"threshold\":\"high\","
                + "\"window\":\"0s\"}");
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().get("error").asText()).isEqualTo("invalid_alert");
    assertThat(bad.json().get("details"))
        .extracting(d -> d.get("field").asText())
        .containsExactlyInAnyOrder("condition", "threshold", "window");
    assertThat(bad.body()).doesNotContain("Exception").doesNotContain("at dev.");

    assertThat(client.postJson("/api/alerts", "{\"name\":").status()).isEqualTo(400);
    assertThat(client.postJson("/api/alerts", "[1]").status()).isEqualTo(400);
    assertThat(client.post("/api/alerts", "text/plain", RULE).status()).isEqualTo(415);
    assertThat(client.postJson("/api/alerts", "{\"name\":\"" + "x".repeat(70_000) + "\"}").status())
        .isEqualTo(413);

    TestClient.Reply loopback =
        client.postJson(
            "/api/alerts",
            RULE.replace(
                "{\"type\":\"websocket\"}",
                "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:8080/x\"}"));
    assertThat(loopback.status()).isEqualTo(400);
    assertThat(loopback.json().get("details").get(0).get("field").asText())
        .isEqualTo("notify[0].url");
    assertThat(loopback.json().get("details").get(0).get("message").asText())
        .contains("webhookAllow");

    assertThat(client.get("/api/alerts/al_nothing").status()).isEqualTo(404);
    assertThat(client.putJson("/api/alerts/al_nothing", "{\"threshold\":1}").status())
        .isEqualTo(404);
    String id = client.postJson("/api/alerts", RULE).json().get("id").asText();
    TestClient.Reply mixed =
        client.putJson("/api/alerts/" + id, "{\"status\":\"resolved\",\"threshold\":3}");
    assertThat(mixed.status()).isEqualTo(400);
    assertThat(mixed.json().get("details").get(0).get("field").asText()).isEqualTo("threshold");
    assertThat(client.get("/api/alerts").json().get("alerts")).hasSize(1);
  }
}
