package dev.aggregator.bench;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives a running aggregator over HTTP with the standard workload (docs/DESIGN.md §9) and reports
 * acknowledged events/s, request latency and freshness.
 *
 * <pre>
 * java -jar server/target/aggregator.jar --data-dir /tmp/agg-data &amp;
 * java -cp bench/target/benchmarks.jar dev.aggregator.bench.LoadGenerator \
 *     --url http://127.0.0.1:8080 --connections 8 --batch 1000 --duration 30s
 * </pre>
 *
 * <p>It sends NDJSON batches to {@code POST /api/events/batch} over {@code --connections}
 * keep-alive connections. Bodies are generated ahead by {@link BatchSource} threads, not on the
 * event loops. Two modes:
 *
 * <ul>
 *   <li><b>Full speed</b> (default, closed loop): each connection keeps one batch outstanding and
 *       sends the next as soon as the previous is answered. Latency runs from the actual send.
 *   <li><b>Fixed rate</b> ({@code --rate}, open loop): batch {@code k} is due at {@code start + k ·
 *       batch / rate} whether or not earlier ones were answered; a free connection takes the oldest
 *       due batch. Latency runs from the due time, so a server that falls behind shows it in the
 *       latency instead of hiding it by slowing the schedule (no coordinated omission). Batches
 *       still due when the run ends are reported as unsent.
 * </ul>
 *
 * <p>A 429 is counted and the same batch is retried after {@value #RETRY_MILLIS} ms (its latency
 * keeps running), as a client would; other failures are counted and the batch dropped. Acknowledged
 * events are the {@code accepted + duplicates} of 200 answers. Freshness comes from a {@link
 * FreshnessProbe}. Only responses that complete within the measured window (after {@code --warmup},
 * for {@code --duration}) count. Prints a human summary, then one JSON line; exits 1 if nothing was
 * acknowledged, 2 on bad options or an unreachable server.
 *
 * <p>It shares the machine with the server: on 2 cores every event it generates costs the server
 * CPU (see {@link GenerateBenchmark}), so its numbers are a floor for what the server does alone.
 */
public final class LoadGenerator {
  /** Pause before retrying a batch refused with 429, or after a failure. */
  static final long RETRY_MILLIS = 10;

  private static final String NDJSON = "application/x-ndjson";

  private final LoadOptions options;
  private final LoadWindow window = new LoadWindow();
  private final String batchUri;
  private final Recorder latencyMicros = new Recorder(3);
  private final LongAdder ackedEvents = new LongAdder();
  private final LongAdder rejectedEvents = new LongAdder();
  private final LongAdder requests = new LongAdder();
  private final LongAdder status429 = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final LongAdder generatorStalls = new LongAdder();
  private final LongAdder ackedSoFar = new LongAdder();
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile String lastError;

  // Open loop only: due times of batches not yet sent, and senders waiting for one.
  private final ConcurrentLinkedQueue<Long> due = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Sender> idle = new ConcurrentLinkedQueue<>();

  private BatchSource batches;
  private HttpClientAgent client;

  LoadGenerator(LoadOptions options) {
    this.options = options;
    this.batchUri = options.basePath() + "/api/events/batch";
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.print(LoadOptions.USAGE);
      return;
    }
    LoadOptions options;
    try {
      options = LoadOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("loadgen: " + e.getMessage());
      System.err.print(LoadOptions.USAGE);
      System.exit(2);
      return;
    }
    LoadReport report;
    try {
      report = new LoadGenerator(options).run();
    } catch (UnreachableException e) {
      System.err.println("loadgen: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.out.print(report.summary());
    System.out.println(report.json());
    System.out.flush();
    System.exit(report.ackedEvents() > 0 ? 0 : 1);
  }

  LoadReport run() throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    Vertx vertx =
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
    client = vertx.createHttpClient(http, new PoolOptions().setHttp1MaxSize(options.connections()));
    HttpClientAgent probeClient =
        vertx.createHttpClient(http, new PoolOptions().setHttp1MaxSize(2));
    batches =
        new BatchSource(
            options.generators(),
            options.batch(),
            2 * options.connections() + 2 * options.generators(),
            options.seed(),
            options.latePer100k());
    try {
      FreshnessProbe probe =
          new FreshnessProbe(
              probeClient,
              options.basePath(),
              options.markerEvery().toMillis(),
              options.seed(),
              window);
      try {
        await(vertx.deployVerticle(probe));
      } catch (Exception e) {
        throw new UnreachableException(
            "cannot query " + options.url() + ": " + rootMessage(e) + "; is the server running?");
      }
      List<Sender> senders = new ArrayList<>();
      for (int i = 0; i < options.connections(); i++) {
        Sender s = new Sender();
        await(vertx.deployVerticle(s));
        senders.add(s);
      }
      batches.start();
      batches.awaitReady(
          options.connections(), 5_000); // no stalls because generation lags at start

      long start = System.nanoTime();
      long measureStart = start + options.warmup().toNanos();
      long measureEnd = measureStart + options.duration().toNanos();
      window.set(measureStart, measureEnd);
      Thread pacer = null;
      if (options.openLoop()) {
        pacer = new Thread(() -> pace(start, measureEnd), "pacer");
        pacer.setDaemon(true);
        pacer.start();
      }
      senders.forEach(Sender::begin);
      probe.begin();

      progressUntil(start, measureStart, measureEnd);
      window.stop();
      if (pacer != null) {
        pacer.join(1_000);
      }
      long unsent = due.size();
      FreshnessProbe.Result freshness = await(probe.finish(5_000));
      long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (inFlight.get() > 0 && System.nanoTime() < drainUntil) {
        Thread.sleep(10);
      }
      Histogram latency = latencyMicros.getIntervalHistogram(); // in-window responses only
      return new LoadReport(
          options,
          (measureEnd - measureStart) / 1e9,
          ackedEvents.sum(),
          rejectedEvents.sum(),
          requests.sum(),
          status429.sum(),
          errors.sum(),
          latency,
          freshness,
          unsent,
          generatorStalls.sum(),
          lastError);
    } finally {
      batches.close();
      try {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // exiting anyway
      }
    }
  }

