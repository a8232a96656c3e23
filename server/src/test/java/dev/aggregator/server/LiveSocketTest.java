package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aggregator.event.Timestamps;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Live subscriptions on {@code /ws/analytics}, against the real server. */
class LiveSocketTest {
  private static final String QUERY =
      "{\"metric\":\"click_count\",\"function\":\"count\",\"start\":\"now-1h\",\"granularity\":\"1m\"}";

  @TempDir Path dir;
  private AggregatorServer server;
  private TestClient client;
  private final long now = System.currentTimeMillis();
  private final AtomicInteger ids = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    server = TestServers.start(dir);
    client = new TestClient(server.port());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private void click(long at) {
    TestClient.Reply r =
        client.postJson(
            "/api/events",
            "{\"id\":\"c"
                + ids.incrementAndGet()
                + "\",\"eventType\":\"click\",\"timestamp\":"
                + at
                + "}");
    assertThat(r.status()).isEqualTo(202);
  }

  /** The answer of GET /query for the subscription's parameters, as timestamp → value. */
  private Map<String, Double> queried() {
    return points(
        client
            .get(
                "/api/analytics/query?metric=click_count&function=count&start=now-1h"
                    + "&granularity=1m")
            .json());
  }

  private static Map<String, Double> points(JsonNode result) {
    Map<String, Double> out = new TreeMap<>();
    result
        .get("data")
        .forEach(p -> out.put(p.get("timestamp").asText(), p.get("value").asDouble()));
    return out;
  }

