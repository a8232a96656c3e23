package dev.aggregator.bench;

import dev.aggregator.testing.StandardWorkload;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Predicate;
import org.HdrHistogram.Histogram;

/**
 * Measures query latency over HTTP against a running aggregator holding days of data (issue 3).
 *
 * <pre>
 * java -jar server/target/aggregator.jar --data-dir /tmp/qb-data &amp;
 * java -cp bench/target/benchmarks.jar dev.aggregator.bench.QueryBenchmark \
 *     --url http://127.0.0.1:8080 --load 5000000 --days 30 --iterations 200 --warmup 50
 * </pre>
 *
 * <p>Three phases:
 *
 * <ol>
 *   <li><b>Load</b> (with {@code --load N}): N events of the standard workload (docs/DESIGN.md §9)
 *       in NDJSON batches of {@value QueryOptions#BATCH} over {@code --connections} keep-alive
 *       connections, each with one batch outstanding. The workload's clock reads a uniformly random
 *       time in the last {@code --days} days (15 min short of it, so that late events stay inside),
 *       so every event is historical to the server. A 429 waits its {@code Retry-After} before the
 *       same batch is sent again; a failed request is retried after 1 s (the ids make it
 *       idempotent). Then it waits until health shows every accepted event aggregated, expired or
 *       failed and an empty queue, and then for a checkpoint that covers the whole log, so the
 *       queries read the rollup store as after a day of uptime, not rows still in memory.
 *   <li><b>Queries</b>: each of {@link #QUERIES}, {@code --warmup} times unmeasured and then {@code
 *       --iterations} times measured, one at a time on one keep-alive connection. Latency runs from
 *       the request to the last byte of the answer, on the client's event loop. Every answer must
 *       be 200 with at least one point; others are counted apart and not recorded.
 *   <li><b>Store figures</b> from {@code GET /api/events/health} and {@code GET
 *       /api/analytics/metrics}.
 * </ol>
 *
 * <p>Prints a human summary, then one JSON line; exits 0 if every query answered 200 with data, 1
 * if not (or the load did not settle in time), 2 on bad options or an unreachable server.
 *
 * <p>Of the workload's oddities, two change meaning under the shifted clock: its ~0.1 % historical
 * events land 2–178 days before their drawn time (beyond 30 days only the 1 h and 1 d tiers take
 * them), and most of its ~0.1 % "too far ahead" invalid events are then in the past and valid.
 *
 * <p>Client and server share the machine: on 2 cores the numbers include the client's own CPU.
 */
public final class QueryBenchmark {
  /** One query of the benchmark. */
  record Spec(String name, String description, String params) {}

  /** A country of the workload's 50, uniform: each holds ~2 % of the events. */
  static final String COUNTRY = StandardWorkload.COUNTRIES[0];

  /** (a)–(c) are issue 3's; (d) and (e) exercise the sketches. */
  static final List<Spec> QUERIES =
      List.of(
          new Spec(
              "a",
              "24h @ 1m count, no filter",
              "metric=page_view&function=count&granularity=1m&start=now-24h&end=now"),
          new Spec(
              "b",
              "7d @ 1h sum, filter country:" + COUNTRY,
              "metric=page_view_value&function=sum&granularity=1h&start=now-7d&end=now&filter=country:"
                  + COUNTRY),
          new Spec(
              "c",
              "30d @ 1d count, groupBy country (limit 10)",
              "metric=page_view&function=count&granularity=1d&start=now-30d&end=now&groupBy=country"),
          new Spec(
              "d",
              "7d @ 1h p95, filter country:" + COUNTRY,
              "metric=page_view_value&function=p95&granularity=1h&start=now-7d&end=now&filter=country:"
                  + COUNTRY),
          new Spec(
              "e",
              "7d @ 1d unique_users",
              "metric=page_view&function=unique_users&granularity=1d&start=now-7d&end=now"));

  private static final String NDJSON = "application/x-ndjson";
  private static final long DAY_MILLIS = 86_400_000L;

  /** Late events are up to 10 min behind the workload's clock: keep them inside {@code --days}. */
  private static final long CLOCK_MARGIN_MILLIS = 15 * 60_000L;

  private static final long RETRY_AFTER_DEFAULT_MILLIS = 1_000;
  private static final int MAX_ATTEMPTS = 10;
  private static final long POLL_MILLIS = 200;

