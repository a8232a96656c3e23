package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every attack of the hostile-client review, one after another, against one server process with
 * default settings and a 1 GiB heap that exits on its first {@link OutOfMemoryError}. After each
 * attack the server must still answer health, acknowledge new events and count every acknowledged
 * marker event exactly once; then it is restarted on the same data directory (alternately stopped
 * and killed with SIGKILL) and must start and count them again. The per-budget tests beside it
 * (ServerIntegrationTest, LiveSocketTest, ErrorCapsServerTest) check each answer's exact text; this
 * one proves the budgets together keep the heap bounded.
 */
class HostileClientsTest {

  @TempDir Path dir;
  private final long now = System.currentTimeMillis();
  private Process process;
  private int port;
  private TestClient client;
  private final AtomicBoolean outOfMemory = new AtomicBoolean();
  private int markers;

  @AfterEach
  void kill() {
    if (process != null) {
      process.destroyForcibly();
    }
  }

  @Test
  void oneServerWithAGigabyteOfHeapSurvivesEveryAttackAndARestartAfterEach() throws Exception {
    start();
    List<Attack> attacks =
        List.of(
            new Attack("error amplification", this::errorAmplification),
            new Attack("answers without a budget", this::answersWithoutABudget),
            new Attack("live subscriptions", this::liveSubscriptions),
            new Attack("slow and idle connections", this::slowAndIdleConnections),
            new Attack("time arithmetic", this::timeArithmetic),
            new Attack("a full catalog", this::fullCatalog));
    boolean kill = false;
    for (Attack attack : attacks) {
      attack.body().run();
      sendMarkers(100);
      assertServing(attack.name());
      restart(kill);
      kill = !kill;
      assertServing(attack.name() + ", after a restart");
    }
  }

  private record Attack(String name, Body body) {}

  @FunctionalInterface
  private interface Body {
    void run() throws Exception;
  }

  // ---- the attacks ----------------------------------------------------------------------------

