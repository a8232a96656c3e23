package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aggregator.testing.TestEvents;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real server on a free port, driven over HTTP. */
class ServerIntegrationTest {
  private static final String SEED_QUERY =
      "/api/analytics/query?metric=page_view_count&start=2024-01-15T00:00:00Z"
          + "&end=2024-01-16T00:00:00Z&granularity=1h";

  @TempDir Path dir;
  private AggregatorServer server;
  private TestClient client;

  @BeforeEach
  void start() throws Exception {
    start(Map.of());
  }

  private void start(Map<String, String> env) throws Exception {
    if (server != null) {
      server.close();
    }
    Map<String, String> all = new java.util.HashMap<>(env);
    all.put("AGGREGATOR_DATA_DIR", dir.toString());
    all.put("AGGREGATOR_PORT", "0");
    all.put("AGGREGATOR_ADMIN_KEY", TestServers.ADMIN_KEY);
    server = AggregatorServer.start(ServerConfig.load(new String[0], all));
    client = new TestClient(server.port());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private long seedCount() {
    JsonNode data = client.get(SEED_QUERY).json().get("data");
    return data.isEmpty() ? 0 : data.get(0).get("value").asLong();
  }

  /** Queries wait for aggregation, which follows the ack by microseconds to milliseconds. */
  private JsonNode awaitQuery(String path, java.util.function.Predicate<JsonNode> ready)
      throws InterruptedException {
    JsonNode json = null;
    for (int i = 0; i < 500; i++) {
      json = client.get(path).json();
      if (ready.test(json)) {
        return json;
      }
      Thread.sleep(10);
    }
    return json;
  }

  @Test
  void theSeedSampleEventComesBackFromTheSeedSampleQuery() throws Exception {
    var reply = client.postJson("/api/events", TestEvents.SEED_SAMPLE);
    assertThat(reply.status()).isEqualTo(202);
    assertThat(reply.json().get("status").asText()).isEqualTo("accepted");
    assertThat(java.util.UUID.fromString(reply.json().get("id").asText()).version())
        .as("the server's id for an event sent without one")
        .isEqualTo(7);

    JsonNode result = awaitQuery(SEED_QUERY, j -> j.get("data").size() == 1);

    assertThat(result.get("metric").asText()).isEqualTo("page_view_count");
    assertThat(result.get("granularity").asText()).isEqualTo("1h");
    assertThat(result.get("data").toString())
        .isEqualTo("[{\"timestamp\":\"2024-01-15T10:00:00Z\",\"value\":1}]");
    JsonNode value =
        awaitQuery(
            SEED_QUERY.replace("page_view_count", "page_view_value") + "&function=avg",
            j -> j.get("data").size() == 1);
    assertThat(value.get("data").get(0).get("value").asDouble()).isEqualTo(99.99);
  }

  @Test
  void whatNoRollupTierHoldsIsAnsweredFromTheRawEventsWhichExportAsNdjsonAndCsv() throws Exception {
    String other = TestEvents.SEED_SAMPLE.replace("electronics", "books");
    var batch =
        client.post(
            "/api/events/batch",
            "application/x-ndjson",
            TestEvents.SEED_SAMPLE + "\n" + TestEvents.SEED_SAMPLE + "\n" + other + "\n");
    assertThat(batch.json().get("accepted").asInt()).isEqualTo(3);

    // 1 s buckets of 2024: no rollup tier holds those (1 s totals are kept 6 h), raw events do.
    JsonNode filtered =
        awaitQuery(
            "/api/analytics/query?metric=page_view&start=2024-01-15T10:30:00Z"
                + "&end=2024-01-15T10:31:00Z&granularity=1s"
                + "&filter=category:electronics&filter=page:/products",
            j -> j.get("data").size() == 1);
    assertThat(filtered.get("source").asText()).isEqualTo("events");
    assertThat(filtered.get("data").get(0).get("value").asInt()).isEqualTo(2);
    assertThat(client.get(SEED_QUERY).json().get("source").asText()).isEqualTo("rollup");

    var ndjson =
        client.get("/api/events/export?start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z");
    assertThat(ndjson.status()).isEqualTo(200);
    String[] lines = ndjson.body().strip().split("\n");
    assertThat(lines).hasSize(3);
    JsonNode first = Http.JSON.readTree(lines[0]);
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (String line : lines) { // sent without ids: each got its own UUIDv7 on arrival
      ids.add(Http.JSON.readTree(line).get("id").asText());
    }
    assertThat(ids)
        .hasSize(3)
        .allMatch(
            id ->
                id.matches("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
    assertThat(first.get("eventType").asText()).isEqualTo("page_view");
    assertThat(first.get("timestamp").asText()).isEqualTo("2024-01-15T10:30:00.000Z");
    assertThat(first.get("properties").get("value").asDouble()).isEqualTo(99.99);
    var csv = client.get("/api/events/export?format=csv&eventType=page_view");
    assertThat(csv.body().strip().split("\n")).hasSize(4); // a header and three events
    assertThat(client.get("/api/events/export?format=xml").status()).isEqualTo(400);
  }

  @Test
  void hostileQueriesAndBodiesGetShortSpecific400sAndTheServerStaysUp() throws Exception {
    String q = "/api/analytics/query?metric=page_view&";
    String[][] cases = {
      {"start=0&end=9223372036854775807", "end is after 9999-12-31T23:59:59.999Z"},
      {
        "start=now-99999999999999999d",
        "start: '99999999999999999d' is longer than 10,000 years, the longest duration accepted"
      },
      {"start=now-3000000d", "start is before 1970-01-01T00:00:00Z"},
      {
        "start=now-1d&granularity=1m&groupBy=page&limit=1000&fill=zero",
        "this answer could hold 1442441 points (1001 series × 1441 buckets); at most 121000 per"
            + " answer: lower limit, use a coarser granularity or shorten the range"
      },
    };
    for (String[] c : cases) {
      var r = client.get(q + c[0]);
      assertThat(r.status()).as(c[0]).isEqualTo(400);
      assertThat(r.json().get("message").asText()).as(c[0]).isEqualTo(c[1]);
    }

    // One event with ~5 MiB of over-long property keys: 10 errors and a count, not an 83 MB answer.
    StringBuilder body = new StringBuilder("{\"eventType\":\"x\",\"properties\":{");
    String key = "k".repeat(200);
    for (int i = 0; body.length() < 5_000_000; i++) {
      body.append(i == 0 ? "" : ",").append('"').append(key).append(i).append("\":1");
    }
    body.append("}}");
    var bad = client.post("/api/events/batch", "application/x-ndjson", body.toString());
    assertThat(bad.status()).isEqualTo(200);
    assertThat(bad.body().length()).isLessThan(10_000);
    assertThat(bad.json().get("errors")).hasSize(11);
    assertThat(client.get("/api/events/health").status()).isEqualTo(200);
  }

  @Test
  void largeBodiesAreDecodedOnWorkersNeverOnAnEventLoop() throws Exception {
    // Watches the threads of this JVM (the server runs in it) while bodies that take long to
    // decode go in (over IngestHandlers.INLINE_DECODE_BYTES): every thread seen inside the decoder
    // must be one of the ingest workers. On an
    // event loop such a body stalled every connection of that loop for seconds.
    StringBuilder body = new StringBuilder();
    long now = System.currentTimeMillis();
    for (int line = 0; body.length() < 4_000_000; line++) {
      body.append("{\"eventType\":\"slow\",\"timestamp\":")
          .append(now)
          .append(",\"userId\":\"u")
          .append(line)
          .append("\",\"properties\":{");
      for (int k = 0; k < 40; k++) {
        body.append(k == 0 ? "" : ",")
            .append("\"k")
            .append(k)
            .append("\":\"v")
            .append(line)
            .append('"');
      }
      body.append("}}\n");
    }
    String ndjson = body.toString();
    java.util.Set<String> decoding = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.concurrent.atomic.AtomicBoolean sending =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread watcher =
        new Thread(
            () -> {
              while (sending.get()) {
                for (var e : Thread.getAllStackTraces().entrySet()) {
                  for (StackTraceElement f : e.getValue()) {
                    if (f.getClassName().equals("dev.aggregator.ingestion.EventDecoder")) {
                      decoding.add(e.getKey().getName());
                      break;
                    }
                  }
                }
                Thread.onSpinWait();
              }
            },
            "decoder-watcher");
    watcher.start();
    try {
      for (int i = 0; i < 3; i++) {
        var r = client.post("/api/events/batch", "application/x-ndjson", ndjson);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get("rejected").asInt()).isZero();
      }
    } finally {
      sending.set(false);
      watcher.join();
    }
    assertThat(decoding).as("threads seen decoding").isNotEmpty();
    assertThat(decoding).allMatch(name -> name.startsWith("ingest-decode"), "an ingest worker");
  }

  @Test
  void aNewEventTypePastMaxEventTypesIsRefusedBeforeTheAckNotDeadLetteredAfterIt()
      throws Exception {
    start(Map.of("AGGREGATOR_MAX_EVENT_TYPES", "3"));
    for (String type : List.of("a", "b", "c")) {
      assertThat(
              client
                  .postJson(
                      "/api/events", "{\"eventType\":\"" + type + "\",\"timestamp\":1705314600000}")
                  .status())
          .isEqualTo(202);
    }
    var refused =
        client.postJson("/api/events", "{\"eventType\":\"d\",\"timestamp\":1705314600000}");
    assertThat(refused.status()).isEqualTo(400);
    assertThat(refused.json().get("details").get(0).get("message").asText())
        .isEqualTo(
            "a new event type, and 3 exist (maxEventTypes): events of further types cannot be"
                + " aggregated");
    assertThat(
            client
                .postJson("/api/events", "{\"eventType\":\"a\",\"timestamp\":1705314600000}")
                .status())
        .as("known types still are")
        .isEqualTo(202);
    start(Map.of("AGGREGATOR_MAX_EVENT_TYPES", "3")); // a restart remembers which types exist
    assertThat(
            client
                .postJson("/api/events", "{\"eventType\":\"e\",\"timestamp\":1705314600000}")
                .status())
        .isEqualTo(400);
    assertThat(
            client
                .postJson("/api/events", "{\"eventType\":\"b\",\"timestamp\":1705314600000}")
                .status())
        .isEqualTo(202);
  }

  /** Headers announcing a 100,000-byte body, and one byte of it. */
  private static final String SLOW_UPLOAD =
      "POST /api/events/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
          + "Authorization: Bearer "
          + TestServers.ADMIN_KEY
          + "\r\nContent-Length: 100000\r\n\r\n{";

  /** A connection of its own with {@code request} written on it as is (no client fixes it up). */
  private java.net.Socket rawSend(String request) throws java.io.IOException {
    java.net.Socket s = new java.net.Socket("127.0.0.1", server.port());
    s.setSoTimeout(5_000);
    s.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return s;
  }

  /** Everything the server writes on {@code s} until it closes the connection. */
  private static String answer(java.net.Socket s) throws java.io.IOException {
    return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void theCatalogComesInPagesAndHealthSaysDegradedOnceEventTypesAreFull() throws Exception {
    start(Map.of("AGGREGATOR_MAX_EVENT_TYPES", "5"));
    StringBuilder batch = new StringBuilder("[");
    for (int i = 0; i < 5; i++) {
      batch.append(i == 0 ? "" : ",").append(TestEvents.SEED_SAMPLE.replace("page_view", "t" + i));
    }
    assertThat(client.postJson("/api/events/batch", batch + "]").json().get("accepted").asInt())
        .isEqualTo(5);
    JsonNode health = client.get("/api/events/health").json();
    assertThat(health.get("status").asText()).isEqualTo("degraded");
    assertThat(health.get("degraded").toString()).contains("maxEventTypes");
    awaitQuery("/api/analytics/metrics", j -> j.get("eventTypes").size() == 5);

    List<String> seen = new java.util.ArrayList<>();
    String after = null;
    for (int page = 0; page < 3; page++) {
      JsonNode p =
          client
              .get("/api/analytics/metrics?limit=2" + (after == null ? "" : "&after=" + after))
              .json();
      p.get("eventTypes").forEach(t -> seen.add(t.get("name").asText()));
      after = p.get("next").isNull() ? null : p.get("next").asText();
      assertThat(after == null).as("page " + page).isEqualTo(page == 2);
    }
    assertThat(seen).containsExactly("t0", "t1", "t2", "t3", "t4");
    assertThat(client.get("/api/analytics/metrics?limit=0").status()).isEqualTo(400);
    assertThat(client.get("/api/analytics/metrics?limit=1001").status()).isEqualTo(400);
  }

  @Test
  void aRequestWithBothContentLengthAndChunkedIsRefusedAndNothingOfItIsIngested() throws Exception {
    String event = TestEvents.SEED_SAMPLE.replace("page_view", "smuggled");
    String chunked = Integer.toHexString(event.length()) + "\r\n" + event + "\r\n0\r\n\r\n";
    try (java.net.Socket s =
        rawSend(
            "POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Authorization: Bearer "
                + TestServers.ADMIN_KEY
                + "\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunked)) {
      String answer = answer(s); // read to the end: the server closes the connection
      assertThat(answer).startsWith("HTTP/1.1 400");
    }
    // The same request with only one of the two is fine: the refusal is of the pair.
    try (java.net.Socket s =
        rawSend(
            "POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Authorization: Bearer "
                + TestServers.ADMIN_KEY
                + "\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunked)) {
      assertThat(answer(s)).startsWith("HTTP/1.1 202");
    }
    String q = SEED_QUERY.replace("metric=page_view_count", "metric=smuggled_count");
    JsonNode counted = awaitQuery(q, j -> !j.path("data").isEmpty());
    assertThat(counted.get("data").get(0).get("value").asLong()).as("only the second").isEqualTo(1);
  }

  @Test
  void aRequestForAnotherHostIsRefusedAsADnsRebindingPageWouldSendIt() throws Exception {
    for (String host : List.of("evil.example", "evil.example:8080", "127.0.0.1.evil.example")) {
      try (java.net.Socket s =
          rawSend(
              "GET /api/events/health HTTP/1.1\r\nHost: "
                  + host
                  + "\r\nConnection: close\r\n\r\n")) {
        String answer = answer(s);
        assertThat(answer).as(host).startsWith("HTTP/1.1 421");
        assertThat(answer).contains("is not served here; add its name to allowedHosts");
      }
    }
    assertThat(HostCheck.name("[::1]:8080")).isEqualTo("::1");
    assertThat(HostCheck.name("LocalHost:80")).isEqualTo("localhost");
    assertThat(client.get("/api/events/health").status()).as("127.0.0.1:port").isEqualTo(200);
    start(Map.of("AGGREGATOR_ALLOWED_HOSTS", "dash.example"));
    try (java.net.Socket s =
        rawSend(
            "GET /api/events/health HTTP/1.1\r\nHost: dash.example\r\nConnection: close\r\n\r\n")) {
      assertThat(answer(s)).startsWith("HTTP/1.1 200");
    }
  }

  @Test
  void writesWithoutAContentTypeAreRefusedAsACrossSitePageWouldSendThem() throws Exception {
    for (String path : List.of("/api/events", "/api/events/batch", "/api/alerts")) {
      var r = client.post(path, null, TestEvents.SEED_SAMPLE);
      assertThat(r.status()).as(path).isEqualTo(415);
      var plain = client.post(path, "text/plain", TestEvents.SEED_SAMPLE);
      assertThat(plain.status()).as(path + " text/plain").isEqualTo(415);
    }
    assertThat(
            client.post("/api/events", null, TestEvents.SEED_SAMPLE).json().get("message").asText())
        .isEqualTo(
            "a Content-Type is required (a write without one could come from any web page);"
                + " send application/json or application/x-ndjson");
    assertThat(seedCount()).isZero();
  }

  @Test
  void bodiesThatNeverArriveGet408AndDoNotHoldIngestBack() throws Exception {
    start(Map.of("AGGREGATOR_BODY_TIMEOUT", "1s", "AGGREGATOR_MAX_INGEST_REQUESTS", "4"));
    List<java.net.Socket> slow = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) { // every ingest slot: headers, then a body that never comes
        slow.add(rawSend(SLOW_UPLOAD));
      }
      Thread.sleep(300);
      assertThat(client.postJson("/api/events", TestEvents.SEED_SAMPLE).status())
          .as("while the slots are held")
          .isEqualTo(429);
      for (java.net.Socket s : slow) {
        String answer = answer(s);
        assertThat(answer).startsWith("HTTP/1.1 408");
        assertThat(answer).contains("the request body did not arrive within 1s (bodyTimeout)");
      }
      assertThat(client.postJson("/api/events", TestEvents.SEED_SAMPLE).status())
          .as("once they timed out")
          .isEqualTo(202);
    } finally {
      for (java.net.Socket s : slow) {
        s.close();
      }
    }
  }

  @Test
  void connectionsPastThePerAddressBoundGetOne503AndAreClosed() throws Exception {
    start(Map.of("AGGREGATOR_MAX_CONNECTIONS_PER_ADDRESS", "3"));
    List<java.net.Socket> open = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        open.add(new java.net.Socket("127.0.0.1", server.port()));
      }
      Thread.sleep(200); // the server has accepted them
      try (java.net.Socket extra =
          rawSend("GET /api/events/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) {
        String answer = answer(extra);
        assertThat(answer).startsWith("HTTP/1.1 503");
        assertThat(answer)
            .contains("3 connections are open from your address (maxConnectionsPerAddress)");
      }
      try (java.net.Socket silent = new java.net.Socket("127.0.0.1", server.port())) {
        silent.setSoTimeout(5_000); // one that asks nothing is closed after a moment, not kept
        assertThat(silent.getInputStream().read()).as("closed by the server").isEqualTo(-1);
      }
    } finally {
      for (java.net.Socket s : open) {
        s.close();
      }
    }
    Thread.sleep(200); // closed ones are counted out
    assertThat(client.get("/api/events/health").status()).isEqualTo(200);
  }

  @Test
  void aRepeatedIdIsAnsweredDuplicateAndCountedOnce() throws Exception {
    String event =
        TestEvents.SEED_SAMPLE.replace("{\"eventType\"", "{\"id\":\"retry-1\",\"eventType\"");
    assertThat(client.postJson("/api/events", event).json().get("status").asText())
        .isEqualTo("accepted");
    var second = client.postJson("/api/events", event);
    assertThat(second.status()).isEqualTo(202);
    assertThat(second.json().get("status").asText()).isEqualTo("duplicate");
    assertThat(second.json().get("id").asText()).isEqualTo("retry-1");
    var batch =
        client.post("/api/events/batch", "application/x-ndjson", event + "\n" + event + "\n");
    assertThat(batch.json().get("duplicates").asInt()).isEqualTo(2);

    awaitQuery(SEED_QUERY, j -> j.get("data").size() == 1);
    assertThat(seedCount()).isEqualTo(1);
  }

  @Test
  void aMixedBatchKeepsItsValidEventsAndReportsEachBadOne() throws Exception {
    String body =
        "["
            + TestEvents.SEED_SAMPLE
            + ",{\"eventType\":\"page view\",\"timestamp\":\"2024-01-15T10:31:00Z\"},"
            + "{\"timestamp\":\"2024-01-15T10:32:00Z\"},"
            + TestEvents.SEED_SAMPLE
            + "]";
    var reply = client.postJson("/api/events/batch", body);

    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.json().get("accepted").asInt()).isEqualTo(2);
    assertThat(reply.json().get("rejected").asInt()).isEqualTo(2);
    assertThat(reply.json().get("duplicates").asInt()).isZero();
    JsonNode errors = reply.json().get("errors");
    assertThat(errors).hasSize(2);
    assertThat(errors.get(0).get("index").asInt()).isEqualTo(1);
    assertThat(errors.get(0).get("field").asText()).isEqualTo("eventType");
    assertThat(errors.get(1).get("index").asInt()).isEqualTo(2);
    assertThat(errors.get(1).get("message").asText()).isEqualTo("is required");
    awaitQuery(
        SEED_QUERY,
        j -> j.get("data").size() == 1 && j.get("data").get(0).get("value").asInt() == 2);
    assertThat(seedCount()).isEqualTo(2);

    JsonNode dead = client.get("/api/events/deadletters?limit=10").json();
    assertThat(dead.get("deadLetters")).hasSize(2);
    assertThat(dead.get("deadLetters").get(0).get("reason").asText()).isEqualTo("invalid");
    assertThat(dead.get("deadLetters").get(0).get("event").asText())
        .contains("2024-01-15T10:32:00Z");
  }

  @Test
  void acceptsTheEventsWrapperAndNdjson() {
    var wrapped =
        client.postJson("/api/events/batch", "{\"events\":[" + TestEvents.SEED_SAMPLE + "]}");
    assertThat(wrapped.json().get("accepted").asInt()).isEqualTo(1);
    var ndjson =
        client.post(
            "/api/events/batch",
            "application/x-ndjson",
            TestEvents.SEED_SAMPLE + "\n\n" + TestEvents.SEED_SAMPLE);
    assertThat(ndjson.json().get("accepted").asInt()).isEqualTo(2);
  }

  @Test
  void answersAnInvalidEventWith400AndItsFieldErrors() {
    var reply =
        client.postJson(
            "/api/events",
            "{\"eventType\":\"\",\"timestamp\":\"yesterday\",\"properties\":{\"tags\":[1]}}");

    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.json().get("error").asText()).isEqualTo("invalid_event");
    List<String> fields = new ArrayList<>();
    reply.json().get("details").forEach(d -> fields.add(d.get("field").asText()));
    assertThat(fields).containsExactly("eventType", "timestamp", "properties.tags");
  }

