package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code maxErrorsPerEvent} and {@code maxErrorsPerResponse} against the real server. */
class ErrorCapsServerTest {
  @TempDir Path dir;

  @Test
  void anIngestAnswerListsAtMostTheConfiguredErrorsAndCountsTheRest() throws Exception {
    Map<String, String> settings =
        Map.of("AGGREGATOR_MAX_ERRORS_PER_EVENT", "2", "AGGREGATOR_MAX_ERRORS_PER_RESPONSE", "3");
    try (AggregatorServer server = TestServers.start(dir.resolve("data"), settings)) {
      TestClient client = new TestClient(server.port());
      StringBuilder body = new StringBuilder();
      for (int i = 0; i < 5; i++) { // four errors each: timestamp, userId, id, eventType
        body.append("{\"timestamp\":\"soon\",\"userId\":true,\"id\":\"\"}\n");
      }
      JsonNode batch =
          client.post("/api/events/batch", "application/x-ndjson", body.toString()).json();
      assertThat(batch.get("rejected").asInt()).isEqualTo(5);
      assertThat(batch.get("errors")).hasSize(4);
      assertThat(batch.get("errors").get(1).get("message").asText()).isNotEmpty();
      assertThat(batch.get("errors").get(2).get("message").asText())
          .isEqualTo("… and 2 more errors in this event");
      assertThat(batch.get("errors").get(3).get("message").asText())
          .startsWith("… and 12 more errors from this event on (5 events rejected in all");

      var one =
          client.postJson("/api/events", "{\"timestamp\":\"soon\",\"userId\":true,\"id\":\"\"}");
      assertThat(one.status()).isEqualTo(400);
      assertThat(one.json().toString()).contains("… and 2 more errors in this event");
    }
  }
}
