package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /api/analytics/dashboard} on the real server. */
class DashboardTest {
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

  @Test
  void panelsForTheBusiestTypesIngestHealthAndActiveAlerts() throws Exception {
    StringBuilder batch = new StringBuilder();
    for (int i = 0; i < 5; i++) {
      batch.append("{\"eventType\":\"view\",\"timestamp\":").append(now - i * 1000).append("}\n");
    }
    batch.append("{\"eventType\":\"buy\",\"timestamp\":").append(now).append("}\n");
    batch.append("{\"eventType\":\"bad type\",\"timestamp\":").append(now).append("}\n");
    assertThat(client.post("/api/events/batch", "application/x-ndjson", batch.toString()).status())
        .isEqualTo(200);
    String id =
        client
            .postJson(
                "/api/alerts",
                "{\"name\":\"buys\",\"metric\":\"buy_count\",\"condition\":\"greater_than\","
                    + "\"threshold\":0,\"window\":\"5m\"}")
            .json()
            .get("id")
            .asText();

    JsonNode d = null;
    for (int i = 0; i < 500; i++) {
      d = client.get("/api/analytics/dashboard").json();
      if (d.get("alerts").get("active").size() == 1 && d.get("panels").size() == 2) {
        break;
      }
      Thread.sleep(10);
    }
    JsonNode panels = d.get("panels");
    assertThat(panels).extracting(p -> p.get("id").asText()).containsExactly("view", "buy");
    JsonNode view = panels.get(0);
    assertThat(view.get("query").get("metric").asText()).isEqualTo("view_count");
    double total = 0;
    for (JsonNode p : view.get("data").get("data")) {
      total += p.get("value").asDouble();
    }
    assertThat(total).as("the panel's answer counts the view events").isEqualTo(5.0);
    // The same buckets as the query endpoint for the panel's spec (asked again should a minute
    // boundary pass between the two requests).
    JsonNode queried = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      queried =
          client
              .get(
                  "/api/analytics/query?metric=view_count&function=count&start=now-1h"
                      + "&granularity=1m&fill=zero")
              .json()
              .get("data");
      if (queried.equals(view.get("data").get("data"))) {
        break;
      }
      view = client.get("/api/analytics/dashboard").json().get("panels").get(0);
    }
    assertThat(view.get("data").get("data")).isEqualTo(queried);

    JsonNode ingest = d.get("ingest");
    assertThat(ingest.get("status").asText()).isEqualTo("up");
    assertThat(ingest.get("lifecycle").get("invalid").asLong()).isEqualTo(1);
    assertThat(ingest.get("deadLetters").get("newest").get(0).get("reason").asText())
        .isEqualTo("invalid");

    JsonNode active = d.get("alerts").get("active");
    assertThat(active).hasSize(1);
    assertThat(active.get(0).get("id").asText()).isEqualTo(id);
    assertThat(active.get(0).get("status").asText()).isEqualTo("triggered");
    assertThat(d.get("alerts").get("counts").get("triggered").asInt()).isEqualTo(1);
  }
}