  @Test
  void answersMalformedJsonAndAnEmptyBodyWith400() {
    var malformed = client.postJson("/api/events", "{\"eventType\":");
    assertThat(malformed.status()).isEqualTo(400);
    assertThat(malformed.json().get("error").asText()).isEqualTo("malformed_json");
    var empty = client.postJson("/api/events", "");
    assertThat(empty.status()).isEqualTo(400);
    assertThat(empty.json().get("error").asText()).isEqualTo("empty_body");
  }

  @Test
  void answersAnOversizedEventWith413() {
    String big =
        "{\"eventType\":\"x\",\"timestamp\":0,\"properties\":{\"s\":\""
            + "a".repeat(40_000)
            + "\"}}";
    var reply = client.postJson("/api/events", big);
    assertThat(reply.status()).isEqualTo(413);
    assertThat(reply.json().get("error").asText()).isEqualTo("payload_too_large");
    assertThat(reply.json().get("message").asText()).contains("32768 bytes (maxEventBytes)");
  }

  @Test
  void answersOversizedBatchesWith413() throws Exception {
    start(
        Map.of(
            "AGGREGATOR_MAX_BATCH_EVENTS",
            "3",
            "AGGREGATOR_MAX_BATCH_BYTES",
            "2048",
            "AGGREGATOR_MAX_IN_FLIGHT",
            "100"));
    String four =
        String.join(
            "\n",
            List.of(
                TestEvents.SEED_SAMPLE,
                TestEvents.SEED_SAMPLE,
                TestEvents.SEED_SAMPLE,
                TestEvents.SEED_SAMPLE));
    var tooMany = client.post("/api/events/batch", "application/x-ndjson", four);
    assertThat(tooMany.status()).isEqualTo(413);
    assertThat(tooMany.json().get("error").asText()).isEqualTo("batch_too_large");
    assertThat(tooMany.json().get("message").asText()).isEqualTo("a batch holds at most 3 events");

    var tooBig = client.post("/api/events/batch", "application/x-ndjson", "x".repeat(3000));
    assertThat(tooBig.status()).isEqualTo(413);
    assertThat(tooBig.json().get("message").asText()).contains("2048 bytes (maxBatchBytes)");
  }

