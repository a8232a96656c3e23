package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aggregator.aggregation.UserSketch;
import dev.aggregator.aggregation.ValueSketch;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.testing.StandardWorkload;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's query answers against an exact model: a million events of the standard workload go
 * in through {@code POST /api/events/batch}; {@link QueryModel} aggregates the same accepted events
 * with plain Java; every combination of function, granularity (and time zone), filter and groupBy
 * is asked through {@code GET /api/analytics/query} and compared with the model's answer.
 *
 * <p>count, sum, avg, min and max must match (sum and avg to 1e-9 relative: the summation order
 * differs); a percentile must be one of its bucket's values with a true rank within twice {@link
 * ValueSketch#normalizedRankError()} of the one asked for (exact up to 32 values); unique_users
 * must be within three {@link UserSketch#relativeStandardError()}s of the distinct count (exact up
 * to 32 users). Grouped answers must keep groups the exact totals allow at the top (ties either
 * way) and an {@code __other__} series equal to the rest merged.
 *
 * <p>The workload's clock runs through the two hours before the last full hour, so the minutes and
 * hours are filled; its historical events reach 180 days back, and a few thousand extra events
 * straddle the last daylight saving change in Europe/Berlin so that 23- and 25-hour days hold data.
 * Caps are high enough that nothing folds into {@code __other__} on ingestion.
 */
class OracleTest {
  private static final long SEED = 20_261_130L;
  private static final int EVENTS = 1_000_000;
  private static final int SENDERS = 3;
  private static final int BATCH = 5_000;
  private static final long HOUR = 3_600_000L;
  private static final long DAY = 24 * HOUR;
  private static final long SPREAD = 2 * HOUR;
  private static final int DST_EVENTS = 4_000;

  /**
   * The type asked every combination: the workload's rarest (~0.44 % of events), because a grouped
   * query reads each of its series and nearly every event of the workload makes a series of its own
   * (page × category × country × device × source: 3 million combinations).
   */
  private static final String TYPE = "feedback";

  private static final int QUERY_THREADS = 2;
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
  private static final ZoneId KOLKATA = ZoneId.of("Asia/Kolkata");

  private static final List<String> FUNCTIONS =
      List.of("count", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99", "unique_users");
  private static final List<String> COUNT_FUNCTIONS = List.of("count", "sum", "unique_users");

  @TempDir Path dir;
  private AggregatorServer server;
  private TestClient client;
  private final QueryModel model = new QueryModel();
  private final AnswerCheck answers = new AnswerCheck(model, false);
  private final long now = System.currentTimeMillis();

  /**
   * Where the workload's clock stops: the last full hour. Its events then fall into the same minute
   * and hour buckets on every run, so sketch estimates, which depend on nothing but the set of
   * values, are the same on every run too.
   */
  private final long hour = Math.floorDiv(now, HOUR) * HOUR;

  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong duplicates = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong sentValid = new AtomicLong();
  private final AtomicLong sentInvalid = new AtomicLong();
  private final List<Timing> timings = new ArrayList<>();

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void everyQueryAnswerAgreesWithTheExactModel() throws Exception {
    long t0 = System.nanoTime();
    server =
        AggregatorServer.start(
            ServerConfig.load(
                new String[0],
                Map.of(
                    "AGGREGATOR_DATA_DIR", dir.toString(),
                    "AGGREGATOR_PORT", "0",
                    "AGGREGATOR_ADMIN_KEY", TestServers.ADMIN_KEY,
                    "AGGREGATOR_MAX_SERIES_PER_EVENT_TYPE", "2000000",
                    "AGGREGATOR_MAX_DIMENSION_VALUES", "100000")));
    client = new TestClient(server.port());

    ingestStandardWorkload();
    long dstChange = ingestAroundDaylightSavingChange();
    WorkloadSender.awaitAggregated(client, accepted.get(), 120_000);
    long t1 = System.nanoTime();

    assertThat(accepted.get())
        .as("events the server accepted vs distinct valid events sent")
        .isEqualTo(model.size());
    assertThat(rejected.get())
        .as("events rejected vs invalid events sent")
        .isEqualTo(sentInvalid.get());
    assertThat(duplicates.get())
        .as("duplicates vs valid events sent again")
        .isEqualTo(sentValid.get() - model.size());
    JsonNode lifecycle = client.get("/api/events/health").json().get("lifecycle");
    assertThat(lifecycle.get("expired").asLong()).as("expired").isZero();
    assertThat(lifecycle.get("failed").asLong()).as("failed").isZero();

    List<AnswerCheck.Query> all = queries(dstChange);
    ExecutorService pool = Executors.newFixedThreadPool(QUERY_THREADS);
    List<Future<?>> done = new ArrayList<>();
    for (AnswerCheck.Query q : all) {
      done.add(pool.submit(() -> timed(q)));
    }
    for (Future<?> f : done) {
      f.get();
    }
    pool.shutdown();
    checkTotalsOnlyResolutionsAreAnsweredFromRawEvents();
    long t2 = System.nanoTime();

    System.out.printf(
        "OracleTest: %,d events accepted (%,d duplicates, %,d rejected) and aggregated in %d ms;"
            + " %,d queries compared in %d ms%n",
        accepted.get(),
        duplicates.get(),
        rejected.get(),
        (t1 - t0) / 1_000_000,
        answers.checked() + 1,
        (t2 - t1) / 1_000_000);
    timings.sort((a, b) -> Long.compare(b.millis(), a.millis()));
    timings.stream()
        .limit(5)
        .forEach(t -> System.out.printf("OracleTest: slowest %d ms: %s%n", t.millis(), t.url()));
    System.out.println("OracleTest: " + answers.sketchSummary());
    assertThat(answers.problems())
        .as(
            "%d of %d answers disagree with the model (%d problems); the first ones",
            answers.wrongAnswers(), answers.checked() + 1, answers.problemCount())
        .isEmpty();
  }

  // ---- ingestion ---------------------------------------------------------------------------

  /**
   * Sends {@link #EVENTS} events from {@link #SENDERS} threads, each its own workload whose clock
   * walks through the two hours before {@link #hour}.
   */
  private void ingestStandardWorkload() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(SENDERS);
    List<Future<?>> done = new ArrayList<>();
    int perSender = EVENTS / SENDERS;
    for (int s = 0; s < SENDERS; s++) {
      long seed = SEED + s;
      done.add(pool.submit(() -> send(seed, perSender)));
    }
    for (Future<?> f : done) {
      f.get();
    }
    pool.shutdown();
  }