  @Test
  void aSnapshotThenUpdatesAddUpToTheQueryAnswerLateCorrectionsIncluded() throws Exception {
    click(now - 120_000);
    click(now - 60_000);
    click(now - 60_000);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (queried().values().stream().mapToDouble(d -> d).sum() < 3
        && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    try (WsClient ws = new WsClient(server.port(), true)) {
      ws.send("{\"type\":\"subscribe\",\"id\":\"s1\",\"query\":" + QUERY + "}");
      JsonNode snapshot = ws.next(WsClient.type("snapshot", "s1"));
      Map<String, Double> held = points(snapshot.get("result"));
      assertThat(held).isEqualTo(queried());
      assertThat(snapshot.get("result").get("metric").asText()).isEqualTo("click_count");

      click(now);
      click(now - 30 * 60_000); // late: corrects a bucket half an hour back
      String lateBucket = Timestamps.format(Math.floorDiv(now - 30 * 60_000, 60_000) * 60_000);
      boolean sawLate = false;
      while (!held.equals(queried()) || !sawLate) {
        JsonNode update = ws.next(WsClient.type("update", "s1"));
        Map<String, Double> changed = points(update.get("result"));
        assertThat(changed).as("an update carries only changed buckets").isNotEmpty();
        sawLate |= changed.containsKey(lateBucket);
        held.putAll(changed);
      }
      assertThat(held).isEqualTo(queried());
      assertThat(held.get(lateBucket)).isEqualTo(1.0);

      ws.send("{\"type\":\"unsubscribe\",\"id\":\"s1\"}");
      ws.next(WsClient.type("unsubscribed", "s1"));
      click(now);
      Thread.sleep(3 * LiveSockets.UPDATE_MS);
      assertThat(ws.messages).noneMatch(m -> m.path("type").asText().equals("update"));
    }
  }

  @Test
  void aBurstOfSubscribesGetsAtMostTheCapInSnapshots() throws Exception {
    int sent = LiveSockets.MAX_SUBSCRIPTIONS + 50;
    try (WsClient ws = new WsClient(server.port(), true)) {
      for (int i = 0;
          i < sent;
          i++) { // back to back: none has its snapshot yet when the next comes
        ws.send("{\"type\":\"subscribe\",\"id\":\"s" + i + "\",\"query\":" + QUERY + "}");
      }
      int snapshots = 0;
      int refused = 0;
      while (snapshots + refused < sent) {
        JsonNode m = ws.next(x -> true);
        if (m.get("type").asText().equals("snapshot")) {
          snapshots++;
        } else if (m.get("type").asText().equals("error")) {
          assertThat(m.get("message").asText())
              .isEqualTo(
                  "at most " + LiveSockets.MAX_SUBSCRIPTIONS + " subscriptions per connection");
          refused++;
        }
      }
      assertThat(snapshots).isEqualTo(LiveSockets.MAX_SUBSCRIPTIONS);
      assertThat(refused).isEqualTo(50);
    }
  }

  /** 81 series × 1,441 buckets = 116,721 points at most: two fit the default 250,000. */
  private static final String WIDE =
      "{\"metric\":\"click_count\",\"start\":\"now-1d\",\"granularity\":\"1m\","
          + "\"groupBy\":\"page\",\"limit\":80}";

  private static String subscribe(String id, String query) {
    return "{\"type\":\"subscribe\",\"id\":\"" + id + "\",\"query\":" + query + "}";
  }

  @Test
  void subscriptionsPastThePointBudgetsAreRefusedAndFreeingOneLetsTheNextIn() throws Exception {
    try (WsClient ws = new WsClient(server.port(), true)) {
      ws.send(subscribe("a", WIDE));
      ws.next(WsClient.type("snapshot", "a"));
      ws.send(subscribe("b", WIDE));
      ws.next(WsClient.type("snapshot", "b"));
      ws.send(subscribe("c", WIDE));
      assertThat(ws.next(WsClient.type("error", "c")).get("message").asText())
          .isEqualTo(
              "this subscription could keep 116721 points and this connection's keep 233442; at"
                  + " most 250000 per connection (maxLivePointsPerConnection): unsubscribe some,"
                  + " use a coarser granularity or shorten the range");
      ws.send("{\"type\":\"unsubscribe\",\"id\":\"a\"}");
      ws.next(WsClient.type("unsubscribed", "a"));
      ws.send(subscribe("c", WIDE));
      ws.next(WsClient.type("snapshot", "c"));
    }

    // Across connections: 17 × 116,721 fit the default 2,000,000, an 18th does not.
    List<WsClient> open = new ArrayList<>();
    try {
      for (int i = 0; i < 18; i++) {
        WsClient ws = new WsClient(server.port(), true);
        open.add(ws);
        JsonNode m = subscribeRetryingWhileGloballyFull(ws, "w" + i, i < 17);
        assertThat(m.get("type").asText())
            .as("connection " + i)
            .isEqualTo(i < 17 ? "snapshot" : "error");
        if (i == 17) {
          assertThat(m.get("message").asText())
              .isEqualTo(
                  "live subscriptions on this server keep 1984257 points; this one could add"
                      + " 116721 of at most 2000000 (maxLivePoints): retry later or ask for fewer"
                      + " points");
        }
      }
      open.remove(0).close(); // its share comes back once the server sees it closed
      JsonNode m = subscribeRetryingWhileGloballyFull(open.get(open.size() - 1), "again", true);
      assertThat(m.get("type").asText()).isEqualTo("snapshot");
    } finally {
      open.forEach(WsClient::close);
    }
  }

  /**
   * Subscribes to {@link #WIDE}; while {@code retry} and the answer is the server-wide budget's
   * error (shares of closed connections come back asynchronously), tries again for up to 5 s.
   */
  private static JsonNode subscribeRetryingWhileGloballyFull(WsClient ws, String id, boolean retry)
      throws Exception {
    for (int attempt = 0; ; attempt++) {
      ws.send(subscribe(id + "-" + attempt, WIDE));
      String mine = id + "-" + attempt;
      JsonNode m = ws.next(x -> x.path("id").asText().equals(mine));
      if (!retry || !m.path("message").asText().contains("(maxLivePoints)") || attempt == 50) {
        return m;
      }
      Thread.sleep(100);
    }
  }

  @Test
  void onlyTheServersOwnOriginMayConnectByDefault() throws Exception {
    try (WsClient own = new WsClient(server.port(), true, "http://127.0.0.1:" + server.port())) {
      own.send("{\"type\":\"subscribe\",\"id\":\"s\",\"query\":" + QUERY + "}");
      own.next(WsClient.type("snapshot", "s"));
    }
    assertThatThrownBy(() -> new WsClient(server.port(), true, "https://evil.example"))
        .cause()
        .isInstanceOfSatisfying(
            java.net.http.WebSocketHandshakeException.class,
            e -> assertThat(e.getResponse().statusCode()).isEqualTo(403));
  }

  @Test
  void badMessagesGetErrorsAndTheConnectionStaysOpen() throws Exception {
    try (WsClient ws = new WsClient(server.port(), true)) {
      ws.send("not json");
      assertThat(ws.next(m -> true).get("type").asText()).isEqualTo("error");
      ws.send("{\"type\":\"subscribe\",\"query\":" + QUERY + "}");
      assertThat(ws.next(m -> true).get("message").asText()).contains("\"id\"");
      ws.send(
          "{\"type\":\"subscribe\",\"id\":\"bad\",\"query\":{\"metric\":\"click\",\"granularity\":\"2m\"}}");
      JsonNode bad = ws.next(WsClient.type("error", "bad"));
      assertThat(bad.get("message").asText()).startsWith("granularity: ");
      ws.send("{\"type\":\"subscribe\",\"id\":\"q\",\"query\":[1]}");
      assertThat(ws.next(WsClient.type("error", "q")).get("message").asText()).contains("object");
      ws.send("{\"type\":\"shout\",\"id\":\"x\"}");
      assertThat(ws.next(WsClient.type("error", "x")).get("message").asText())
          .contains("unknown message type");
      ws.send("{\"type\":\"unsubscribe\",\"id\":\"nothing\"}");
      ws.next(WsClient.type("error", "nothing"));

      ws.send("{\"type\":\"subscribe\",\"id\":\"ok\",\"query\":" + QUERY + "}");
      ws.next(WsClient.type("snapshot", "ok"));
      ws.send("{\"type\":\"subscribe\",\"id\":\"ok\",\"query\":" + QUERY + "}");
      assertThat(ws.next(WsClient.type("error", "ok")).get("message").asText()).contains("exists");
    }
  }

  @Test
  void aClientThatStopsReadingIsCutOffWhileOthersKeepReceiving() throws Exception {
    String big =
        "{\"metric\":\"click_count\",\"start\":\"now-3h\",\"granularity\":\"1s\",\"fill\":\"zero\"}";
    AtomicBoolean ingesting = new AtomicBoolean(true);
    Thread clicks =
        new Thread(
            () -> {
              while (ingesting.get()) {
                click(System.currentTimeMillis());
                try {
                  Thread.sleep(50);
                } catch (InterruptedException e) {
                  return;
                }
              }
            });
    try (WsClient slow = new WsClient(server.port(), false);
        WsClient fast = new WsClient(server.port(), true)) {
      fast.send("{\"type\":\"subscribe\",\"id\":\"f\",\"query\":" + QUERY + "}");
      fast.next(WsClient.type("snapshot", "f"));
      for (int i = 0; i < 60; i++) { // ~500 KB a snapshot, none of them read
        slow.send("{\"type\":\"subscribe\",\"id\":\"s" + i + "\",\"query\":" + big + "}");
      }
      clicks.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (server.liveClients() > 1 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(server.liveClients()).as("the slow client was cut off").isEqualTo(1);
      slow.readAll(); // what it finally reads ends with the reason
      assertThat(slow.closed.get(30, TimeUnit.SECONDS)).startsWith("1008 too slow");

      fast.messages.clear();
      fast.next(WsClient.type("update", "f"));
    } finally {
      ingesting.set(false);
      clicks.join();
    }
  }
}
