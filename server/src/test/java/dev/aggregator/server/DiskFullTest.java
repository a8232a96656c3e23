package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aggregator.testing.Tmpfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data directory on a real 256 MiB file system (tmpfs) that runs full while the server takes
 * events, then gets its space back. The server must refuse (never acknowledge and drop), heal the
 * log, the rollup store and the event store in place without a restart, count exactly the events it
 * acknowledged (none answered 503 is replayed), and answer raw-event queries again.
 *
 * <p>Skipped where a tmpfs cannot be mounted (see {@link Tmpfs}).
 */
class DiskFullTest {
  private static final long T = 1_705_276_800_000L; // 2024-01-15T00:00:00Z
  private static final Map<String, String> SETTINGS =
      Map.of("AGGREGATOR_CHECKPOINT_INTERVAL", "2s");
  private static final String RANGE = "start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z";

  @TempDir Path dir;
  private Tmpfs tmpfs;
  private Path disk;

  @BeforeEach
  void mount() throws Exception {
    tmpfs = Tmpfs.mount(dir.resolve("disk"), "256m");
    disk = tmpfs.dir();
  }

  @AfterEach
  void unmount() throws Exception {
    tmpfs.close();
  }

  @Test
  void aFullDiskRefusesLosesNothingAndHealsWithoutARestart() throws Exception {
    Path data = disk.resolve("data");
    Path ballast = disk.resolve("ballast");
    Path reserve = disk.resolve("reserve");
    Path rest = disk.resolve("rest");
    long acknowledged = 0;
    try (AggregatorServer server = TestServers.start(data, SETTINGS)) {
      TestClient client = new TestClient(server.port(), TestServers.ADMIN_KEY);
      int batch = 0;
      // Fill the disk but 8 MiB before the first event, take a batch and fill the rest at once:
      // its rows then wait in memory for a checkpoint on a full disk (retried in the rare run
      // where a checkpoint slipped in between), and its events for a seal. Before the first
      // event because RocksDB preallocates ~70 MiB for its write-ahead log at the first write,
      // and small checkpoints fit in that on a full disk.
      Files.write(reserve, new byte[8 << 20]);
      Tmpfs.fill(ballast);
      Files.delete(reserve);
      for (int attempt = 0; ; attempt++) {
        long checkpoints = checkpoints(client);
        JsonNode reply = send(client, batch++);
        Tmpfs.fill(rest);
        acknowledged += reply.get("accepted").asLong();
        if (checkpoints(client) == checkpoints) {
          break;
        }
        assertThat(attempt)
            .as("a checkpoint kept slipping in before the disk was full")
            .isLessThan(5);
        Files.delete(rest);
      }
      int refused = 0;
      for (int i = 0; i < 200 && refused < 5; i++) {
        TestClient.Reply r = client.postJson("/api/events/batch", body(batch++));
        if (r.status() == 200) {
          acknowledged += r.json().get("accepted").asLong();
        } else {
          assertThat(r.status()).as(r.body()).isIn(429, 503);
          assertThat(r.raw().headers().firstValue("Retry-After")).isPresent();
          assertThat(r.body()).doesNotContain(disk.toString()).doesNotContain("Exception");
          refused++;
        }
      }
      assertThat(refused).as("the full disk refused batches").isEqualTo(5);
      // A raw query seals the staged events, which fails on the full disk: refused, not answered
      // without them. The disk stays full until a checkpoint has failed too: all three must heal.
      TestClient.Reply raw = client.get(rawQuery(0));
      assertThat(raw.status()).as(raw.body()).isEqualTo(503);
      assertThat(raw.raw().headers().firstValue("Retry-After")).isPresent();
      String health = awaitHealth(client, "checkpoint failed", "event store stopped");
      assertThat(health).contains("\"failed\"");
      assertThat(raw.body()).doesNotContain(disk.toString());

      Files.delete(ballast);
      Files.delete(rest);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      int accepted = 0;
      while (accepted < 5) {
        assertThat(System.nanoTime()).as("ingest resumed without a restart").isLessThan(deadline);
        TestClient.Reply r = client.postJson("/api/events/batch", body(batch++));
        if (r.status() == 200) {
          acknowledged += r.json().get("accepted").asLong();
          accepted++;
        } else {
          Thread.sleep(200);
        }
      }
      awaitCount(client, acknowledged);
      awaitUp(client);
      // Answered from raw events (a filter and a group on two dimensions): the event store healed.
      assertThat(rawCount(client)).isEqualTo(acknowledged);
    }
    // Nothing answered 503 comes back at a restart, and nothing acknowledged is missing.
    try (AggregatorServer server = TestServers.start(data, SETTINGS)) {
      TestClient client = new TestClient(server.port(), TestServers.ADMIN_KEY);
      awaitCount(client, acknowledged);
      assertThat(rawCount(client)).isEqualTo(acknowledged);
    }
  }