  private Void send(long seed, int events) {
    count(
        WorkloadSender.send(
            client,
            seed,
            events,
            hour - SPREAD,
            hour,
            now,
            BATCH,
            taken -> taken.forEach(model::add)));
    return null;
  }

  /**
   * Events of {@link #TYPE} on the three days either side of the last change of Europe/Berlin's
   * offset, at millisecond times, from 40 users, some with a boolean dimension.
   */
  private long ingestAroundDaylightSavingChange() {
    long change =
        BERLIN
            .getRules()
            .previousTransition(Instant.ofEpochMilli(now - 2 * DAY))
            .getInstant()
            .toEpochMilli();
    SplittableRandom random = new SplittableRandom(SEED);
    StringBuilder body = new StringBuilder();
    List<Event> valid = new ArrayList<>();
    for (int i = 0; i < DST_EVENTS; i++) {
      long ts = change - 3 * DAY + random.nextLong(6 * DAY);
      String user = "dst-user" + random.nextInt(40);
      String source = StandardWorkload.SOURCES[random.nextInt(StandardWorkload.SOURCES.length)];
      String page = StandardWorkload.PAGES[random.nextInt(10)];
      String category = StandardWorkload.CATEGORIES[random.nextInt(4)];
      String country = StandardWorkload.COUNTRIES[random.nextInt(6)];
      String device = StandardWorkload.DEVICES[random.nextInt(3)];
      String value = (random.nextInt(100_000) / 100.0) + "";
      Boolean premium = i % 2 == 0 ? null : random.nextBoolean();
      String id = "dst-" + i;
      body.append(
          String.format(
              "{\"id\":\"%s\",\"eventType\":\"%s\",\"userId\":\"%s\",\"timestamp\":%d,"
                  + "\"source\":\"%s\",\"properties\":{\"page\":\"%s\",\"category\":\"%s\","
                  + "\"country\":\"%s\",\"device\":\"%s\",\"value\":%s%s}}%n",
              id,
              TYPE,
              user,
              ts,
              source,
              page,
              category,
              country,
              device,
              value,
              premium == null ? "" : ",\"premium\":" + premium));
      EventProperties.Builder p =
          EventProperties.builder()
              .string("page", page)
              .string("category", category)
              .string("country", country)
              .string("device", device)
              .number("value", Double.parseDouble(value));
      if (premium != null) {
        p.bool("premium", premium);
      }
      valid.add(new Event(id, TYPE, user, ts, source, p.build()));
    }
    count(WorkloadSender.post(client, body.toString(), valid.size(), 0));
    valid.forEach(model::add);
    return change;
  }