  /** A request that receives nothing for this long fails (and its connection is closed). */
  private static final long IDLE_TIMEOUT_MILLIS = 30_000;

  private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final QueryOptions options;
  private Vertx vertx;
  private HttpClientAgent loadClient;
  private HttpClientAgent queryClient;
  private Context queryContext;

  // While waiting for the load to settle: health requests that failed, and the slowest answer.
  private long healthStalls;
  private long slowestHealthNanos;

  QueryBenchmark(QueryOptions options) {
    this.options = options;
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.print(QueryOptions.USAGE);
      return;
    }
    QueryOptions options;
    try {
      options = QueryOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("querybench: " + e.getMessage());
      System.err.print(QueryOptions.USAGE);
      System.exit(2);
      return;
    }
    QueryReport report;
    try {
      report = new QueryBenchmark(options).run();
    } catch (LoadGenerator.UnreachableException e) {
      System.err.println("querybench: " + e.getMessage());
      System.exit(2);
      return;
    } catch (NotSettledException e) {
      System.err.println("querybench: " + e.getMessage());
      System.exit(1);
      return;
    }
    System.out.print(report.summary());
    System.out.println(report.json());
    System.out.flush();
    System.exit(report.allAnswered() ? 0 : 1);
  }

  QueryReport run() throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    vertx =
        Vertx.vertx(
            new VertxOptions().setEventLoopPoolSize(Math.min(options.connections(), cores)));
    HttpClientOptions http =
        new HttpClientOptions()
            .setDefaultHost(options.host())
            .setDefaultPort(options.port())
            .setKeepAlive(true)
            .setPipelining(false)
            .setTcpNoDelay(true)
            .setConnectTimeout(5_000);
    loadClient =
        vertx.createHttpClient(http, new PoolOptions().setHttp1MaxSize(options.connections()));
    // One connection: the queries run one after another on it, and so do the health polls.
    queryClient = vertx.createHttpClient(http, new PoolOptions().setHttp1MaxSize(1));
    queryContext = vertx.getOrCreateContext();
    try {
      Health before;
      try {
        before = health();
      } catch (Exception e) {
        throw new LoadGenerator.UnreachableException(
            "cannot read "
                + options.url()
                + "/api/events/health: "
                + rootMessage(e)
                + "; is the server running?");
      }
      LoadResult load = options.load() > 0 ? load(before) : null;
      List<QueryResult> queries = new ArrayList<>();
      for (Spec spec : QUERIES) {
        QueryResult r = measure(spec);
        System.err.printf(
            Locale.ROOT,
            "[query %s] %d measured, p50 %s ms%s%n",
            spec.name(),
            r.latencyMicros().getTotalCount(),
            QueryReport.millis(r.latencyMicros(), 50),
            r.failures() > 0 ? ", " + r.failures() + " failed" : "");
        queries.add(r);
      }
      return new QueryReport(options, load, queries, storeFigures());
    } finally {
      try {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // exiting anyway
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Load

  /**
   * What the load phase did.
   *
   * @param seconds from the first send to the last answer
   * @param settleSeconds from the last answer until health showed every accepted event processed
   * @param checkpointSeconds from then until a checkpoint covered the whole log
   * @param late events the server counted late (nearly all: their times are random)
   * @param healthStalls health requests that failed or timed out while waiting
   * @param slowestHealthSeconds the slowest health answer while waiting
   */
  record LoadResult(
      long events,
      long accepted,
      long duplicates,
      long rejected,
      long requests,
      long status429,
      long errors,
      long lostBatches,
      double seconds,
      double settleSeconds,
      double checkpointSeconds,
      long late,
      long expired,
      long failed,
      long lastCheckpointMillis,
      long healthStalls,
      double slowestHealthSeconds,
      String lastError) {

    double ackedEventsPerSec() {
      return (accepted + duplicates) / seconds;
    }
  }

  private LoadResult load(Health before) throws Exception {
    long batches = (options.load() + QueryOptions.BATCH - 1) / QueryOptions.BATCH;
    BlockingQueue<Buffer> bodies = new ArrayBlockingQueue<>(2 * options.connections() + 2);
    Thread generator = new Thread(() -> generate(bodies, batches), "generator"); // ~250 µs per body
    generator.setDaemon(true);
    generator.start();

    Loader loader = new Loader(bodies, batches);
    long start = System.nanoTime();
    List<Future<Void>> lanes = new ArrayList<>();
    for (int i = 0; i < options.connections(); i++) {
      Promise<Void> done = Promise.promise();
      Context context = vertx.getOrCreateContext(); // a new context, event loops round robin
      context.runOnContext(v -> loader.lane(done));
      lanes.add(done.future());
    }
    Future<?> all = Future.all(lanes);
    long lastProgress = start;
    long lastAcked = 0;
    while (!all.isComplete()) {
      Thread.sleep(POLL_MILLIS);
      long now = System.nanoTime();
      if (now - lastProgress >= PROGRESS_NANOS) {
        long acked = loader.accepted.sum() + loader.duplicates.sum();
        System.err.printf(
            Locale.ROOT,
            "[load %4.0fs] %,d of %,d events acknowledged, %,.0f events/s, 429s: %d%n",
            (now - start) / 1e9,
            acked,
            options.load(),
            (acked - lastAcked) * 1e9 / (now - lastProgress),
            loader.status429.sum());
        lastProgress = now;
        lastAcked = acked;
      }
    }
    long loaded = loader.lastAnswerNanos.get();
    generator.interrupt();
    long accepted = loader.accepted.sum();
    System.err.printf(
        Locale.ROOT,
        "[load] done: %,d accepted in %.1f s; waiting for aggregation%n",
        accepted,
        (loaded - start) / 1e9);

    // Every accepted event ends aggregated (late included), expired or failed.
    long target = before.processed() + accepted;
    Health h =
        waitFor(
            "every accepted event aggregated and the queue empty",
            x -> x.processed() >= target && x.queueDepth() == 0,
            x ->
                String.format(
                    Locale.ROOT,
                    "%,d of %,d processed, queue %,d, rows in memory %,d, checkpoints %d",
                    x.processed() - before.processed(),
                    accepted,
                    x.queueDepth(),
                    x.rowsInMemory(),
                    x.checkpoints()));
    long settled = System.nanoTime();
    // A checkpoint counts only if it covers the last record in the log: one that froze its rows
    // before the tail was aggregated (or found nothing new) would leave data in memory.
    Health drained = h;
    Health c =
        waitFor(
            "a checkpoint covering the whole log",
            x ->
                x.checkpoints() > drained.checkpoints()
                    && x.checkpointSequence() >= drained.nextSequence() - 1,
            x ->
                String.format(
                    Locale.ROOT,
                    "checkpoint at log record %,d of %,d, rows in memory %,d, last took %d ms",
                    x.checkpointSequence(),
                    drained.nextSequence() - 1,
                    x.rowsInMemory(),
                    x.lastCheckpointMillis()));
    long checkpointed = System.nanoTime();
    return new LoadResult(
        options.load(),
        accepted,
        loader.duplicates.sum(),
        loader.rejected.sum(),
        loader.requests.sum(),
        loader.status429.sum(),
        loader.errors.sum(),
        loader.lost.sum(),
        (loaded - start) / 1e9,
        (settled - loaded) / 1e9,
        (checkpointed - settled) / 1e9,
        c.late() - before.late(),
        c.expired() - before.expired(),
        c.failed() - before.failed(),
        c.lastCheckpointMillis(),
        healthStalls,
        slowestHealthNanos / 1e9,
        loader.lastError);
  }

  /** Renders the load's bodies: the standard workload, its clock spread over {@code --days}. */
  private void generate(BlockingQueue<Buffer> bodies, long batches) {
    SplittableRandom times = new SplittableRandom(options.seed() ^ 0x5DEECE66DL);
    long span = options.days() * DAY_MILLIS - CLOCK_MARGIN_MILLIS;
    StandardWorkload workload =
        new StandardWorkload(
            options.seed(), () -> System.currentTimeMillis() - times.nextLong(span));
    try {
      for (long b = 0; b < batches; b++) {
        long left = options.load() - b * QueryOptions.BATCH;
        bodies.put(Buffer.buffer(workload.ndjsonBatch((int) Math.min(QueryOptions.BATCH, left))));
      }
    } catch (InterruptedException e) {
      // the run ended early
    }
  }

  /**
   * Sends the bodies, one outstanding per lane; each lane's callbacks run on its own context, the
   * counters are shared.
   */
  private final class Loader {
    private final BlockingQueue<Buffer> bodies;
    private final long batches;
    private final String uri = options.basePath() + "/api/events/batch";
    private final AtomicLong claimed = new AtomicLong();
    private final AtomicLong lastAnswerNanos = new AtomicLong();
    final LongAdder accepted = new LongAdder();
    final LongAdder duplicates = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder requests = new LongAdder();
    final LongAdder status429 = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder lost = new LongAdder();
    volatile String lastError;

    Loader(BlockingQueue<Buffer> bodies, long batches) {
      this.bodies = bodies;
      this.batches = batches;
    }

    /** Runs one lane until every batch is claimed; completes {@code done} after its last answer. */
    void lane(Promise<Void> done) {
      if (claimed.getAndIncrement() >= batches) {
        done.complete();
        return;
      }
      take(done);
    }

    private void take(Promise<Void> done) {
      Buffer body = bodies.poll();
      if (body == null) {
        vertx.setTimer(
            1, id -> take(done)); // the generator is behind (rare: it renders ~4 M events/s)
        return;
      }
      send(body, 1, done);
    }

    private void send(Buffer body, int attempt, Promise<Void> done) {
      requests.increment();
      loadClient
          .request(
              new RequestOptions()
                  .setMethod(HttpMethod.POST)
                  .setURI(uri)
                  .setIdleTimeout(IDLE_TIMEOUT_MILLIS))
          .compose(
              req ->
                  req.putHeader("Content-Type", NDJSON)
                      .putHeader("Authorization", BenchKey.authorization())
                      .send(body.copy()))
          .compose(
              resp ->
                  resp.body()
                      .map(b -> new Answer(resp.statusCode(), resp.getHeader("Retry-After"), b)))
          .onComplete(
              ar -> {
                lastAnswerNanos.accumulateAndGet(System.nanoTime(), Math::max);
                if (ar.failed()) {
                  retry(body, attempt, done, RETRY_AFTER_DEFAULT_MILLIS, ar.cause().toString());
                  return;
                }
                Answer a = ar.result();
                if (a.status() == 200) {
                  JsonObject j = a.body().toJsonObject();
                  accepted.add(j.getLong("accepted", 0L));
                  duplicates.add(j.getLong("duplicates", 0L));
                  rejected.add(j.getLong("rejected", 0L));
                  lane(done);
                } else if (a.status() == 429) {
                  status429.increment();
                  vertx.setTimer(a.retryAfterMillis(), id -> send(body, attempt, done));
                } else if (a.status() >= 500) {
                  retry(body, attempt, done, a.retryAfterMillis(), a.describe());
                } else {
                  errors.increment();
                  lost.increment();
                  lastError = a.describe();
                  lane(done); // a 4xx will not change by sending it again
                }
              });
    }

    private void retry(Buffer body, int attempt, Promise<Void> done, long after, String error) {
      errors.increment();
      lastError = error;
      if (attempt >= MAX_ATTEMPTS) {
        lost.increment();
        lane(done);
        return;
      }
      vertx.setTimer(after, id -> send(body, attempt + 1, done));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Health and waiting

  /** The fields of {@code GET /api/events/health} this benchmark reads. */
  record Health(
      long aggregated,
      long expired,
      long failed,
      long late,
      long queueDepth,
      long checkpoints,
      long checkpointSequence,
      long nextSequence,
      long lastCheckpointMillis,
      long rowsInMemory,
      long series,
      long storeBytes) {

    /** Events that left the pipeline: aggregated (late included), expired or failed. */
    long processed() {
      return aggregated + expired + failed;
    }

    static Health of(JsonObject j) {
      JsonObject life = j.getJsonObject("lifecycle");
      JsonObject rollups = j.getJsonObject("rollups");
      JsonObject log = j.getJsonObject("log");
      return new Health(
          life.getLong("aggregated"),
          life.getLong("expired"),
          life.getLong("failed"),
          life.getLong("late"),
          j.getLong("queueDepth"),
          rollups.getLong("checkpoints"),
          rollups.getLong("checkpointSequence"),
          log.getLong("nextSequence"),
          rollups.getLong("lastCheckpointMillis"),
          rollups.getLong("rowsInMemory"),
          rollups.getLong("series"),
          rollups.getLong("storeBytes"));
    }
  }

  private Health health() throws Exception {
    Answer a = await(get(options.basePath() + "/api/events/health"));
    if (a.status() != 200) {
      throw new IllegalStateException("health answered " + a.describe());
    }
    return Health.of(a.body().toJsonObject());
  }

  /** Polls health until {@code test} holds, printing progress every 5 s; fails at the timeout. */
  private Health waitFor(String what, Predicate<Health> test, Function<Health, String> progress)
      throws Exception {
    long start = System.nanoTime();
    long deadline = start + options.settleTimeout().toNanos();
    long lastProgress = start;
    while (true) {
      long asked = System.nanoTime();
      Health h;
      try {
        h = health();
      } catch (Exception e) {
        healthStalls++;
        System.err.printf(
            Locale.ROOT,
            "[wait] health did not answer (%.1f s): %s%n",
            (System.nanoTime() - asked) / 1e9,
            rootMessage(e));
        if (System.nanoTime() >= deadline) {
          throw new NotSettledException(
              "gave up waiting for " + what + ": health does not answer", e);
        }
        continue;
      }
      slowestHealthNanos = Math.max(slowestHealthNanos, System.nanoTime() - asked);
      if (test.test(h)) {
        return h;
      }
      long now = System.nanoTime();
      if (now >= deadline) {
        throw new NotSettledException(
            "gave up waiting for "
                + what
                + " after "
                + options.settleTimeout().toSeconds()
                + " s (--settle-timeout): "
                + progress.apply(h));
      }
      if (now - lastProgress >= PROGRESS_NANOS) {
        System.err.printf(
            Locale.ROOT,
            "[wait %4.0fs] for %s: %s%n",
            (now - start) / 1e9,
            what,
            progress.apply(h));
        lastProgress = now;
      }
      Thread.sleep(POLL_MILLIS);
    }
  }

  /** The load was not aggregated and checkpointed within {@code --settle-timeout}. */
  static final class NotSettledException extends Exception {
    private static final long serialVersionUID = 1L;

    NotSettledException(String message) {
      super(message);
    }

    NotSettledException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  /**
   * One query's measurements.
   *
   * @param latencyMicros the measured answers that were 200 with data
   * @param failures measured or warmup answers that were not 200, or failed
   * @param empty answers that were 200 without a point
   * @param firstPoints points of the first answer, over all its series
   * @param firstSeries series of the first answer (1 without groupBy)
   * @param firstBytes bytes of the first answer's body
   * @param firstWarnings the first answer's {@code warnings}, if any
   * @param groups the first answer's series labels, with groupBy
   */
  record QueryResult(
      Spec spec,
      Histogram latencyMicros,
      long failures,
      long empty,
      int firstPoints,
      int firstSeries,
      int firstBytes,
      List<String> firstWarnings,
      List<String> groups,
      String lastError) {}

  private QueryResult measure(Spec spec) throws Exception {
    Promise<QueryResult> done = Promise.promise();
    queryContext.runOnContext(v -> new QueryRun(spec, done).step(0));
    return done.future()
        .toCompletionStage()
        .toCompletableFuture()
        .get(
            (options.warmup() + options.iterations()) * 2 * IDLE_TIMEOUT_MILLIS,
            TimeUnit.MILLISECONDS);
  }

  /** Runs one query warmup + iterations times in a row, all on one event-loop context. */
  private final class QueryRun {
    private final Spec spec;
    private final Promise<QueryResult> done;
    private final String uri;
    private final Histogram latency = new Histogram(3);
    private long failures;
    private long empty;
    private int firstPoints = -1;
    private int firstSeries;
    private int firstBytes;
    private List<String> firstWarnings = List.of();
    private List<String> groups = List.of();
    private String lastError;

    QueryRun(Spec spec, Promise<QueryResult> done) {
      this.spec = spec;
      this.done = done;
      this.uri = options.basePath() + "/api/analytics/query?" + spec.params();
    }

    void step(int i) {
      if (i == options.warmup() + options.iterations()) {
        done.complete(
            new QueryResult(
                spec,
                latency,
                failures,
                empty,
                firstPoints,
                firstSeries,
                firstBytes,
                firstWarnings,
                groups,
                lastError));
        return;
      }
      long start = System.nanoTime();
      get(uri)
          .onComplete(
              ar -> {
                long micros = (System.nanoTime() - start) / 1_000;
                boolean measured = i >= options.warmup();
                if (ar.failed()) {
                  failures++;
                  lastError = ar.cause().toString();
                } else if (ar.result().status() != 200) {
                  failures++;
                  lastError = ar.result().describe();
                } else if (check(ar.result().body()) && measured) {
                  latency.recordValue(micros);
                }
                step(i + 1);
              });
    }

    /** Whether the answer holds a point; the first answer's shape is kept for the report. */
    private boolean check(Buffer body) {
      JsonObject j = body.toJsonObject();
      JsonArray series = j.getJsonArray("series");
      int points = 0;
      List<String> labels = new ArrayList<>();
      if (series == null) {
        points = j.getJsonArray("data").size();
      } else {
        for (int s = 0; s < series.size(); s++) {
          JsonObject one = series.getJsonObject(s);
          points += one.getJsonArray("data").size();
          labels.add(one.getJsonObject("dimensions").encode());
        }
      }
      if (firstPoints < 0) {
        firstPoints = points;
        firstSeries = series == null ? 1 : series.size();
        firstBytes = body.length();
        JsonArray w = j.getJsonArray("warnings");
        List<String> warnings = new ArrayList<>();
        for (int k = 0; w != null && k < w.size(); k++) {
          warnings.add(w.getString(k));
        }
        firstWarnings = List.copyOf(warnings);
        groups = List.copyOf(labels);
      }
      if (points == 0) {
        empty++;
        lastError = "200 without a point";
        return false;
      }
      return true;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Store figures

  /**
   * What the server says about its storage after the queries.
   *
   * @param storeBytes {@code rollups.storeBytes}: the rollup store's files on disk
   * @param series {@code rollups.series}: series allocated, over all event types (their total
   *     series included)
   * @param catalogSeries the sum of {@code eventTypes[].series} in the catalog
   * @param metrics metric names in the catalog (each event type twice, plus its fields)
   * @param eventTypes event types in the catalog
   * @param rowsInMemory rollup rows not yet checkpointed
   */
  record StoreFigures(
      long storeBytes,
      long series,
      long catalogSeries,
      int metrics,
      int eventTypes,
      long rowsInMemory) {}

  private StoreFigures storeFigures() throws Exception {
    Health h = health();
    Answer a = await(get(options.basePath() + "/api/analytics/metrics"));
    if (a.status() != 200) {
      throw new IllegalStateException("/api/analytics/metrics answered " + a.describe());
    }
    JsonObject catalog = a.body().toJsonObject();
    JsonArray types = catalog.getJsonArray("eventTypes");
    long catalogSeries = 0;
    for (int i = 0; i < types.size(); i++) {
      catalogSeries += types.getJsonObject(i).getLong("series", 0L);
    }
    return new StoreFigures(
        h.storeBytes(),
        h.series(),
        catalogSeries,
        catalog.getJsonArray("metrics").size(),
        types.size(),
        h.rowsInMemory());
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  private record Answer(int status, String retryAfter, Buffer body) {
    /** {@code Retry-After} in ms (the server sends whole seconds); 1 s if absent or unreadable. */
    long retryAfterMillis() {
      if (retryAfter != null) {
        try {
          return Math.max(0, Long.parseLong(retryAfter.trim())) * 1_000;
        } catch (NumberFormatException e) {
          // an HTTP date: not worth parsing here
        }
      }
      return RETRY_AFTER_DEFAULT_MILLIS;
    }

    String describe() {
      String text = body.toString();
      return "HTTP "
          + status
          + ": "
          + (text.length() <= 200 ? text : text.substring(0, 197) + "...");
    }
  }

  /**
   * A GET on the query connection, always sent from {@link #queryContext}: with Vert.x 5.0.7, GETs
   * sent one at a time from a plain thread (a new context each) on a one-connection pool hung for
   * good about once in 150 requests (their idle timeout never fired); from one context, none did.
   */
  private Future<Answer> get(String uri) {
    if (Vertx.currentContext() == queryContext) {
      return send(uri);
    }
    Promise<Answer> answer = Promise.promise();
    queryContext.runOnContext(v -> send(uri).onComplete(answer));
    return answer.future();
  }

  private Future<Answer> send(String uri) {
    return queryClient
        .request(
            new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setURI(uri)
                .setIdleTimeout(IDLE_TIMEOUT_MILLIS))
        .compose(req -> req.putHeader("Authorization", BenchKey.authorization()).send())
        .compose(
            resp ->
                resp.body()
                    .map(b -> new Answer(resp.statusCode(), resp.getHeader("Retry-After"), b)));
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage()
        .toCompletableFuture()
        .get(2 * IDLE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