  /** 5 MiB bodies that each produce about a million field errors, four at a time. */
  private void errorAmplification() throws Exception {
    StringBuilder empties =
        new StringBuilder("{\"eventType\":\"x\",\"timestamp\":" + now + ",\"properties\":{");
    for (int i = 0; empties.length() < 5_200_000; i++) {
      empties.append(i == 0 ? "" : ",").append("\"\":1");
    }
    empties.append("}}");
    StringBuilder longKeys = new StringBuilder("{\"eventType\":\"x\",\"properties\":{");
    String key = "k".repeat(200);
    for (int i = 0; longKeys.length() < 5_200_000; i++) {
      longKeys.append(i == 0 ? "" : ",").append('"').append(key).append(i).append("\":1");
    }
    longKeys.append("}}");
    StringBuilder manyBad = new StringBuilder(); // 10,000 events with a dozen errors each
    String bad =
        "{\"eventType\":\"\",\"userId\":7,\"timestamp\":\"soon\",\"source\":[],\"id\":{},"
            + "\"properties\":{\"\":1,\"a\":[[[[[1]]]]],\"s\":\""
            + "z".repeat(300)
            + "\"}}\n";
    for (int i = 0; i < 10_000; i++) {
      manyBad.append(bad);
    }
    String[] bodies = {empties.toString(), longKeys.toString(), manyBad.toString()};
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<TestClient.Reply>> replies = new ArrayList<>();
      for (int i = 0; i < 24; i++) {
        String body = bodies[i % bodies.length];
        replies.add(
            pool.submit(() -> client.post("/api/events/batch", "application/x-ndjson", body)));
      }
      for (Future<TestClient.Reply> f : replies) {
        TestClient.Reply r = f.get(120, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.body()).isIn(200, 413, 429);
        assertThat(r.body().length()).as("an answer's bytes").isLessThan(32_000);
      }
    } finally {
      pool.shutdownNow();
    }
    TestClient.Reply letters = client.get("/api/events/deadletters");
    assertThat(letters.status()).isEqualTo(200);
    assertThat(letters.body().length()).as("dead letters listed").isLessThan(5_000_000);
  }

  /** Grouped answers over a 1,000-value dimension, as wide and as long as a client can ask. */
  private void answersWithoutABudget() throws Exception {
    StringBuilder pages = new StringBuilder();
    for (int i = 0; i < 1_000; i++) {
      pages
          .append("{\"eventType\":\"pv\",\"timestamp\":")
          .append(now - i * 60_000L)
          .append(",\"properties\":{\"page\":\"/p")
          .append(i)
          .append("\",\"ms\":")
          .append(i)
          .append("}}\n");
    }
    TestClient.Reply ingested =
        client.post("/api/events/batch", "application/x-ndjson", pages.toString());
    assertThat(ingested.json().get("accepted").asInt()).isEqualTo(1_000);
    String q = "/api/analytics/query?metric=pv&function=count&groupBy=page&limit=1000&fill=zero";
    String[] refused = {
      q + "&start=now-1d&granularity=1m",
      q + "&start=now-7d&granularity=1m",
      q + "&start=0&end=9223372036854775807&granularity=1d",
      q + "&start=now-7d&granularity=1m&function=p99",
      "/api/analytics/query?metric=pv&start=now-30d&granularity=1s&fill=zero",
    };
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<TestClient.Reply>> replies = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        String path = refused[i % refused.length];
        replies.add(pool.submit(() -> client.get(path)));
      }
      for (Future<TestClient.Reply> f : replies) {
        TestClient.Reply r = f.get(60, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.body()).isIn(400, 429);
      }
      // The widest answer the budget allows, many at once: 1,001 series × 25 buckets.
      List<Future<TestClient.Reply>> wide = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        wide.add(pool.submit(() -> client.get(q + "&start=now-1d&granularity=1h")));
      }
      for (Future<TestClient.Reply> f : wide) {
        TestClient.Reply r = f.get(60, TimeUnit.SECONDS);
        assertThat(r.status())
            .as(r.body().substring(0, Math.min(300, r.body().length())))
            .isIn(200, 429);
        if (r.status() == 200) {
          assertThat(r.json().get("series").size()).isEqualTo(1_000);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Bursts of subscribes in one write, over many connections, to the widest answers allowed, and a
   * connection that never reads what it is sent.
   */
  private void liveSubscriptions() throws Exception {
    String wide =
        "{\"metric\":\"pv\",\"function\":\"count\",\"start\":\"now-1d\",\"granularity\":\"1h\","
            + "\"groupBy\":\"page\",\"limit\":1000,\"fill\":\"zero\"}";
    String small = "{\"metric\":\"pv\",\"function\":\"count\",\"start\":\"now-1h\"}";
    List<WsClient> sockets = new ArrayList<>();
    try {
      int snapshots = 0;
      for (int c = 0; c < 20; c++) {
        WsClient ws = new WsClient(port, true);
        sockets.add(ws);
        for (int i = 0; i < 200; i++) {
          String query = i % 2 == 0 ? wide : small;
          ws.send("{\"type\":\"subscribe\",\"id\":\"s" + i + "\",\"query\":" + query + "}");
        }
      }
      for (WsClient ws : sockets) {
        int answered = 0;
        int mine = 0;
        while (answered < 200) {
          JsonNode m = ws.next(x -> x.path("id").asText().startsWith("s"));
          answered++;
          if (m.get("type").asText().equals("snapshot")) {
            mine++;
          }
        }
        assertThat(mine).as("snapshots on one connection").isLessThanOrEqualTo(100);
        snapshots += mine;
      }
      assertThat(snapshots).isPositive();
      WsClient deaf = new WsClient(port, false); // reads nothing
      sockets.add(deaf);
      for (int i = 0; i < 100; i++) {
        deaf.send("{\"type\":\"subscribe\",\"id\":\"d" + i + "\",\"query\":" + small + "}");
      }
      // An update for every subscription: each re-runs its query and diffs what it keeps.
      TestClient.Reply more =
          client.post(
              "/api/events/batch",
              "application/x-ndjson",
              "{\"eventType\":\"pv\",\"timestamp\":"
                  + now
                  + ",\"properties\":{\"page\":\"/p1\"}}\n");
      assertThat(more.status()).isEqualTo(200);
      Thread.sleep(2 * LiveSockets.UPDATE_MS);
    } finally {
      sockets.forEach(WsClient::close);
    }
  }

  /**
   * Every ingest slot held by bodies that never arrive, and more idle connections than one address
   * may open, all from 127.0.0.2: the test's own client (127.0.0.1) is another address.
   */
  private void slowAndIdleConnections() throws Exception {
    String slowUpload =
        "POST /api/events/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Content-Type: application/x-ndjson\r\nAuthorization: Bearer "
            + TestServers.ADMIN_KEY
            + "\r\nContent-Length: 100000\r\n\r\n{";
    List<Socket> held = new ArrayList<>();
    try {
      for (int i = 0; i < 64; i++) {
        held.add(raw(slowUpload));
      }
      List<Socket> idle = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        try {
          idle.add(attacker());
        } catch (IOException refusedByTheKernel) {
          break; // the accept queue is full: the server still has to stay well
        }
      }
      held.addAll(idle);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      int status = 0;
      while (System.nanoTime() < deadline) { // once the slow bodies time out, ingest works again
        status = events("slow-" + System.nanoTime());
        if (status == 200) {
          markers++; // acknowledged: it must be counted
          break;
        }
        Thread.sleep(500);
      }
      assertThat(status)
          .as("ingest while slow bodies and idle connections are held")
          .isEqualTo(200);
      // Past maxConnectionsPerAddress (512) the server closes them once they have not asked for
      // anything within a second (a few connections are this client's own).
      int open = Integer.MAX_VALUE;
      for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
          open > 520 && System.nanoTime() < until; ) {
        Thread.sleep(200);
        open = client.get("/api/events/health").json().get("serving").get("connections").asInt();
      }
      assertThat(open).as("connections the server keeps open").isBetween(400, 512 + 8);
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  /** Times and durations past every calendar, in queries and alert rules. */
  private void timeArithmetic() {
    String q = "/api/analytics/query?metric=pv&function=count";
    for (String params :
        List.of(
            "&start=0&end=9223372036854775807",
            "&start=-9223372036854775808&end=9223372036854775807",
            "&start=now-99999999999999999d",
            "&start=now-9223372036854775807ms",
            "&start=-9200000000000000000&granularity=1d&tz=Europe/Berlin",
            "&start=now-1d&end=now%2B99999999999999999w",
            "&start=now-1d&granularity=1w&tz=Pacific/Kiritimati&end=253402300799999")) {
      TestClient.Reply r = client.get(q + params);
      assertThat(r.status()).as(params + " → " + r.body()).isEqualTo(400);
      assertThat(r.body()).doesNotContain("Exception").doesNotContain(dir.toString());
    }
    for (String window : List.of("99999999999999999d", "9223372036854775807ms", "-1s")) {
      TestClient.Reply r =
          client.postJson(
              "/api/alerts",
              "{\"name\":\"n\",\"metric\":\"pv\",\"condition\":\"greater_than\",\"threshold\":1,"
                  + "\"window\":\""
                  + window
                  + "\"}");
      assertThat(r.status()).as(window + " → " + r.body()).isEqualTo(400);
    }
  }

  /** Event types until the catalog is full, then values of a kilobyte each. */
  private void fullCatalog() throws Exception {
    int type = 0;
    int refused = 0;
    while (refused == 0) {
      StringBuilder batch = new StringBuilder();
      for (int i = 0; i < 2_000; i++, type++) {
        batch.append("{\"eventType\":\"junk").append(type).append("\",\"timestamp\":");
        batch.append(now).append("}\n");
      }
      TestClient.Reply r =
          client.post("/api/events/batch", "application/x-ndjson", batch.toString());
      for (int retry = 0; r.status() == 429 && retry < 100; retry++) {
        Thread.sleep(100);
        r = client.post("/api/events/batch", "application/x-ndjson", batch.toString());
      }
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      refused = r.json().get("rejected").asInt();
      assertThat(type).as("types sent before any was refused").isLessThan(20_000);
    }
    TestClient.Reply late =
        client.postJson("/api/events", "{\"eventType\":\"brand_new\",\"timestamp\":" + now + "}");
    assertThat(late.status()).as("a new type once the catalog is full").isEqualTo(400);
    assertThat(late.body()).contains("(maxEventTypes)");
    JsonNode health = client.get("/api/events/health").json();
    assertThat(health.get("status").asText()).isEqualTo("degraded");
    TestClient.Reply catalog = client.get("/api/analytics/metrics");
    assertThat(catalog.status()).isEqualTo(200);
    assertThat(catalog.body().length()).as("one page of the catalog").isLessThan(1_000_000);

    SplittableRandom random = new SplittableRandom(7);
    for (int b = 0; b < 20; b++) {
      StringBuilder batch = new StringBuilder();
      for (int i = 0; i < 1_000; i++) {
        StringBuilder value = new StringBuilder(1_000);
        for (int k = 0; k < 1_000; k++) {
          value.append((char) ('a' + random.nextInt(26)));
        }
        batch.append("{\"eventType\":\"pv\",\"timestamp\":").append(now);
        batch.append(",\"properties\":{\"ref\":\"").append(value).append("\"}}\n");
      }
      TestClient.Reply r =
          client.post("/api/events/batch", "application/x-ndjson", batch.toString());
      assertThat(r.status()).as(r.body()).isIn(200, 429);
    }
  }

  // ---- the server -----------------------------------------------------------------------------

  private void sendMarkers(int n) {
    StringBuilder batch = new StringBuilder();
    for (int i = 0; i < n; i++) {
      batch.append("{\"id\":\"marker-").append(markers + i).append("\",\"eventType\":\"marker\"");
      batch.append(",\"timestamp\":").append(now).append("}\n");
    }
    TestClient.Reply r = client.post("/api/events/batch", "application/x-ndjson", batch.toString());
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.json().get("accepted").asInt()).isEqualTo(n);
    markers += n;
  }

  /** One marker event with its own id; the answer's status. */
  private int events(String id) {
    return client
        .post(
            "/api/events/batch",
            "application/x-ndjson",
            "{\"eventType\":\"marker\",\"id\":\"" + id + "\",\"timestamp\":" + now + "}\n")
        .status();
  }

  private void assertServing(String after) throws Exception {
    assertThat(process.isAlive()).as("alive after " + after).isTrue();
    assertThat(outOfMemory.get()).as("an OutOfMemoryError after " + after).isFalse();
    TestClient.Reply health = client.get("/api/events/health");
    assertThat(health.status()).as("health after " + after).isEqualTo(200);
    assertThat(health.json().get("status").asText()).isIn("up", "degraded");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    long counted = -1;
    while (System.nanoTime() < deadline) {
      counted = markerCount();
      if (counted >= markers) {
        break;
      }
      Thread.sleep(50);
    }
    assertThat(counted).as("markers counted after " + after).isEqualTo(markers);
  }

  private long markerCount() {
    TestClient.Reply r =
        client.get(
            "/api/analytics/query?metric=marker&function=count&start="
                + (now - 86_400_000L)
                + "&end="
                + (now + 60_000)
                + "&granularity=1d");
    if (r.status() != 200) {
      return -1;
    }
    long total = 0;
    for (JsonNode p : r.json().get("data")) {
      total += p.get("value").asLong();
    }
    return total;
  }

  private Socket raw(String request) throws IOException {
    Socket s = attacker();
    s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return s;
  }

  /** A connection from 127.0.0.2, an address of its own on loopback. */
  private Socket attacker() throws IOException {
    return new Socket(
        java.net.InetAddress.getByName("127.0.0.1"),
        port,
        java.net.InetAddress.getByName("127.0.0.2"),
        0);
  }

  private void restart(boolean kill) throws Exception {
    if (kill) {
      process.destroyForcibly();
    } else {
      process.destroy();
    }
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("stopped").isTrue();
    start();
  }

  private void start() throws Exception {
    ChildServer child =
        ChildServer.start(
            List.of("-Xmx1g", "-XX:+ExitOnOutOfMemoryError"),
            List.of(
                "--port", "0", "--data-dir", dir.toString(), "--admin-key", TestServers.ADMIN_KEY),
            line -> {
              if (line.contains("OutOfMemoryError")) {
                outOfMemory.set(true);
              }
            });
    process = child.process();
    port = child.port();
    client = child.client();
  }
}