  private void count(WorkloadSender.Totals t) {
    accepted.addAndGet(t.accepted());
    duplicates.addAndGet(t.duplicates());
    rejected.addAndGet(t.rejected());
    sentValid.addAndGet(t.sentValid());
    sentInvalid.addAndGet(t.sentInvalid());
  }

  // ---- the queries -------------------------------------------------------------------------

  /** A time range with its granularity and zone (null: the tz parameter is left out). */
  private record Window(String granularity, ZoneId zone, long start, long end) {}

  private List<AnswerCheck.Query> queries(long dstChange) {
    long recentEnd = hour;
    long recentStart = hour - SPREAD - 15 * 60_000L; // late events reach 10 min further back
    long oldest = Math.min(now - 182 * DAY, dstChange - 4 * DAY);
    long dayStart = Math.floorDiv(oldest, DAY) * DAY;
    long dayEnd = Math.floorDiv(now, DAY) * DAY + DAY;
    List<Window> windows =
        List.of(
            new Window("1m", null, recentStart, recentEnd),
            new Window("5m", null, recentStart, recentEnd),
            new Window("1h", null, dayStart, dayEnd),
            new Window("1d", null, dayStart, dayEnd),
            new Window("1d", BERLIN, midnight(oldest, BERLIN), midnight(now + DAY, BERLIN)),
            new Window(
                "1w",
                null,
                monday(now - 120 * DAY, ZoneOffset.UTC),
                monday(now + 7 * DAY, ZoneOffset.UTC)),
            new Window(
                "1w", BERLIN, monday(now - 120 * DAY, BERLIN), monday(now + 7 * DAY, BERLIN)));
    List<Map<String, List<String>>> filters =
        List.of(
            Map.of(),
            Map.of("device", List.of("mobile")),
            Map.of("category", List.of("books", "music")),
            ordered("country", List.of("US", "DE"), "device", List.of("desktop")));
    record Grouping(List<String> keys, int limit) {}
    List<Grouping> groupings =
        List.of(
            new Grouping(List.of(), 0),
            new Grouping(List.of("country"), 0), // default limit 10 of 50 countries
            new Grouping(List.of("device", "source"), 5));

    List<AnswerCheck.Query> out = new ArrayList<>();
    // The full cross product.
    for (Window w : windows) {
      for (Map<String, List<String>> f : filters) {
        for (Grouping g : groupings) {
          for (String fn : FUNCTIONS) {
            out.add(query(TYPE, "value", fn, w, f, g.keys(), g.limit(), null));
          }
          for (String fn : COUNT_FUNCTIONS) {
            out.add(query(TYPE, null, fn, w, f, g.keys(), g.limit(), null));
          }
        }
      }
    }
    // The most frequent type (~22 %): buckets of thousands of values, sketches at full size.
    for (Window w : windows) {
      for (String fn : FUNCTIONS) {
        out.add(query("page_view", "value", fn, w, Map.of(), List.of(), 0, null));
      }
      for (String fn : COUNT_FUNCTIONS) {
        out.add(query("page_view", null, fn, w, Map.of(), List.of(), 0, null));
      }
    }
    for (String fn : FUNCTIONS) {
      out.add(
          query(
              "page_view",
              "value",
              fn,
              windows.get(0),
              Map.of("device", List.of("tablet")),
              List.of("source"),
              3,
              null));
    }
    // The 1 s totals-only tier serves a 30 s count.
    Window seconds = new Window("30s", null, recentStart, recentEnd);
    for (String type : List.of(TYPE, "page_view")) {
      for (String fn : List.of("count", "sum")) {
        out.add(query(type, null, fn, seconds, Map.of(), List.of(), 0, null));
      }
    }
    // A zone moves days and weeks only: hours in Kolkata (+05:30) are UTC hours; its days, which
    // start at 18:30 UTC, come from the 1 m tier.
    Window kolkataHours = new Window("1h", KOLKATA, recentEnd - 3 * DAY, recentEnd);
    Window kolkataDays =
        new Window("1d", KOLKATA, midnight(now - 20 * DAY, KOLKATA), midnight(now + DAY, KOLKATA));
    // A start and an end inside buckets: buckets are whole, from the one holding the start to the
    // one holding the last instant before the end.
    Window unaligned =
        new Window("15m", null, recentStart + 7 * 60_000L + 13_000, recentEnd - 4 * 60_000L - 500);
    for (Window w : List.of(kolkataHours, kolkataDays, unaligned)) {
      for (String fn : FUNCTIONS) {
        out.add(query(TYPE, "value", fn, w, Map.of(), List.of(), 0, null));
      }
      out.add(query(TYPE, null, "count", w, Map.of(), List.of("device"), 0, null));
    }
    // Fill modes.
    for (String fill : List.of("zero", "null", "previous")) {
      out.add(
          query(
              TYPE,
              "value",
              "avg",
              windows.get(1),
              Map.of("device", List.of("mobile")),
              List.of(),
              0,
              fill));
      out.add(
          query(
              TYPE,
              null,
              "count",
              windows.get(0),
              Map.of("country", List.of("NZ")),
              List.of(),
              0,
              fill));
    }
    // A boolean dimension, carried by some events of a type only, around the DST change.
    Window dst =
        new Window(
            "1d",
            BERLIN,
            midnight(dstChange - 4 * DAY, BERLIN),
            midnight(dstChange + 4 * DAY, BERLIN));
    Window dstHours = new Window("1h", null, dstChange - 4 * DAY, dstChange + 4 * DAY);
    for (Window w : List.of(dst, dstHours)) {
      for (String fn : FUNCTIONS) {
        out.add(
            query(TYPE, "value", fn, w, Map.of("premium", List.of("true")), List.of(), 0, null));
        out.add(query(TYPE, "value", fn, w, Map.of(), List.of("premium"), 0, null));
        out.add(query(TYPE, "value", fn, w, Map.of(), List.of("premium", "device"), 4, null));
      }
    }
    return out;
  }

