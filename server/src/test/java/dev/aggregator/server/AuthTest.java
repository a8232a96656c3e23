package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * API keys (docs/DESIGN.md §11) on the real server: every route of the route table refuses a
 * request without a key (401) and with a key of another scope (403), so a new route cannot forget
 * it; keys are made, used, listed and deleted; rate limits, the audit log, the first start's admin
 * key file, the WebSocket, the offline {@code keys} command and TLS.
 */
class AuthTest {
  @TempDir Path dir;
  private AggregatorServer server;
  private TestClient admin;

  @BeforeEach
  void start() throws Exception {
    server = TestServers.start(dir.resolve("data"), WEBHOOKS);
    admin = new TestClient(server.port());
  }

  private static final Map<String, String> WEBHOOKS =
      Map.of("AGGREGATOR_WEBHOOK_ALLOW", "127.0.0.0/8");

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private String key(String name, String scopes) {
    TestClient.Reply r =
        admin.postJson("/api/keys", "{\"name\":\"" + name + "\",\"scopes\":" + scopes + "}");
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json().get("key").asText();
  }

  @Test
  void everyRouteButThePublicOnesNeedsAKeyOfItsScope() {
    String ingest = key("sdk", "[\"ingest\"]");
    String read = key("grafana", "[\"read\"]");
    List<String> checked = new ArrayList<>();
    for (Routes.Entry e : server.routeTable()) {
      String path = e.path().replace(":id", "x").replace("*", "index.html");
      String method = e.method().name();
      if (e.scope() == null) {
        assertThat(admin.as(null).method(method, path).status())
            .as("public " + method + " " + path)
            .isNotIn(401, 403);
        continue;
      }
      TestClient.Reply none = admin.as(null).method(method, path);
      assertThat(none.status()).as("no key: " + method + " " + path).isEqualTo(401);
      assertThat(none.json().get("error").asText()).isEqualTo("unauthorized");
      assertThat(none.raw().headers().firstValue("WWW-Authenticate"))
          .hasValue("Bearer realm=\"aggregator\"");
      assertThat(admin.as("agg_wrong").method(method, path).status())
          .as("unknown key: " + method + " " + path)
          .isEqualTo(401);
      String other = e.scope() == Scope.READ ? ingest : read;
      TestClient.Reply wrong = admin.as(other).method(method, path);
      assertThat(wrong.status()).as("wrong scope: " + method + " " + path).isEqualTo(403);
      assertThat(wrong.json().get("message").asText()).contains("needs " + e.scope().label());
      checked.add(method + " " + path);
    }
    assertThat(checked)
        .contains(
            "POST /api/events/batch",
            "GET /api/analytics/query",
            "DELETE /api/keys/x",
            "GET /ws/analytics",
            "GET /metrics");
  }

  @Test
  void eachScopeDoesItsWorkAndAdminDoesAll() {
    TestClient sdk = admin.as(key("sdk", "[\"ingest\"]"));
    TestClient reader = admin.as(key("grafana", "[\"read\"]"));
    assertThat(
            sdk.postJson("/api/events", "{\"eventType\":\"buy\",\"timestamp\":1705314600000}")
                .status())
        .isEqualTo(202);
    assertThat(
            reader
                .get(
                    "/api/analytics/query?metric=buy&function=count&start=2024-01-15T00:00:00Z"
                        + "&end=2024-01-16T00:00:00Z")
                .status())
        .isEqualTo(200);
    assertThat(admin.get("/api/analytics/metrics").status()).isEqualTo(200);
    assertThat(admin.get("/api/events/deadletters").status()).isEqualTo(200);
  }

  @Test
  void healthWithoutAKeyTellsOnlyWhetherTheServerIsWell() {
    JsonNode open = admin.as(null).get("/api/events/health").json();
    assertThat(open.get("status").asText()).isEqualTo("up");
    assertThat(open.has("log")).isFalse();
    assertThat(admin.get("/api/events/health").json().has("log")).isTrue();
  }

