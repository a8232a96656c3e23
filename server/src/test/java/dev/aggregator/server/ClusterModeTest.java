package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.cluster.LocalKafka;
import dev.aggregator.cluster.LocalPostgres;
import dev.aggregator.cluster.flink.RollupJob;
import dev.aggregator.testing.StandardWorkload;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two servers in cluster mode over a real Kafka broker, a real PostgreSQL and the Flink job on a
 * real Flink MiniCluster, against an embedded server fed the same events: every batch of the
 * standard workload (late, historical and clients' retries included) goes to the embedded server
 * and to one of the two cluster servers in turn — so a retry often reaches the other server than
 * its original, and only the job's keyed dedup can drop it — and every query the rollups answer
 * exactly is then answered the same through the embedded server and through both cluster servers. A
 * query only the raw events answer is refused by the cluster servers with a sentence (they have no
 * event store yet), never answered approximately; routes the cluster mode does not serve yet answer
 * 501. Midway, one cluster server shuts down with requests in flight and starts again: every
 * acknowledged event still counts once, and what it did not acknowledge, sent again to the other
 * server, too. Then PostgreSQL crashes and restarts while more events go in, and the servers answer
 * as the embedded one again.
 */
class ClusterModeTest {
  private static final int PARTITIONS = 4;
  private static final int EVENTS = 30_000;
  private static final int BATCH = 1_000;
  private static final long DAY = 86_400_000L;
  private static final Pattern VALUE = Pattern.compile("\"value\":(-?[0-9][0-9.E+-]*)");

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  @TempDir Path dir;

  @Test
  void twoClusterServersAnswerAsTheEmbeddedServer() throws Exception {
    LocalKafka kafka = LocalKafka.shared();
    LocalPostgres pg = LocalPostgres.shared();
    String topic = "cluster-mode-events";
    kafka.createTopic(topic, 3);

    RollupJob.Options job = new RollupJob.Options();
    job.bootstrapServers = kafka.bootstrap();
    job.topic = topic;
    job.jdbcUrl = pg.jdbcUrl();
    job.jdbcProperties = pg.properties();
    job.schemaPrefix = pg.newSchema() + "_p";
    job.partitions = PARTITIONS;
    job.parallelism = 2;
    job.checkpointInterval = Duration.ofMillis(300);

    Map<String, String> cluster = new HashMap<>();
    cluster.put("AGGREGATOR_MODE", "cluster");
    cluster.put("AGGREGATOR_KAFKA", kafka.bootstrap());
    cluster.put("AGGREGATOR_KAFKA_TOPIC", topic);
    cluster.put("AGGREGATOR_POSTGRES_URL", pg.jdbcUrl());
    cluster.put("AGGREGATOR_POSTGRES_USER", pg.properties().getProperty("user"));
    cluster.put("AGGREGATOR_ROLLUP_PARTITIONS", Integer.toString(PARTITIONS));
    cluster.put("AGGREGATOR_SCHEMA_PREFIX", job.schemaPrefix);

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    RollupJob.build(env, job, s -> s);
    JobClient running = env.executeAsync("rollups for cluster-mode servers");
    AggregatorServer a = null;
    List<String> retried;
    try (AggregatorServer embedded = TestServers.start(dir.resolve("embedded"));
        AggregatorServer b = TestServers.start(dir.resolve("b"), cluster)) {
      a = TestServers.start(dir.resolve("a"), cluster);
      assertThat(a.aggregator()).as("no embedded engine in cluster mode").isNull();
      TestClient e = new TestClient(embedded.port());
      TestClient toB = new TestClient(b.port());

      long now = System.currentTimeMillis();
      List<String> all = batches(now);
      List<String> batches = all.subList(0, EVENTS / BATCH);
      List<String> later = all.subList(EVENTS / BATCH, all.size());
      long accepted = 0;
      for (String batch : batches) {
        accepted += WorkloadSender.post(e, batch, BATCH, 0).accepted();
      }
      // A third to A and B in turn; a third to A, 4 requests at a time, while A shuts down (what
      // A did not acknowledge, the client sends to B: a retry, the same ids); a third to A, started
      // again on its data directory, and B in turn.
      int third = batches.size() / 3;
      for (int i = 0; i < third; i++) {
        toCluster(i % 2 == 0 ? new TestClient(a.port()) : toB, batches.get(i));
      }
      retried = shutDownMidStream(a, batches.subList(third, 2 * third));
      a = null;
      assertThat(retried).as("batches A did not acknowledge").isNotEmpty();
      for (String batch : retried) {
        toCluster(toB, batch);
      }
      a = TestServers.start(dir.resolve("a"), cluster);
      for (int i = 2 * third; i < batches.size(); i++) {
        toCluster(i % 2 == 0 ? new TestClient(a.port()) : toB, batches.get(i));
      }
      List<TestClient> nodes = List.of(new TestClient(a.port()), toB);
      WorkloadSender.awaitAggregated(e, accepted, 60_000);

      List<String> queries = queries(now);
      Map<String, String> want = exactAnswers(e, queries);
      int exact = want.size();
      assertThat(exact).as("queries the rollups answer").isGreaterThan(queries.size() / 2);
      System.out.printf(
          "%d of %d queries exact from the rollups; %d of %d batches not acknowledged by the"
              + " server shut down%n",
          exact, queries.size(), retried.size(), third);

      for (TestClient node : nodes) {
        awaitSame(node, want);
        for (String q : queries) {
          if (!want.containsKey(q)) { // the embedded server read its raw events
            TestClient.Reply r = node.get(q);
            assertThat(r.status()).as("refused, not approximated: %s", q).isEqualTo(400);
            assertThat(r.json().get("message").asText()).isNotBlank();
          }
        }
        TestClient.Reply health = node.get("/api/events/health");
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.json().get("mode").asText()).isEqualTo("cluster");
        // Nothing new lands now: a query asked again is the answer cache's.
        long hits = health.json().get("answerCache").get("hits").asLong();
        String again = want.keySet().iterator().next();
        for (int i = 0; i < 20; i++) {
          assertThat(same(node.get(again).body(), want.get(again))).isTrue();
        }
        assertThat(node.get("/api/events/health").json().get("answerCache").get("hits").asLong())
            .as("answers from the cache")
            .isGreaterThan(hits);
        assertThat(node.get("/api/alerts").status()).isEqualTo(501);
        assertThat(node.get("/api/alerts").json().get("error").asText())
            .isEqualTo("not_in_cluster_mode");
        assertThat(node.get("/api/analytics/dashboard").status()).isEqualTo(200);
      }

      // PostgreSQL crashes and comes back; meanwhile more events go in through both servers
      // (ingest needs Kafka only). The job restarts until it can reload its partitions, the
      // servers reopen their stores, and each event still counts once.
      pg.crashAndRestart(Duration.ofSeconds(2));
      for (int i = 0; i < later.size(); i++) {
        accepted += WorkloadSender.post(e, later.get(i), BATCH, 0).accepted();
        toCluster(nodes.get(i % 2), later.get(i));
      }
      WorkloadSender.awaitAggregated(e, accepted, 60_000);
      Map<String, String> after = exactAnswers(e, queries);
      assertThat(after).as("the later events changed answers").isNotEqualTo(want);
      for (TestClient node : nodes) {
        awaitSame(node, after);
      }
    } finally {
      if (a != null) {
        a.close();
      }
      running.cancel().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * The embedded server's answers to the queries its rollups answer exactly (not from raw events).
   */
  private static Map<String, String> exactAnswers(TestClient e, List<String> queries) {
    Map<String, String> out = new HashMap<>();
    for (String q : queries) {
      TestClient.Reply r = e.get(q);
      assertThat(r.status()).as("embedded: %s %s", q, r.body()).isEqualTo(200);
      if (r.json().get("source").asText().equals("rollup")) {
        out.put(q, r.body());
      }
    }
    return out;
  }

  /**
   * A server whose PostgreSQL cannot be reached starts anyway: events go to Kafka, queries answer
   * 503 with a sentence and Retry-After, health says why it is degraded.
   */
  @Test
  void aServerWithoutItsPostgresIngestsAndRefusesQueries() throws Exception {
    LocalKafka kafka = LocalKafka.shared();
    kafka.createTopic("cluster-mode-nopg", 1);
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    Map<String, String> cluster = new HashMap<>();
    cluster.put("AGGREGATOR_MODE", "cluster");
    cluster.put("AGGREGATOR_KAFKA", kafka.bootstrap());
    cluster.put("AGGREGATOR_KAFKA_TOPIC", "cluster-mode-nopg");
    cluster.put("AGGREGATOR_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:" + closed + "/postgres");
    cluster.put("AGGREGATOR_ROLLUP_PARTITIONS", "2");
    try (AggregatorServer server = TestServers.start(dir.resolve("nopg"), cluster)) {
      TestClient c = new TestClient(server.port());
      TestClient.Reply ingest =
          c.postJson(
              "/api/events",
              "{\"eventType\":\"signup\",\"userId\":\"u1\",\"timestamp\":\""
                  + Instant.now()
                  + "\"}");
      assertThat(ingest.status()).as(ingest.body()).isEqualTo(202);
      TestClient.Reply q =
          c.get("/api/analytics/query?metric=signup&function=count&granularity=1h&start=now-1d");
      assertThat(q.status()).as(q.body()).isEqualTo(503);
      assertThat(q.json().get("error").asText()).isEqualTo("rollups_unavailable");
      assertThat(q.raw().headers().firstValue("Retry-After")).hasValue("1");
      assertThat(q.body()).doesNotContain("Exception").doesNotContain("jdbc:");
      TestClient.Reply health = c.get("/api/events/health");
      assertThat(health.json().get("status").asText()).isEqualTo("degraded");
      assertThat(health.json().get("degraded").toString()).contains("PostgreSQL cannot be read");
    }
  }

  /** Posts {@code batch} until a 200 (429 is retried); every valid event taken or a duplicate. */
  private static void toCluster(TestClient node, String batch) {
    WorkloadSender.Totals t = WorkloadSender.post(node, batch, BATCH, 0);
    assertThat(t.accepted() + t.duplicates()).isEqualTo(BATCH);
  }

  /**
   * Posts {@code batches} to {@code server}, 4 at a time, and closes it once the first is
   * acknowledged; returns the batches it did not acknowledge (refused, cut off or never reached).
   */
  private static List<String> shutDownMidStream(AggregatorServer server, List<String> batches)
      throws Exception {
    TestClient client = new TestClient(server.port());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> acked = new ArrayList<>();
      for (String batch : batches) {
        acked.add(
            pool.submit(
                () -> {
                  try {
                    return client.post("/api/events/batch", "application/x-ndjson", batch).status()
                        == 200;
                  } catch (RuntimeException cutOff) {
                    return false;
                  }
                }));
      }
      acked.get(0).get(60, TimeUnit.SECONDS);
      server.close(); // with requests in flight
      List<String> notAcked = new ArrayList<>();
      for (int i = 0; i < batches.size(); i++) {
        if (!acked.get(i).get(60, TimeUnit.SECONDS)) {
          notAcked.add(batches.get(i));
        }
      }
      return notAcked;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * The standard workload as batches of {@value #BATCH} valid events (the invalid ones are dead
   * letters, tested elsewhere), its clock walking through the two hours before {@code now}.
   */
  private static List<String> batches(long now) {
    long[] tick = {0};
    long from = now - 2 * 3_600_000L;
    int batches = EVENTS / BATCH + 6; // 6 for after PostgreSQL's crash
    long total = (long) batches * BATCH;
    StandardWorkload workload =
        new StandardWorkload(20_261_203L, () -> from + tick[0]++ * (now - from) / total);
    List<String> out = new ArrayList<>();
    for (int b = 0; b < batches; b++) {
      StringBuilder body = new StringBuilder(BATCH * 230);
      for (int valid = 0; valid < BATCH; ) {
        StandardWorkload.Generated g = workload.next();
        if (g.kind() != StandardWorkload.Kind.INVALID) {
          body.append(g.json()).append('\n');
          valid++;
        }
      }
      out.add(body.toString());
    }
    return out;
  }

  /**
   * Exact functions of the 4 busiest types in 3 granularities over the last two days (and per day
   * over 200, where the historical events are), plain, filtered and grouped by one key (the
   * rollups' marginal series) and by two (the raw events', or a refusal).
   */
  private static List<String> queries(long now) {
    String start = Instant.ofEpochMilli((now / DAY - 1) * DAY).toString();
    String end = Instant.ofEpochMilli((now / DAY + 1) * DAY).toString();
    String longStart = Instant.ofEpochMilli((now / DAY - 200) * DAY).toString();
    List<String> shapes =
        List.of(
            "",
            "&filter=country:US",
            "&filter=country:US%7CDE",
            "&groupBy=device",
            "&filter=device:mobile&groupBy=device",
            "&groupBy=country&limit=5",
            "&filter=country:US&groupBy=device");
    List<String> out = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      String type = StandardWorkload.EVENT_TYPES[t];
      for (String fn : List.of("count", "sum", "avg", "min", "max")) {
        String metric = fn.equals("count") ? type : type + "_value";
        for (String g : List.of("1m", "1h", "1d")) {
          for (String shape : shapes) {
            out.add(query(metric, fn, g, start, end) + shape);
          }
        }
        out.add(query(metric, fn, "1d", longStart, end));
      }
    }
    return out;
  }

  private static String query(String metric, String fn, String g, String start, String end) {
    return "/api/analytics/query?metric="
        + metric
        + "&function="
        + fn
        + "&granularity="
        + g
        + "&start="
        + URLEncoder.encode(start, StandardCharsets.UTF_8)
        + "&end="
        + URLEncoder.encode(end, StandardCharsets.UTF_8);
  }

  /**
   * Asks each query until the node answers as the embedded server; fails on the first after 2 min.
   */
  private static void awaitSame(TestClient node, Map<String, String> want) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    for (Map.Entry<String, String> q : want.entrySet()) {
      String got;
      do {
        TestClient.Reply r = node.get(q.getKey());
        got = r.status() == 200 ? r.body() : r.status() + " " + r.body();
        if (same(got, q.getValue())) {
          break;
        }
        Thread.sleep(200);
      } while (System.nanoTime() < deadline);
      if (!same(got, q.getValue())) {
        assertThat(got).as("cluster answer to %s", q.getKey()).isEqualTo(q.getValue());
      }
    }
  }

  /**
   * The same answer: equal but for values, which agree to 1e-9 relative — sums merged in another
   * order (the job's partitions, a checkpoint's stored and in-memory deltas) differ in the last
   * bits, and rounding both to a number of digits still splits the pairs that straddle a boundary.
   */
  private static boolean same(String got, String want) {
    if (!VALUE.matcher(got).replaceAll("#").equals(VALUE.matcher(want).replaceAll("#"))) {
      return false;
    }
    Matcher g = VALUE.matcher(got);
    Matcher w = VALUE.matcher(want);
    while (g.find() && w.find()) {
      double a = Double.parseDouble(g.group(1));
      double b = Double.parseDouble(w.group(1));
      if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.max(Math.abs(a), Math.abs(b)))) {
        return false;
      }
    }
    return true;
  }
}