  private static Map<String, List<String>> ordered(
      String k1, List<String> v1, String k2, List<String> v2) {
    Map<String, List<String>> m = new LinkedHashMap<>();
    m.put(k1, v1);
    m.put(k2, v2);
    return m;
  }

  private static AnswerCheck.Query query(
      String type,
      String field,
      String fn,
      Window w,
      Map<String, List<String>> filters,
      List<String> groupBy,
      int limit,
      String fill) {
    return new AnswerCheck.Query(
        new QueryModel.Spec(
            type, field, fn, w.start(), w.end(), w.granularity(), w.zone(), filters, groupBy),
        limit,
        fill);
  }

  private static long midnight(long t, ZoneId zone) {
    return Instant.ofEpochMilli(t)
        .atZone(zone)
        .toLocalDate()
        .atStartOfDay(zone)
        .toInstant()
        .toEpochMilli();
  }

  private static long monday(long t, ZoneId zone) {
    LocalDate day =
        Instant.ofEpochMilli(t)
            .atZone(zone)
            .toLocalDate()
            .with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
    return day.atStartOfDay(zone).toInstant().toEpochMilli();
  }

  // ---- comparing ---------------------------------------------------------------------------

  private record Timing(long millis, String url) {}

  private void timed(AnswerCheck.Query q) {
    long start = System.nanoTime();
    answers.check(q, client.get(q.url()));
    Timing t = new Timing((System.nanoTime() - start) / 1_000_000, q.url());
    synchronized (timings) {
      timings.add(t);
    }
  }

  /**
   * Totals-only tiers keep no dimensions: a filtered 30 s query is answered from the raw events,
   * exactly, and says so.
   */
  private void checkTotalsOnlyResolutionsAreAnsweredFromRawEvents() {
    AnswerCheck.Query q =
        query(
            TYPE,
            null,
            "count",
            new Window("30s", null, hour - 2 * HOUR, hour),
            Map.of("device", List.of("mobile")),
            List.of(),
            10,
            "none");
    TestClient.Reply reply = client.get(q.url());
    answers.check(q, reply);
    if (reply.status() != 200 || !reply.body().contains("\"source\":\"events\"")) {
      answers.problem(
          q.url(), "got " + reply.status() + " " + reply.body() + ", want source events");
    }
  }
}