  @Test
  void aKeyIsShownOnceStoredHashedAndStopsWorkingWhenDeleted() throws Exception {
    TestClient.Reply made =
        admin.postJson("/api/keys", "{\"name\":\"ci bot\",\"scopes\":[\"read\",\"ingest\"]}");
    assertThat(made.status()).isEqualTo(201);
    String secret = made.json().get("key").asText();
    String id = made.json().get("id").asText();
    assertThat(secret).startsWith("agg_").hasSizeGreaterThan(30);
    assertThat(made.json().get("scopes").toString()).isEqualTo("[\"ingest\",\"read\"]");
    assertThat(made.json().get("createdBy").asText()).isEqualTo("admin");

    String listed = admin.get("/api/keys").body();
    assertThat(listed).contains(id, "ci bot").doesNotContain(secret, "sha256");
    String stored = Files.readString(dir.resolve("data").resolve("keys.json"));
    assertThat(stored).contains(ApiKeys.sha256(secret)).doesNotContain(secret);

    TestClient bot = admin.as(secret);
    assertThat(bot.get("/api/analytics/metrics").status()).isEqualTo(200);
    assertThat(admin.method("DELETE", "/api/keys/" + id).status()).isEqualTo(204);
    assertThat(bot.get("/api/analytics/metrics").status()).isEqualTo(401);
    assertThat(admin.method("DELETE", "/api/keys/" + id).status()).isEqualTo(404);

    // The configured key cannot be deleted through the API.
    TestClient.Reply configured = admin.method("DELETE", "/api/keys/configured");
    assertThat(configured.status()).isEqualTo(409);
    assertThat(configured.json().get("message").asText()).contains("adminKey");
  }

  @Test
  void badKeyRequestsGetFieldErrors() {
    Map<String, String> bad =
        Map.of(
            "{\"name\":\"x\",\"scopes\":[\"root\"]}", "scopes",
            "{\"name\":\"x\",\"scopes\":[]}", "scopes",
            "{\"name\":\"\",\"scopes\":[\"read\"]}", "name",
            "{\"name\":\"x\",\"scopes\":[\"read\"],\"rateLimit\":-1}", "rateLimit",
            "{\"name\":\"x\",\"scopes\":[\"read\"],\"owner\":\"me\"}", "owner");
    bad.forEach(
        (body, field) -> {
          TestClient.Reply r = admin.postJson("/api/keys", body);
          assertThat(r.status()).as(body).isEqualTo(400);
          assertThat(r.json().get("details").get(0).get("field").asText())
              .as(body)
              .isEqualTo(field);
        });
    assertThat(admin.postJson("/api/keys", "not json").status()).isEqualTo(400);
  }

