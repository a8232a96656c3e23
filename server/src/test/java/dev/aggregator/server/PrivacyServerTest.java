package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code userIdSecret} and {@code denyProperties} against the real server: what they remove is in
 * no answer, no export, no dead letter and no byte of the data directory, and unique users stay
 * exact — across a restart, because the pseudonym is a function of the secret alone.
 */
class PrivacyServerTest {
  private static final long T = 1_705_276_800_000L; // 2024-01-15T00:00:00Z
  private static final String RANGE = "start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z";
  private static final Map<String, String> SETTINGS =
      Map.of(
          "AGGREGATOR_USER_ID_SECRET", "a-test-secret-of-some-length",
          "AGGREGATOR_DENY_PROPERTIES", "email, IP");

  @TempDir Path dir;

  @Test
  void nothingRemovedReachesDiskOrAnAnswerAndUniqueUsersStayExact() throws Exception {
    Path data = dir.resolve("data");
    try (AggregatorServer server = TestServers.start(data, SETTINGS)) {
      TestClient client = new TestClient(server.port());
      assertThat(send(client, 0, 30).get("accepted").asInt()).isEqualTo(30);
      // A rejected record is dead-lettered without its text: it may hold what was to be removed.
      JsonNode bad =
          client
              .postJson(
                  "/api/events/batch",
                  "[{\"eventType\":\"buy\",\"userId\":\"carol@secret.example\","
                      + "\"timestamp\":\"not a time\",\"properties\":{\"email\":\"c@x.example\"}}]")
              .json();
      assertThat(bad.get("rejected").asInt()).isEqualTo(1);
      // So is a body that is not JSON at all.
      assertThat(
              client
                  .postJson("/api/events/batch", "[{\"userId\":\"dave@secret.example\", oops")
                  .status())
          .isEqualTo(400);
      awaitCount(client, 30);

      assertThat(uniqueUsers(client)).isEqualTo(3.0);
      JsonNode byCountry =
          client
              .get("/api/analytics/query?metric=buy&function=count&groupBy=country&" + RANGE)
              .json();
      assertThat(byCountry.toString()).contains("\"de\"").doesNotContain("secret.example");
      JsonNode byEmail =
          client
              .get("/api/analytics/query?metric=buy&function=count&groupBy=email&" + RANGE)
              .json();
      assertThat(byEmail.toString()).doesNotContain("secret.example");

      String export = client.get("/api/events/export?format=ndjson&eventType=buy&" + RANGE).body();
      List<JsonNode> rows = new ArrayList<>();
      for (String line : export.split("\n")) {
        if (!line.isBlank()) {
          rows.add(TestClient.JSON.readTree(line));
        }
      }
      assertThat(rows).hasSize(30);
      Set<String> ids = new HashSet<>();
      for (JsonNode r : rows) {
        ids.add(r.get("userId").asText());
      }
      assertThat(ids).hasSize(3).allMatch(id -> id.matches("p_[0-9a-f]{32}"));
      assertThat(export)
          .doesNotContain("secret.example")
          .doesNotContain("10.0.0.")
          .contains("\"de\"");

      JsonNode dead = client.get("/api/events/deadletters?limit=10").json().get("deadLetters");
      assertThat(dead).hasSize(2);
      for (JsonNode d : dead) {
        assertThat(d.toString()).doesNotContain("secret.example").contains("withheld");
      }
    }

    // Restart with the same secret: the same users get the same pseudonyms.
    try (AggregatorServer server = TestServers.start(data, SETTINGS)) {
      TestClient client = new TestClient(server.port());
      assertThat(send(client, 30, 60).get("accepted").asInt()).isEqualTo(30);
      awaitCount(client, 60);
      assertThat(uniqueUsers(client)).isEqualTo(3.0);
    }
    assertThat(filesContaining(data, "secret.example")).isEmpty();
  }

  private static JsonNode send(TestClient client, int from, int to) {
    StringBuilder body = new StringBuilder("[");
    for (int i = from; i < to; i++) {
      body.append(i == from ? "" : ",")
          .append(
              String.format(
                  "{\"eventType\":\"buy\",\"userId\":\"user%d@secret.example\",\"timestamp\":%d,"
                      + "\"properties\":{\"country\":\"%s\",\"Email\":\"user%d@secret.example\","
                      + "\"ip\":\"10.0.0.%d\",\"contact\":{\"email\":\"x%d@secret.example\"},"
                      + "\"value\":%d}}",
                  i % 3, T + i * 60_000L, i % 2 == 0 ? "de" : "fr", i % 3, i, i, i));
    }
    return client.postJson("/api/events/batch", body.append("]").toString()).json();
  }

  private static void awaitCount(TestClient client, long n) throws InterruptedException {
    String q = "/api/analytics/query?metric=buy&function=count&granularity=1d&" + RANGE;
    for (int i = 0; i < 500; i++) {
      JsonNode points = client.get(q).json().get("data");
      if (points.size() > 0 && points.get(0).get("value").asLong() == n) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("count never reached " + n + ": " + client.get(q).body());
  }

  private static double uniqueUsers(TestClient client) {
    return client
        .get("/api/analytics/query?metric=buy&function=unique_users&granularity=1d&" + RANGE)
        .json()
        .get("data")
        .get(0)
        .get("value")
        .asDouble();
  }

  /** Every file under the directory whose bytes hold the text, as plain UTF-8. */
  private static List<Path> filesContaining(Path root, String text) throws IOException {
    byte[] needle = text.getBytes(StandardCharsets.UTF_8);
    List<Path> hits = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        byte[] b = Files.readAllBytes(f);
        outer:
        for (int i = 0; i + needle.length <= b.length; i++) {
          for (int j = 0; j < needle.length; j++) {
            if (b[i + j] != needle[j]) {
              continue outer;
            }
          }
          hits.add(f);
          break;
        }
      }
    }
    return hits;
  }
}
