package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the server as a child process, ingests from several clients while recording every 2xx, kills
 * it with SIGKILL mid-stream, restarts it on the same data directory, and proves that every
 * acknowledged event is there exactly once: resending an acknowledged event is answered as a
 * duplicate, and once every sent event has been resent the count equals the number of distinct
 * events sent. Repeated over several crash rounds on one data directory.
 */
class CrashRecoveryTest {
  private static final int ROUNDS = 3;
  private static final int WRITERS = 4;
  private static final int BATCH = 50;

  @TempDir Path dir;
  private final List<Process> processes = new CopyOnWriteArrayList<>();
  private final long now = System.currentTimeMillis();

  @AfterEach
  void killAll() {
    processes.forEach(Process::destroyForcibly);
  }

  @Test
  void everyAcknowledgedEventIsCountedExactlyOnceAfterKill9() throws Exception {
    Map<String, String> sent = new ConcurrentHashMap<>(); // id → JSON
    Set<String> acked = ConcurrentHashMap.newKeySet();
    SplittableRandom random = new SplittableRandom(42);

    for (int round = 0; round < ROUNDS; round++) {
      Server server = startServer();
      int ackedBefore = acked.size();
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> writers = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        String prefix = "r" + round + "-w" + w + "-";
        Thread t = new Thread(() -> write(server.client, prefix, sent, acked, stop), "writer-" + w);
        t.start();
        writers.add(t);
      }
      // Kill mid-stream: once acknowledgements flow (however slow this machine is), at a random
      // moment a little later.
      long flowing = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (acked.size() < ackedBefore + 4 * BATCH && System.nanoTime() < flowing) {
        Thread.sleep(5);
      }
      Thread.sleep(random.nextInt(300));

      server.process.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
      assertThat(server.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      stop.set(true);
      for (Thread t : writers) {
        t.join();
      }
      assertThat(acked.size())
          .as("round %d acknowledged something before the kill", round)
          .isGreaterThan(ackedBefore);

      Server restarted = startServer();
      long counted = count(restarted.client);
      assertThat(counted)
          .as(
              "after restart, at least every acked event (%d) and at most every sent one (%d)",
              acked.size(), sent.size())
          .isBetween((long) acked.size(), (long) sent.size());

      List<String> ackedJson = new ArrayList<>();
      List<String> unackedJson = new ArrayList<>();
      sent.forEach((id, json) -> (acked.contains(id) ? ackedJson : unackedJson).add(json));
      for (List<String> chunk : chunks(ackedJson, 500)) {
        JsonNode reply =
            restarted
                .client
                .post("/api/events/batch", "application/x-ndjson", String.join("\n", chunk))
                .json();
        assertThat(reply.get("duplicates").asInt())
            .as("every acknowledged event survived the crash, so resending it is a duplicate")
            .isEqualTo(chunk.size());
      }
      for (List<String> chunk : chunks(unackedJson, 500)) {
        JsonNode reply =
            restarted
                .client
                .post("/api/events/batch", "application/x-ndjson", String.join("\n", chunk))
                .json();
        assertThat(reply.get("accepted").asInt() + reply.get("duplicates").asInt())
            .isEqualTo(chunk.size());
      }
      acked.addAll(sent.keySet());
      long expected = sent.size();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (count(restarted.client) != expected && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(count(restarted.client))
          .as("each distinct event counted exactly once")
          .isEqualTo(expected);

      restarted.process.destroyForcibly();
      restarted.process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /**
   * An alert triggered and acknowledged through the API is, after {@code kill -9}, in the state it
   * was in, with the same history; and its webhook was delivered once per transition.
   */
  @Test
  void alertStateAndDeliveriesSurviveKill9() throws Exception {
    List<String> deliveries = new CopyOnWriteArrayList<>();
    HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext(
        "/hook",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          deliveries.add(exchange.getRequestHeaders().getFirst("X-Aggregator-Delivery"));
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    receiver.start();
    try {
      Server server = startServer("--webhook-allow", "127.0.0.0/8");
      String hook = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
      TestClient.Reply created =
          server.client.postJson(
              "/api/alerts",
              "{\"name\":\"crash seen\",\"metric\":\"crash_count\",\"condition\":"
                  + "\"greater_than\",\"threshold\":0,\"window\":\"10m\",\"notify\":"
                  + "[{\"type\":\"webhook\",\"url\":\""
                  + hook
                  + "\"}]}");
      assertThat(created.status()).as(created.body()).isEqualTo(201);
      String id = created.json().get("id").asText();
      server.client.post(
          "/api/events", "application/json", "{\"eventType\":\"crash\",\"timestamp\":" + now + "}");
      awaitStatus(server.client, id, "triggered");
      TestClient.Reply acked =
          server.client.putJson(
              "/api/alerts/" + id, "{\"status\":\"acknowledged\",\"by\":\"ops\"}");
      assertThat(acked.status()).as(acked.body()).isEqualTo(200);
      // Both delivered and cleared from the outbox. (A kill between a receiver's 2xx and that
      // clearing re-sends the delivery after the restart, with the same X-Aggregator-Delivery id
      // for the receiver to drop: the one window at-most-once cannot close from this side.)
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while ((deliveries.size() < 2
              || server
                      .client
                      .get("/api/events/health")
                      .json()
                      .get("alerts")
                      .get("webhooksPending")
                      .asInt()
                  > 0)
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      JsonNode history = server.client.get("/api/alerts/" + id + "/history").json();

      server.process.destroyForcibly();
      assertThat(server.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      Server restarted = startServer("--webhook-allow", "127.0.0.0/8");
      JsonNode after = restarted.client.get("/api/alerts/" + id).json();
      assertThat(after.get("status").asText()).isEqualTo("acknowledged");
      assertThat(after.get("acknowledgedBy").asText())
          .as("the acting key's name")
          .isEqualTo("admin");
      assertThat(restarted.client.get("/api/alerts/" + id + "/history").json()).isEqualTo(history);
      Thread.sleep(1_500); // evaluations resume; nothing new to say
      assertThat(restarted.client.get("/api/alerts/" + id).json().get("status").asText())
          .isEqualTo("acknowledged");
      assertThat(deliveries)
          .as("triggered and acknowledged, each delivered once")
          .hasSize(2)
          .doesNotHaveDuplicates();
      restarted.process.destroyForcibly();
      restarted.process.waitFor(30, TimeUnit.SECONDS);
    } finally {
      receiver.stop(0);
    }
  }

  private static void awaitStatus(TestClient client, String id, String status)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    String seen = null;
    while (System.nanoTime() < deadline) {
      seen = client.get("/api/alerts/" + id).json().get("status").asText();
      if (seen.equals(status)) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("alert " + id + " is " + seen + ", not " + status);
  }

  private void write(
      TestClient client,
      String prefix,
      Map<String, String> sent,
      Set<String> acked,
      AtomicBoolean stop) {
    int n = 0;
    while (!stop.get()) {
      List<String> ids = new ArrayList<>(BATCH);
      StringBuilder body = new StringBuilder();
      for (int i = 0; i < BATCH; i++) {
        String id = prefix + n++;
        String json =
            "{\"id\":\""
                + id
                + "\",\"eventType\":\"crash\",\"timestamp\":"
                + (now + n)
                + ",\"properties\":{\"value\":1}}";
        sent.put(id, json); // recorded before sending: it may be logged even if never acked
        ids.add(id);
        body.append(json).append('\n');
      }
      try {
        TestClient.Reply reply =
            client.post("/api/events/batch", "application/x-ndjson", body.toString());
        if (reply.status() == 200
            && reply.json().get("accepted").asInt() + reply.json().get("duplicates").asInt()
                == BATCH) {
          acked.addAll(ids);
        }
      } catch (UncheckedIOException | IllegalStateException e) {
        return; // the server died under us
      }
    }
  }

  private long count(TestClient client) {
    JsonNode data =
        client
            .get(
                "/api/analytics/query?metric=crash&function=count&granularity=1d&start="
                    + (now - 86_400_000L)
                    + "&end="
                    + (now + 86_400_000L))
            .json()
            .get("data");
    long total = 0;
    for (JsonNode p : data) {
      total += p.get("value").asLong();
    }
    return total;
  }

  private static <T> List<List<T>> chunks(List<T> list, int size) {
    List<List<T>> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i += size) {
      out.add(list.subList(i, Math.min(list.size(), i + size)));
    }
    return out;
  }

  private record Server(Process process, TestClient client) {}

  private Server startServer(String... flags) throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--port", "0", "--data-dir", dir.toString(), "--admin-key", TestServers.ADMIN_KEY));
    args.addAll(List.of(flags));
    ChildServer child = ChildServer.start(List.of("-Xmx512m"), args, line -> {});
    processes.add(child.process());
    return new Server(child.process(), child.client());
  }
}