  @Test
  void aKeyPastItsRateLimitGets429WithRetryAfter() {
    TestClient.Reply made =
        admin.postJson("/api/keys", "{\"name\":\"slow\",\"scopes\":[\"read\"],\"rateLimit\":3}");
    TestClient slow = admin.as(made.json().get("key").asText());
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      statuses.add(slow.get("/api/analytics/metrics").status());
    }
    assertThat(statuses.subList(0, 3)).containsOnly(200);
    assertThat(statuses).contains(429);
    TestClient.Reply limited = slow.get("/api/analytics/metrics");
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.json().get("error").asText()).isEqualTo("rate_limited");
    assertThat(limited.raw().headers().firstValue("Retry-After")).hasValue("1");
    // Other keys are not held back by it.
    assertThat(admin.get("/api/analytics/metrics").status()).isEqualTo(200);
  }

  @Test
  void adminActionsAreAuditedWithTheKeysNameAndAcknowledgementsNameTheKey() throws Exception {
    TestClient ops = admin.as(key("ops", "[\"admin\"]"));
    TestClient.Reply alert =
        ops.postJson(
            "/api/alerts",
            "{\"name\":\"a\",\"metric\":\"buy_count\",\"condition\":\"greater_than\","
                + "\"threshold\":1,\"window\":\"5m\","
                + "\"notify\":[{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:9/T0/secret-token?k=v\"},{\"type\":\"websocket\"}]}");
    assertThat(alert.status()).as(alert.body()).isEqualTo(201);
    String id = alert.json().get("id").asText();

    // A read key sees the webhook's host only; admin keys see all of it.
    TestClient reader = admin.as(key("viewer", "[\"read\"]"));
    assertThat(reader.get("/api/alerts/" + id).body())
        .contains("http://127.0.0.1:9/…")
        .doesNotContain("secret-token");
    assertThat(reader.get("/api/alerts").body()).doesNotContain("secret-token");
    assertThat(ops.get("/api/alerts/" + id).body()).contains("secret-token");

    // "by" names the key, whatever the body says.
    try (WsClient ws = new WsClient(server.port(), true)) {
      for (int i = 0; i < 2; i++) {
        assertThat(
                ops.postJson(
                        "/api/events",
                        "{\"eventType\":\"buy\",\"timestamp\":" + System.currentTimeMillis() + "}")
                    .status())
            .isEqualTo(202);
      }
      JsonNode message = ws.next(m -> m.path("event").asText().equals("triggered"));
      assertThat(message.toString())
          .as("sockets are read scope: webhook host only")
          .contains("http://127.0.0.1:9/…")
          .doesNotContain("secret-token");
    }
    TestClient.Reply ack =
        ops.putJson("/api/alerts/" + id, "{\"status\":\"acknowledged\",\"by\":\"someone else\"}");
    assertThat(ack.status()).as(ack.body()).isEqualTo(200);
    assertThat(ops.get("/api/alerts/" + id).json().get("acknowledgedBy").asText()).isEqualTo("ops");
    assertThat(ops.method("DELETE", "/api/alerts/" + id).status()).isEqualTo(204);

    List<String> actions = new ArrayList<>();
    for (int i = 0; i < 100 && !actions.contains("DELETE /api/alerts/:id"); i++) {
      Thread.sleep(20); // written by the audit worker once each answer is sent
      actions.clear();
      for (JsonNode e : admin.get("/api/audit?limit=10").json().get("entries")) {
        actions.add(e.get("action").asText());
      }
    }
    assertThat(actions).contains("POST /api/keys", "POST /api/alerts", "DELETE /api/alerts/:id");
    JsonNode newest = admin.get("/api/audit?limit=1").json().get("entries").get(0);
    assertThat(newest.get("action").asText()).isIn("DELETE /api/alerts/:id", "GET /api/audit");
    String log = Files.readString(dir.resolve("data").resolve(AuditLog.FILE));
    assertThat(log).contains("\"keyName\":\"ops\",\"action\":\"POST /api/alerts\"");
    assertThat(log).contains("\"target\":\"" + id + "\"");
    assertThat(admin.get("/api/audit?limit=0").status()).isEqualTo(400);
  }

  @Test
  void theFirstStartWithoutAConfiguredKeyWritesAnAdminKeyOnlyItsOwnerCanRead() throws Exception {
    server.close();
    Path data = dir.resolve("fresh");
    server = TestServers.start(data, Map.of("AGGREGATOR_ADMIN_KEY", ""));
    Path file = server.adminKeyFile().orElseThrow();
    assertThat(file).isEqualTo(data.resolve("admin.key"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    String secret = Files.readString(file).strip();
    TestClient owner = new TestClient(server.port(), secret);
    assertThat(owner.get("/api/keys").status()).isEqualTo(200);
    assertThat(new TestClient(server.port()).get("/api/keys").status())
        .as("the test key is not configured here")
        .isEqualTo(401);
    // The only admin key cannot be deleted: that would lock everyone out.
    String id = owner.get("/api/keys").json().get("keys").get(0).get("id").asText();
    assertThat(owner.method("DELETE", "/api/keys/" + id).status()).isEqualTo(409);

    server.close();
    server = TestServers.start(data, Map.of("AGGREGATOR_ADMIN_KEY", ""));
    assertThat(Files.readString(file).strip()).as("kept across restarts").isEqualTo(secret);
    assertThat(new TestClient(server.port(), secret).get("/api/keys").status()).isEqualTo(200);
  }

  @Test
  void theKeysCommandWorksOnAStoppedServersDataAndRefusesARunningOnes() throws Exception {
    Map<String, String> env = Map.of("AGGREGATOR_DATA_DIR", dir.resolve("data").toString());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int running =
        KeysCommand.run(
            new String[] {"create", "--name", "sdk", "--scopes", "ingest"},
            env,
            new PrintStream(out),
            new PrintStream(err));
    assertThat(running).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("POST /api/keys");

    server.close();
    server = null;
    out.reset();
    int made =
        KeysCommand.run(
            new String[] {"create", "--name", "sdk", "--scopes", "ingest,read"},
            env,
            new PrintStream(out),
            new PrintStream(err));
    assertThat(made).as(err.toString(StandardCharsets.UTF_8)).isEqualTo(0);
    String secret = out.toString(StandardCharsets.UTF_8).strip();
    assertThat(secret).startsWith("agg_");
    assertThat(
            KeysCommand.run(
                new String[] {"create", "--name", "x", "--scopes", "root"},
                env,
                new PrintStream(out),
                new PrintStream(err)))
        .isEqualTo(2);

    server = TestServers.start(dir.resolve("data"));
    assertThat(new TestClient(server.port(), secret).get("/api/analytics/metrics").status())
        .isEqualTo(200);
  }

  @Test
  void theWebSocketTakesTheKeyAsHeaderOrSubprotocolAndChecksOrigins() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI ws = URI.create("ws://127.0.0.1:" + server.port() + "/ws/analytics");
    WebSocketListener quiet = new WebSocketListener();
    assertThat(upgradeFails(http.newWebSocketBuilder(), ws)).as("no key").isTrue();
    // A browser offers aggregator.v1 and bearer.<key>; the server answers aggregator.v1.
    var viaProtocol =
        http.newWebSocketBuilder()
            .subprotocols(KeyAuth.WS_PROTOCOL, "bearer." + TestServers.ADMIN_KEY)
            .buildAsync(ws, quiet)
            .get(10, TimeUnit.SECONDS);
    assertThat(viaProtocol.getSubprotocol()).isEqualTo(KeyAuth.WS_PROTOCOL);
    viaProtocol.abort();
    // A page of another site is refused even with a key, and even if it rebound our Host name.
    assertThat(
            upgradeFails(
                http.newWebSocketBuilder()
                    .header("Authorization", "Bearer " + TestServers.ADMIN_KEY)
                    .header("Origin", "http://evil.example"),
                ws))
        .isTrue();
    try (WsClient own = new WsClient(server.port(), true, "http://localhost:" + server.port())) {
      own.send("{\"type\":\"ping\"}");
    }
  }

  private static boolean upgradeFails(java.net.http.WebSocket.Builder b, URI uri) {
    try {
      b.buildAsync(uri, new WebSocketListener()).get(10, TimeUnit.SECONDS).abort();
      return false;
    } catch (Exception e) {
      return e.getCause() instanceof java.net.http.WebSocketHandshakeException
          || e instanceof CompletionException;
    }
  }

  private static final class WebSocketListener implements java.net.http.WebSocket.Listener {}

  @Test
  void theDashboardsPagesArePublicAndCarrySecurityHeaders() {
    TestClient.Reply page = admin.as(null).get("/ui/index.html");
    assertThat(page.status()).isEqualTo(200);
    var h = page.raw().headers();
    assertThat(h.firstValue("Content-Security-Policy").orElse(""))
        .contains("frame-ancestors 'none'", "script-src 'self'");
    assertThat(h.firstValue("X-Frame-Options")).hasValue("DENY");
    assertThat(h.firstValue("X-Content-Type-Options")).hasValue("nosniff");
    assertThat(h.firstValue("Referrer-Policy")).hasValue("no-referrer");
  }

  @Test
  void withACertificateAndKeyTheServerSpeaksHttpsOnly() throws Exception {
    server.close();
    Path cert = Path.of("src/test/resources/tls/cert.pem").toAbsolutePath();
    Path key = Path.of("src/test/resources/tls/key.pem").toAbsolutePath();
    server =
        TestServers.start(
            dir.resolve("data"),
            Map.of("AGGREGATOR_TLS_CERT", cert.toString(), "AGGREGATOR_TLS_KEY", key.toString()));
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(cert)) {
      trust.setCertificateEntry(
          "test", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    HttpClient https =
        HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> r =
        https.send(
            HttpRequest.newBuilder(
                    URI.create("https://localhost:" + server.port() + "/api/analytics/metrics"))
                .header("Authorization", "Bearer " + TestServers.ADMIN_KEY)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    boolean plainRefused;
    try {
      new TestClient(server.port()).get("/api/events/health");
      plainRefused = false;
    } catch (RuntimeException e) {
      plainRefused = true;
    }
    assertThat(plainRefused).as("plain HTTP on the TLS port").isTrue();
  }
}