  private static long checkpoints(TestClient client) {
    return client.get("/api/events/health").json().get("rollups").get("checkpoints").asLong();
  }

  private static JsonNode send(TestClient client, int batch) {
    return client.postJson("/api/events/batch", body(batch)).json();
  }

  /** 2,000 events of about 300 bytes each, spread over the day. */
  private static String body(int batch) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < 2000; i++) {
      long n = batch * 2000L + i;
      b.append(i == 0 ? "" : ",")
          .append("{\"eventType\":\"buy\",\"userId\":\"u")
          .append(n % 977)
          .append("\",\"timestamp\":")
          .append(T + (n * 7919) % 86_400_000L)
          .append(",\"properties\":{\"country\":\"c")
          .append(n % 7)
          .append("\",\"device\":\"d")
          .append(n % 3)
          .append("\",\"note\":\"")
          .append("x".repeat(200))
          .append("\",\"value\":")
          .append(n % 100)
          .append("}}");
    }
    return b.append("]").toString();
  }

  private static void awaitCount(TestClient client, long n) throws InterruptedException {
    String q = "/api/analytics/query?metric=buy&function=count&granularity=1d&" + RANGE;
    for (int i = 0; i < 1500; i++) {
      JsonNode points = client.get(q).json().get("data");
      if (points != null && points.size() > 0 && points.get(0).get("value").asLong() == n) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("count never reached " + n + ": " + client.get(q).body());
  }

  private static void awaitUp(TestClient client) throws InterruptedException {
    for (int i = 0; i < 300; i++) {
      if (client.get("/api/events/health").json().get("status").asText().equals("up")) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("health never up again: " + client.get("/api/events/health").body());
  }

  /** The count summed over a filter on country and a group by device: raw events answer it. */
  private static long rawCount(TestClient client) throws InterruptedException {
    long total = 0;
    for (int c = 0; c < 7; c++) {
      String q = rawQuery(c);
      TestClient.Reply r = client.get(q);
      for (int i = 0; i < 100 && r.status() != 200; i++) {
        Thread.sleep(100);
        r = client.get(q);
      }
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      for (JsonNode series : r.json().get("series")) {
        for (JsonNode p : series.get("data")) {
          total += p.get("value").asLong();
        }
      }
    }
    return total;
  }

  private static String rawQuery(int country) {
    return "/api/analytics/query?metric=buy&function=count&granularity=1d&filter=country:c"
        + country
        + "&groupBy=device&"
        + RANGE;
  }

  /** Waits until health names every one of the reasons; returns its body. */
  private static String awaitHealth(TestClient client, String... reasons)
      throws InterruptedException {
    String body = "";
    for (int i = 0; i < 300; i++) {
      body = client.get("/api/events/health").body();
      String seen = body;
      if (java.util.Arrays.stream(reasons).allMatch(seen::contains)) {
        return body;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("health never named " + String.join(", ", reasons) + ": " + body);
  }
}
