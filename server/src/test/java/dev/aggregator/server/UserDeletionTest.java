package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code DELETE /api/users/{userId}/events} on the real server: the user's raw events leave the
 * event store (exports and event-path answers no longer have them) and the log (no byte of them,
 * nothing to replay), across a restart; rollup counts stay, as documented; admin only; audited.
 */
class UserDeletionTest {
  private static final long T = 1_705_276_800_000L; // 2024-01-15T00:00:00Z
  private static final String RANGE = "start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z";
  private static final String USER = "alice@private.example";
  // Two keys and no declared combination: answered from the raw events.
  private static final String BY_EVENTS =
      "/api/analytics/query?metric=buy&function=count&granularity=1d&filter=country:de"
          + "&groupBy=device&"
          + RANGE;
  private static final String TOTAL =
      "/api/analytics/query?metric=buy&function=count&granularity=1d&" + RANGE;

  @TempDir Path dir;

  @Test
  void removesTheUsersRawEventsFromTheStoreAndTheLogAndKeepsRollupCounts() throws Exception {
    Path data = dir.resolve("data");
    int n = 300; // every third event is the user's
    try (AggregatorServer server = TestServers.start(data, Map.of())) {
      TestClient client = new TestClient(server.port());
      assertThat(send(client, 0, n).get("accepted").asInt()).isEqualTo(n);
      awaitTotal(client, n);
      assertThat(eventsPathCount(client)).isEqualTo(n / 2);

      TestClient reader = readerKey(client);
      assertThat(reader.method("DELETE", "/api/users/x/events").status()).isEqualTo(403);
      assertThat(client.method("DELETE", "/api/users/%20/events").status()).isEqualTo(400);

      JsonNode done = client.method("DELETE", "/api/users/" + USER + "/events").json();
      assertThat(done.get("deletedEvents").asLong()).isEqualTo(n / 3);
      assertThat(done.get("redactedLogRecords").asLong()).isEqualTo(n / 3);
      assertThat(done.get("note").asText()).contains("rollups keep");

      assertThat(export(client)).doesNotContain(USER).contains("bob");
      assertThat(eventsPathCount(client)).as("the user's de events are gone").isEqualTo(n / 3);
      assertThat(total(client)).as("rollups keep the counts").isEqualTo(n);

      JsonNode audit = client.get("/api/audit?limit=5").json().get("entries");
      assertThat(audit.toString())
          .contains("DELETE /api/users/:userId/events")
          .contains("100 events");

      // Ingest goes on; the user's later events are kept.
      assertThat(send(client, n, n + 3).get("accepted").asInt()).isEqualTo(3);
      awaitTotal(client, n + 3);
    }
    for (Path segment : Files.list(data.resolve("wal")).toList()) {
      String text = new String(Files.readAllBytes(segment), StandardCharsets.ISO_8859_1);
      if (text.contains(USER)) {
        // Only the three events sent after the deletion may hold the user's id.
        assertThat(text.split(USER, -1).length - 1).isLessThanOrEqualTo(2);
      }
    }
    try (AggregatorServer server = TestServers.start(data, Map.of())) {
      TestClient client = new TestClient(server.port());
      assertThat(total(client)).isEqualTo(n + 3);
      String export = export(client);
      assertThat(export.split(USER, -1).length - 1).as("only the later event").isEqualTo(1);
      assertThat(eventsPathCount(client)).as("two later de events").isEqualTo(n / 3 + 2);
    }
  }

  private static TestClient readerKey(TestClient admin) {
    JsonNode k = admin.postJson("/api/keys", "{\"name\":\"reader\",\"scopes\":[\"read\"]}").json();
    return admin.as(k.get("key").asText());
  }

  /** Events i: the user's when i % 3 == 0; country de when i is even; device ios or web. */
  private static JsonNode send(TestClient client, int from, int to) {
    StringBuilder body = new StringBuilder("[");
    for (int i = from; i < to; i++) {
      body.append(i == from ? "" : ",")
          .append(
              String.format(
                  "{\"eventType\":\"buy\",\"userId\":\"%s\",\"timestamp\":%d,"
                      + "\"properties\":{\"country\":\"%s\",\"device\":\"%s\",\"value\":%d}}",
                  i % 3 == 0 ? USER : "bob" + i % 7,
                  T + i * 60_000L,
                  i % 2 == 0 ? "de" : "fr",
                  i % 4 < 2 ? "ios" : "web",
                  i));
    }
    return client.postJson("/api/events/batch", body.append("]").toString()).json();
  }

  private static long total(TestClient client) {
    JsonNode data = client.get(TOTAL).json().get("data");
    return data.isEmpty() ? 0 : data.get(0).get("value").asLong();
  }

  private static void awaitTotal(TestClient client, long n) throws InterruptedException {
    for (int i = 0; i < 500 && total(client) != n; i++) {
      Thread.sleep(20);
    }
    assertThat(total(client)).isEqualTo(n);
  }

  private static long eventsPathCount(TestClient client) {
    JsonNode answer = client.get(BY_EVENTS).json();
    assertThat(answer.get("source").asText()).isEqualTo("events");
    long sum = 0;
    for (JsonNode s : answer.get("series")) {
      for (JsonNode p : s.get("data")) {
        sum += p.get("value").asLong();
      }
    }
    return sum;
  }

  private static String export(TestClient client) {
    return client.get("/api/events/export?format=ndjson&eventType=buy&" + RANGE).body();
  }
}
