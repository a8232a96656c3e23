package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.ZoneId;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restart changes no answer: the JSON of a set of queries (filters, groupBy, percentiles,
 * unique_users, time zones, tiers from 1 m to 1 d) is recorded after ingesting 200k events of the
 * standard workload, the server is restarted on the same data directory, and every answer must come
 * back byte for byte — after a graceful stop (which writes a last checkpoint, so nothing is
 * replayed) and after {@code kill -9} of a child process (whose log tail past the last checkpoint
 * is replayed).
 *
 * <p>The caps are the defaults, so most combinations of the workload's dimensions pass each type's
 * cap and filtered answers come from the raw event store, whose files and log position must survive
 * too. Every answer, before and after, is also held to the exact {@link QueryModel} (no caps:
 * answers are exact) by {@link AnswerCheck}.
 *
 * <p>Percentiles are the one exception to byte equality. DataSketches compacts a KLL sketch with an
 * unseeded random coin ({@code KllSketch.random}), so merging the same sketches twice can keep
 * different values once they hold more than the sketch keeps exactly: two runs of the same query
 * may differ, and so may a row merged at a checkpoint (the store's copy after a restart) and the
 * same rows merged by a query before it. A percentile answer may therefore change, in its values
 * only, as long as both values are within the sketch's rank error of the exact percentile.
 */
class RestartEquivalenceTest {
  private static final int EVENTS = 200_000;
  private static final int BATCH = 5_000;
  private static final long HOUR = 3_600_000L;
  private static final long DAY = 24 * HOUR;
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

  @TempDir Path dir;
  private final long now = System.currentTimeMillis();
  private final long hour = Math.floorDiv(now, HOUR) * HOUR;
  private final List<Process> processes = new CopyOnWriteArrayList<>();
  private final QueryModel model = new QueryModel(); // exact: past the caps, raw events answer
  private final AnswerCheck check = new AnswerCheck(model, true);
  private AggregatorServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    processes.forEach(Process::destroyForcibly);
  }

  @Test
  void aGracefulRestartAnswersEveryQueryAsBefore() throws Exception {
    // Checkpoints every second: some rows are in the store, some only in memory while answering.
    Map<String, String> env =
        Map.of(
            "AGGREGATOR_DATA_DIR",
            dir.toString(),
            "AGGREGATOR_PORT",
            "0",
            "AGGREGATOR_ADMIN_KEY",
            TestServers.ADMIN_KEY,
            "AGGREGATOR_CHECKPOINT_INTERVAL",
            "1s");
    server = AggregatorServer.start(ServerConfig.load(new String[0], env));
    TestClient client = new TestClient(server.port());
    ingest(client, 71L);
    System.out.println(
        "RestartEquivalenceTest: before the graceful restart: "
            + client.get("/api/events/health").json().get("rollups"));
    // Rows merged by a checkpoint sum their doubles in another order (last-digit differences) and
    // their HLL sketches estimate by another method (within bounds); ask once all are stored.
    awaitCheckpointed(client);
    Map<String, String> before = answers(client);
    Map<String, String> again = answers(client);

    server.close();
    server = AggregatorServer.start(ServerConfig.load(new String[0], env));
    client = new TestClient(server.port());

    JsonNode health = client.get("/api/events/health").json();
    assertThat(health.get("recovery").get("replayedEvents").asLong())
        .as("events replayed after a graceful stop, which writes a last checkpoint")
        .isZero();
    assertSameAnswers(before, again, answers(client));
  }

  @Test
  void aKill9AndReplayAnswersEveryQueryAsBefore() throws Exception {
    // Checkpoints come from the memory bound only (every 20k rows), several during ingestion;
    // what arrives after the last one is only in the log when the process dies.
    String[] flags = {
      "--port", "0",
      "--data-dir", dir.toString(),
      "--checkpoint-interval", "1h",
      "--max-memory-rows", "40000"
    };
    Child child = startChild(flags);
    long accepted = ingest(child.client(), 72L);
    long tail = quietLogTail(child.client());
    if (tail == 0) { // a checkpoint covered the very last event: log a few more after it
      accepted +=
          WorkloadSender.send(
                  child.client(), 73L, 100, hour - HOUR, hour, now, 100, e -> e.forEach(model::add))
              .accepted();
      WorkloadSender.awaitAggregated(child.client(), accepted, 60_000);
      tail = quietLogTail(child.client());
    }
    assertThat(tail).as("events logged after the last checkpoint").isPositive();
    JsonNode rollups = child.client().get("/api/events/health").json().get("rollups");
    assertThat(rollups.get("checkpointSequence").asLong())
        .as("some events are checkpointed in the store")
        .isNotNegative();
    System.out.println("RestartEquivalenceTest: before kill -9: " + rollups);
    Map<String, String> before = answers(child.client());
    Map<String, String> again = answers(child.client());

    child.process().destroyForcibly(); // SIGKILL: no shutdown hook, no last checkpoint
    assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    Child restarted = startChild(flags);

    JsonNode health = restarted.client().get("/api/events/health").json();
    long replayed = health.get("recovery").get("replayedEvents").asLong();
    assertThat(replayed)
        .as("events replayed after kill -9, at most those logged after the last checkpoint")
        .isPositive()
        .isLessThanOrEqualTo(tail);
    System.out.printf(
        "RestartEquivalenceTest: %d events logged after the last checkpoint, %d replayed%n",
        tail, replayed);
    assertSameAnswers(before, again, answers(restarted.client()));
  }

  // ---- ingestion ---------------------------------------------------------------------------

  /** Sends the workload, waits until all of it is aggregated, and returns how many were taken. */
  private long ingest(TestClient client, long seed) {
    // One sender: the model sees the events in the order the server logs them, as caps need.
    int before = model.size();
    WorkloadSender.Totals t =
        WorkloadSender.send(
            client, seed, EVENTS, hour - 2 * HOUR, hour, now, BATCH, e -> e.forEach(model::add));
    assertThat(t.rejected()).as("rejected vs invalid sent").isEqualTo(t.sentInvalid());
    assertThat(t.accepted()).as("accepted vs distinct valid sent").isEqualTo(model.size() - before);
    WorkloadSender.awaitAggregated(client, t.accepted(), 60_000);
    JsonNode lifecycle = client.get("/api/events/health").json().get("lifecycle");
    assertThat(lifecycle.get("failed").asLong()).as("failed").isZero();
    assertThat(lifecycle.get("expired").asLong()).as("expired").isZero();
    return t.accepted();
  }

  /**
   * Events in the log past the last checkpoint, once the memory bound calls for no further
   * checkpoint (rows in memory below half of it) and none is running (the checkpoint position holds
   * still for longer than the checkpointer's 100 ms poll).
   */
  private static long quietLogTail(TestClient client) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    long previous = Long.MIN_VALUE;
    while (System.nanoTime() < deadline) {
      JsonNode health = client.get("/api/events/health").json();
      JsonNode rollups = health.get("rollups");
      long checkpointed = rollups.get("checkpointSequence").asLong();
      boolean below =
          rollups.get("rowsInMemory").asLong() < rollups.get("maxMemoryRows").asLong() / 2;
      if (below && checkpointed == previous) {
        return health.get("log").get("nextSequence").asLong() - 1 - checkpointed;
      }
      previous = below ? checkpointed : Long.MIN_VALUE;
      Thread.sleep(300);
    }
    throw new AssertionError(
        "checkpoints did not settle: " + client.get("/api/events/health").body());
  }

  // ---- the queries and their answers -------------------------------------------------------

  private List<AnswerCheck.Query> queries() {
    long recentStart = hour - 2 * HOUR - 15 * 60_000L;
    long dayStart = Math.floorDiv(now - 182 * DAY, DAY) * DAY;
    long dayEnd = Math.floorDiv(now, DAY) * DAY + DAY;
    long weekStart =
        Instant.ofEpochMilli(now - 120 * DAY)
            .atZone(BERLIN)
            .toLocalDate()
            .with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY))
            .atStartOfDay(BERLIN)
            .toInstant()
            .toEpochMilli();
    record Range(String granularity, ZoneId zone, long start, long end) {}
    List<Range> ranges =
        List.of(
            new Range("1m", null, recentStart, hour),
            new Range("5m", null, recentStart, hour),
            new Range("1h", null, dayStart, dayEnd),
            new Range("1d", BERLIN, midnight(now - 182 * DAY), midnight(now + DAY)),
            new Range("1w", BERLIN, weekStart, midnight(now + 8 * DAY)));
    record Variant(Map<String, List<String>> filters, List<String> groupBy, int limit) {}
    Map<String, List<String>> twoKeys = new LinkedHashMap<>();
    twoKeys.put("category", List.of("books", "music"));
    twoKeys.put("source", List.of("web", "ios"));
    List<Variant> variants =
        List.of(
            new Variant(Map.of(), List.of(), 0),
            new Variant(Map.of("device", List.of("mobile")), List.of("country"), 0),
            new Variant(twoKeys, List.of("device", "source"), 3),
            new Variant(Map.of("country", List.of(QueryModel.OTHER)), List.of(), 0));
    List<AnswerCheck.Query> out = new ArrayList<>();
    for (Range r : ranges) {
      for (Variant v : variants) {
        for (String type : List.of("page_view", "search")) {
          for (String fn :
              List.of("count", "sum", "avg", "min", "max", "p50", "p99", "unique_users")) {
            out.add(
                query(
                    type,
                    "value",
                    fn,
                    r.granularity(),
                    r.zone(),
                    r.start(),
                    r.end(),
                    v.filters(),
                    v.groupBy(),
                    v.limit(),
                    null));
          }
        }
        for (String fn : List.of("count", "unique_users")) {
          out.add(
              query(
                  "click",
                  null,
                  fn,
                  r.granularity(),
                  r.zone(),
                  r.start(),
                  r.end(),
                  v.filters(),
                  v.groupBy(),
                  v.limit(),
                  null));
        }
      }
    }
    out.add(
        query(
            "page_view",
            null,
            "sum",
            "1m",
            null,
            recentStart,
            hour,
            Map.of(),
            List.of(),
            0,
            "zero"));
    return out;
  }

  private static AnswerCheck.Query query(
      String type,
      String field,
      String fn,
      String granularity,
      ZoneId zone,
      long start,
      long end,
      Map<String, List<String>> filters,
      List<String> groupBy,
      int limit,
      String fill) {
    return new AnswerCheck.Query(
        new QueryModel.Spec(type, field, fn, start, end, granularity, zone, filters, groupBy),
        limit,
        fill);
  }

  private static long midnight(long t) {
    return Instant.ofEpochMilli(t)
        .atZone(BERLIN)
        .toLocalDate()
        .atStartOfDay(BERLIN)
        .toInstant()
        .toEpochMilli();
  }

  /** Each query's JSON, by URL, each also held to the model. */
  /** Waits until the checkpoint covers every record in the log. */
  private static void awaitCheckpointed(TestClient client) throws InterruptedException {
    for (int i = 0; i < 300; i++) {
      JsonNode health = client.get("/api/events/health").json();
      if (health.get("rollups").get("checkpointSequence").asLong()
          == health.get("log").get("nextSequence").asLong() - 1) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no checkpoint covered the log within 30 s");
  }

  private Map<String, String> answers(TestClient client) {
    Map<String, String> out = new LinkedHashMap<>();
    for (AnswerCheck.Query q : queries()) {
      TestClient.Reply reply = client.get(q.url());
      check.check(q, reply);
      out.put(q.url(), reply.body());
    }
    return out;
  }

  /**
   * Every answer after the restart is the one before, byte for byte, but for percentile values (see
   * the class comment); every answer agrees with the model.
   */
  private void assertSameAnswers(
      Map<String, String> before, Map<String, String> again, Map<String, String> after) {
    List<String> problems = new ArrayList<>(check.problems());
    int unstable = 0;
    int changed = 0;
    for (Map.Entry<String, String> e : before.entrySet()) {
      String q = e.getKey();
      boolean percentile = q.matches(".*function=p\\d\\d.*");
      String got = after.get(q);
      if (!e.getValue().equals(again.get(q))) {
        unstable++;
        if (!percentile) {
          problems.add(
              "GET "
                  + q
                  + "\n    asked twice before the restart: "
                  + diff(again.get(q), e.getValue()));
        }
      }
      if (!got.equals(e.getValue())) {
        changed++;
        if (!percentile || !sameShape(got, e.getValue())) {
          problems.add("GET " + q + "\n    after the restart: " + diff(got, e.getValue()));
        }
      }
    }
    System.out.printf(
        "RestartEquivalenceTest: %d queries; percentile answers that differed when asked twice: %d,"
            + " after the restart: %d; %s%n",
        before.size(), unstable, changed, check.sketchSummary());
    assertThat(problems)
        .as(
            "answers that disagree with the model (%d of %d asked), or changed",
            check.wrongAnswers(), check.checked())
        .isEmpty();
  }

  /** The same JSON but for the numbers in {@code "value"} fields. */
  private static boolean sameShape(String a, String b) {
    Pattern value = Pattern.compile("\"value\":[-0-9.eE]+");
    return value
        .matcher(a)
        .replaceAll("\"value\":#")
        .equals(value.matcher(b).replaceAll("\"value\":#"));
  }

  /** got/want around the first difference. */
  private static String diff(String got, String want) {
    int i = 0;
    while (i < got.length() && i < want.length() && got.charAt(i) == want.charAt(i)) {
      i++;
    }
    int from = Math.max(0, i - 80);
    return "got …"
        + got.substring(from, Math.min(got.length(), i + 80))
        + "…, want …"
        + want.substring(from, Math.min(want.length(), i + 80))
        + "…";
  }

  // ---- the child process -------------------------------------------------------------------

  private record Child(Process process, TestClient client) {}

  private Child startChild(String[] flags) throws Exception {
    List<String> args = new ArrayList<>(List.of(flags));
    args.addAll(List.of("--admin-key", TestServers.ADMIN_KEY));
    ChildServer child = ChildServer.start(List.of("-Xmx1g"), args, line -> {});
    processes.add(child.process());
    return new Child(child.process(), child.client());
  }
}