  /** Sleeps through warmup and measurement, printing progress to stderr every 5 s. */
  private void progressUntil(long start, long measureStart, long measureEnd)
      throws InterruptedException {
    long every = TimeUnit.SECONDS.toNanos(5);
    long next = start + every;
    long lastAcked = 0;
    long lastTime = start;
    while (true) {
      long now = System.nanoTime();
      if (now >= measureEnd) {
        return;
      }
      long wake = Math.min(next, measureEnd);
      if (wake > now) {
        TimeUnit.NANOSECONDS.sleep(wake - now);
        continue;
      }
      long acked = ackedSoFar.sum();
      System.err.printf(
          Locale.ROOT,
          "[%4.0fs %s] %,.0f events/s acked, %d requests in flight%s%n",
          (now - start) / 1e9,
          now < measureStart ? "warmup " : "measure",
          (acked - lastAcked) * 1e9 / (now - lastTime),
          inFlight.get(),
          options.openLoop() ? ", " + due.size() + " batches behind schedule" : "");
      lastAcked = acked;
      lastTime = now;
      next += every;
    }
  }

  /** Open loop: makes batch {@code k} due at {@code start + k · interval} until the window ends. */
  private void pace(long start, long end) {
    double interval = options.batch() * 1e9 / options.rate();
    for (long k = 0; ; k++) {
      long at = start + (long) (k * interval);
      if (at >= end) {
        return;
      }
      long wait;
      while ((wait = at - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait); // oversleeps ~50 µs; latency counts from `at` regardless
      }
      due.add(at);
      Sender s = idle.poll();
      if (s != null) {
        s.wake();
      }
    }
  }

  /** One sender per connection: at most one batch outstanding, on its own event-loop context. */
  private final class Sender extends VerticleBase {
    void begin() {
      context.runOnContext(v -> next());
    }

    void wake() {
      context.runOnContext(v -> next());
    }

    /** Called when this sender has nothing outstanding. */
    private void next() {
      if (window.stopping()) {
        return;
      }
      if (!options.openLoop()) {
        send(System.nanoTime());
        return;
      }
      Long at;
      while ((at = due.poll()) == null) {
        idle.add(this);
        // The pacer may have added a batch between our poll and our add: take it ourselves unless
        // the pacer already took us off the idle queue (then its wake() calls next() again).
        if (due.isEmpty() || !idle.remove(this)) {
          return;
        }
      }
      send(at);
    }

    private void send(long intendedNanos) {
      Buffer body = batches.poll();
      if (body == null) {
        if (window.contains(System.nanoTime())) {
          generatorStalls.increment(); // generators behind: try again shortly
        }
        vertx.setTimer(1, id -> send(options.openLoop() ? intendedNanos : System.nanoTime()));
        return;
      }
      attempt(intendedNanos, body);
    }

    private void attempt(long intendedNanos, Buffer body) {
      inFlight.incrementAndGet();
      client
          .request(HttpMethod.POST, batchUri)
          .compose(
              req ->
                  req.putHeader("Content-Type", NDJSON)
                      .putHeader("Authorization", BenchKey.authorization())
                      .send(body))
          .compose(resp -> resp.body().map(answer -> new Answer(resp.statusCode(), answer)))
          .onComplete(
              ar -> {
                inFlight.decrementAndGet();
                long now = System.nanoTime();
                boolean counted = window.contains(now);
                if (counted) {
                  requests.increment();
                }
                if (ar.failed()) {
                  fail(counted, ar.cause().toString());
                  return;
                }
                Answer a = ar.result();
                if (a.status == 200) {
                  acknowledged(a.body, counted, now - intendedNanos);
                  next();
                } else if (a.status == 429) {
                  if (counted) {
                    status429.increment();
                  }
                  vertx.setTimer(
                      RETRY_MILLIS,
                      id -> {
                        if (window.stopping()) {
                          return;
                        }
                        attempt(intendedNanos, body.copy());
                      });
                } else {
                  fail(counted, "HTTP " + a.status + ": " + abbreviate(a.body.toString()));
                }
              });
    }

    private void acknowledged(Buffer answer, boolean counted, long latencyNanos) {
      JsonObject j = answer.toJsonObject();
      int acked = j.getInteger("accepted", 0) + j.getInteger("duplicates", 0);
      ackedSoFar.add(acked);
      if (counted) {
        ackedEvents.add(acked);
        rejectedEvents.add(j.getInteger("rejected", 0));
        latencyMicros.recordValue(latencyNanos / 1_000);
      }
    }

    private void fail(boolean counted, String error) {
      if (counted) {
        errors.increment();
      }
      lastError = error;
      vertx.setTimer(RETRY_MILLIS, id -> next()); // no hot loop against a failing server
    }
  }

  private record Answer(int status, Buffer body) {}

  /** The server did not answer before the run. */
  static final class UnreachableException extends Exception {
    private static final long serialVersionUID = 1L;

    UnreachableException(String message) {
      super(message);
    }
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  private static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 197) + "...";
  }
}