  @Test
  void answersAnUnsupportedContentTypeWith415() {
    var reply = client.post("/api/events/batch", "text/plain", TestEvents.SEED_SAMPLE);
    assertThat(reply.status()).isEqualTo(415);
    assertThat(reply.json().get("error").asText()).isEqualTo("unsupported_media_type");
    assertThat(reply.json().get("message").asText()).contains("application/x-ndjson");
  }

  @Test
  void answersUnknownRoutesWith404AndWrongMethodsWith405AsJson() {
    var missing = client.get("/api/nothing");
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.json().get("error").asText()).isEqualTo("not_found");
    var wrong = client.method("DELETE", "/api/events");
    assertThat(wrong.status()).isEqualTo(405);
    assertThat(wrong.json().get("error").asText()).isEqualTo("method_not_allowed");
  }

  @Test
  void answersBadQueriesWith400NamingTheParameter() {
    var unknown = client.get("/api/analytics/query?metric=x&granularity=2m");
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.json().get("error").asText()).isEqualTo("invalid_query");
    assertThat(unknown.json().get("details").get(0).get("parameter").asText())
        .isEqualTo("granularity");

    var backwards =
        client.get(
            "/api/analytics/query?metric=x&start=2024-01-16T00:00:00Z&end=2024-01-15T00:00:00Z");
    assertThat(backwards.status()).isEqualTo(400);
    assertThat(backwards.json().get("message").asText()).contains("is after end");

    var tooLarge = client.get("/api/analytics/query?metric=x&start=now-30d&end=now&granularity=1s");
    assertThat(tooLarge.status()).isEqualTo(400);
    assertThat(tooLarge.json().get("message").asText()).contains("at most 11000 per query");
  }

  @Test
  void answers429WithRetryAfterWhenThePipelineIsFull() throws Exception {
    start(Map.of("AGGREGATOR_MAX_BATCH_EVENTS", "2", "AGGREGATOR_MAX_IN_FLIGHT", "2"));
    // Holding the rollups' read lock stalls aggregation, so acknowledged events stay in flight.
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Thread reader =
        new Thread(
            () ->
                server
                    .aggregator()
                    .rollups()
                    .read(
                        r -> {
                          holding.countDown();
                          try {
                            release.await();
                          } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                          }
                          return null;
                        }));
    reader.start();
    holding.await();
    try {
      String two = TestEvents.SEED_SAMPLE + "\n" + TestEvents.SEED_SAMPLE;
      assertThat(client.post("/api/events/batch", "application/x-ndjson", two).status())
          .isEqualTo(200);

      var refused = client.postJson("/api/events", TestEvents.SEED_SAMPLE);

      assertThat(refused.status()).isEqualTo(429);
      assertThat(refused.raw().headers().firstValue("Retry-After")).hasValue("1");
      assertThat(refused.json().get("error").asText()).isEqualTo("overloaded");
      JsonNode health = client.get("/api/events/health").json();
      assertThat(health.get("status").asText()).isEqualTo("degraded");
      assertThat(health.get("degraded").get(0).asText())
          .isEqualTo("the pipeline is over 80% full (maxInFlight)");

      // A refused batch is refused whole, before decoding: its invalid line is not dead-lettered
      // (the client retries the batch, and would otherwise have it recorded twice).
      String mixed = "{\"eventType\":\"bad type!\"}\n" + TestEvents.SEED_SAMPLE;
      var refusedBatch = client.post("/api/events/batch", "application/x-ndjson", mixed);
      assertThat(refusedBatch.status()).isEqualTo(429);
      assertThat(refusedBatch.json().get("error").asText()).isEqualTo("overloaded");
      assertThat(client.get("/api/events/deadletters").json().get("total").asLong()).isZero();
    } finally {
      release.countDown();
      reader.join();
    }
    awaitQuery(SEED_QUERY, j -> j.get("data").size() == 1);
    // Permits come back once the event store has staged the events too, just after aggregation.
    awaitQuery("/api/events/health", j -> j.get("status").asText().equals("up"));
    assertThat(client.postJson("/api/events", TestEvents.SEED_SAMPLE).status()).isEqualTo(202);
  }

  @Test
  void healthAndMetricsShowTheLifecycleCounts() throws Exception {
    client.post(
        "/api/events/batch",
        "application/x-ndjson",
        TestEvents.SEED_SAMPLE + "\n{\"eventType\":\"x\"}");
    awaitQuery(SEED_QUERY, j -> j.get("data").size() == 1);

    JsonNode health = client.get("/api/events/health").json();
    assertThat(health.get("status").asText()).isEqualTo("up");
    JsonNode lifecycle = health.get("lifecycle");
    assertThat(lifecycle.get("received").asLong()).isEqualTo(2);
    assertThat(lifecycle.get("valid").asLong()).isEqualTo(1);
    assertThat(lifecycle.get("invalid").asLong()).isEqualTo(1);
    assertThat(lifecycle.get("aggregated").asLong()).isEqualTo(1);
    assertThat(health.get("log").get("fsyncs").asLong()).isPositive();

    var metrics = client.get("/metrics");
    assertThat(metrics.status()).isEqualTo(200);
    assertThat(metrics.raw().headers().firstValue("Content-Type").orElse(""))
        .startsWith("text/plain");
    assertThat(metrics.body())
        .contains("aggregator_events_total{state=\"received\"} 2.0")
        .contains("aggregator_events_total{state=\"invalid\"} 1.0")
        .contains("aggregator_wal_fsync_seconds_bucket")
        .contains(
            "aggregator_http_request_duration_seconds_bucket{route=\"/api/events/batch\",status=\"200\"");
  }

  @Test
  void validatesTheDeadLetterLimit() {
    assertThat(client.get("/api/events/deadletters?limit=0").status()).isEqualTo(400);
    assertThat(client.get("/api/events/deadletters?limit=abc").status()).isEqualTo(400);
    assertThat(client.get("/api/events/deadletters?reason=bogus").status()).isEqualTo(400);
    assertThat(client.get("/api/events/deadletters?limit=1000").status()).isEqualTo(200);
  }

  @Test
  void survivesARestartWithTheSameAnswers() throws Exception {
    client.postJson("/api/events", TestEvents.SEED_SAMPLE);
    awaitQuery(SEED_QUERY, j -> j.get("data").size() == 1);
    String before = client.get(SEED_QUERY).body();

    start(Map.of());

    assertThat(client.get(SEED_QUERY).body()).isEqualTo(before);
    assertThat(client.get("/api/events/deadletters").json().get("total").asLong()).isZero();
  }

  @Test
  void answers429BeforeReadingABodyWhenTooManyUploadsAreInProgress() throws Exception {
    start(Map.of("AGGREGATOR_MAX_INGEST_REQUESTS", "1"));
    // A client that announces a body and is slow to send it holds the only admission.
    java.net.Socket slow = rawSend(SLOW_UPLOAD);
    try {
      TestClient.Reply refused = null;
      for (int i = 0; i < 200; i++) { // until the server has taken the slow request in
        refused = client.postJson("/api/events", TestEvents.SEED_SAMPLE);
        if (refused.status() == 429) {
          break;
        }
        Thread.sleep(10);
      }
      assertThat(refused.status()).isEqualTo(429);
      assertThat(refused.json().get("message").asText()).contains("maxIngestRequests");
      assertThat(refused.raw().headers().firstValue("Retry-After")).hasValue("1");
    } finally {
      slow.close();
    }
    // The slow client is gone: admission is back.
    TestClient.Reply accepted = null;
    for (int i = 0; i < 200; i++) {
      accepted = client.postJson("/api/events", TestEvents.SEED_SAMPLE);
      if (accepted.status() == 202) {
        break;
      }
      Thread.sleep(10);
    }
    assertThat(accepted.status()).isEqualTo(202);
  }

  @Test
  void groupsFiltersAndListsTheCatalogOverHttp() throws Exception {
    String batch =
        String.join(
            "\n",
            "{\"eventType\":\"purchase\",\"userId\":\"a\",\"timestamp\":\"2024-01-15T10:00:00Z\",\"source\":\"ios\",\"properties\":{\"country\":\"DE\",\"amount\":10}}",
            "{\"eventType\":\"purchase\",\"userId\":\"b\",\"timestamp\":\"2024-01-15T10:10:00Z\",\"source\":\"web\",\"properties\":{\"country\":\"DE\",\"amount\":30}}",
            "{\"eventType\":\"purchase\",\"userId\":\"a\",\"timestamp\":\"2024-01-15T11:00:00Z\",\"source\":\"web\",\"properties\":{\"country\":\"FR\",\"amount\":5}}");
    assertThat(
            client
                .post("/api/events/batch", "application/x-ndjson", batch)
                .json()
                .get("accepted")
                .asInt())
        .isEqualTo(3);
    String base =
        "/api/analytics/query?metric=purchase_amount&start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z";

    JsonNode grouped =
        awaitQuery(base + "&granularity=1d&groupBy=country", j -> j.path("series").size() == 2);
    assertThat(grouped.get("series").toString())
        .isEqualTo(
            "[{\"dimensions\":{\"country\":\"DE\"},\"data\":[{\"timestamp\":\"2024-01-15T00:00:00Z\",\"value\":40}]},"
                + "{\"dimensions\":{\"country\":\"FR\"},\"data\":[{\"timestamp\":\"2024-01-15T00:00:00Z\",\"value\":5}]}]");
    assertThat(grouped.has("data")).as("grouped answers carry series, not data").isFalse();

    JsonNode filtered = client.get(base + "&granularity=1h&filter=source:web&function=max").json();
    assertThat(filtered.get("data").toString())
        .isEqualTo(
            "[{\"timestamp\":\"2024-01-15T10:00:00Z\",\"value\":30},{\"timestamp\":\"2024-01-15T11:00:00Z\",\"value\":5}]");
    JsonNode users =
        client
            .get(
                base.replace("purchase_amount", "purchase")
                    + "&granularity=1d&function=unique_users")
            .json();
    assertThat(users.get("data").get(0).get("value").asInt()).isEqualTo(2);

    JsonNode catalog = client.get("/api/analytics/metrics").json();
    assertThat(catalog.get("metrics").findValuesAsText("name"))
        .containsExactly("purchase", "purchase_count", "purchase_amount");
    JsonNode type = catalog.get("eventTypes").get(0);
    assertThat(type.get("name").asText()).isEqualTo("purchase");
    assertThat(type.get("events").asInt()).isEqualTo(3);
    assertThat(type.get("firstSeen").asText()).isEqualTo("2024-01-15T10:00:00Z");
    assertThat(type.get("fields").toString()).isEqualTo("[\"amount\"]");
    assertThat(type.get("dimensions").toString())
        .isEqualTo(
            "[{\"name\":\"source\",\"cardinality\":2,\"capped\":false,\"sparse\":false},"
                + "{\"name\":\"country\",\"cardinality\":2,\"capped\":false,\"sparse\":false}]");
  }

  @Test
  void answers429WhenTooManyQueriesAreWaiting() throws Exception {
    start(Map.of("AGGREGATOR_MAX_QUERIES", "1"));
    // Aggregation holding the write lock stalls queries: the first waits, the second is refused.
    CountDownLatch applying = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Thread writer =
        new Thread(
            () ->
                server
                    .aggregator()
                    .rollups()
                    .apply(
                        List.of(dev.aggregator.testing.TestEvents.event("x").build()),
                        System.currentTimeMillis(),
                        (i, e, o) -> {
                          applying.countDown();
                          try {
                            release.await();
                          } catch (InterruptedException ex) {
                            Thread.currentThread().interrupt();
                          }
                        }));
    writer.start();
    applying.await();
    try {
      // Two queries at once: one takes the only slot and waits, the other is refused at once.
      var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> client.get(SEED_QUERY));
      var second = java.util.concurrent.CompletableFuture.supplyAsync(() -> client.get(SEED_QUERY));
      TestClient.Reply refused =
          (TestClient.Reply)
              java.util.concurrent.CompletableFuture.anyOf(first, second)
                  .get(20, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(refused.status()).isEqualTo(429);
      assertThat(refused.json().get("message").asText()).contains("maxQueries");
      release.countDown();
      TestClient.Reply waited = first.get() == refused ? second.get() : first.get();
      assertThat(waited.status()).as("the waiting query is answered").isEqualTo(200);
    } finally {
      release.countDown();
      writer.join();
    }
  }
}
