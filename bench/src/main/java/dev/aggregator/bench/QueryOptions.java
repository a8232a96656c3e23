package dev.aggregator.bench;

import dev.aggregator.aggregation.Durations;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The query benchmark's command line.
 *
 * @param host the server's host
 * @param port the server's port
 * @param basePath a path prefix before {@code /api/...} (usually empty)
 * @param load events to send before measuring; 0 measures what the server already holds
 * @param days the loaded events' timestamps are spread uniformly over this many days before now
 * @param connections keep-alive connections for the load, each with one batch outstanding
 * @param iterations measured runs of each query
 * @param warmup unmeasured runs of each query before them
 * @param settleTimeout how long to wait, after the load, for aggregation and a checkpoint
 * @param seed the workload's seed; client ids derive from it, so it is random unless given
 */
record QueryOptions(
    String host,
    int port,
    String basePath,
    long load,
    int days,
    int connections,
    int iterations,
    int warmup,
    Duration settleTimeout,
    long seed) {

  /** Events per {@code POST /api/events/batch} in the load phase. */
  static final int BATCH = 1_000;

  /** The 1 m tier keeps 30 days by default: older events would miss the 24 h @ 1 m tier reads. */
  static final int MAX_DAYS = 30;

  static final String USAGE =
      """
      usage: java -cp bench/target/benchmarks.jar dev.aggregator.bench.QueryBenchmark [options]

        --url URL             the server (default http://127.0.0.1:8080)
        --load N              first send N standard-workload events (batches of 1,000) whose
                              timestamps are spread over the last --days days, and wait until
                              they are aggregated and checkpointed (default 0: measure what the
                              server holds)
        --days N              1 to 30 (default 30)
        --connections N       keep-alive connections for the load (default 4)
        --iterations N        measured runs of each query (default 200)
        --warmup N            unmeasured runs of each query first (default 50)
        --settle-timeout D    how long to wait for aggregation + a checkpoint after the load
                              (default 10m)
        --seed N              workload seed (default random: client ids must not repeat
                              across runs, the server remembers them for 24 h)
      """;

  static QueryOptions parse(String[] args) {
    String url = "http://127.0.0.1:8080";
    long load = 0;
    int days = MAX_DAYS;
    int connections = 4;
    int iterations = 200;
    int warmup = 50;
    Duration settleTimeout = Duration.ofMinutes(10);
    long seed = ThreadLocalRandom.current().nextLong();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      String value;
      int eq = flag.indexOf('=');
      if (flag.startsWith("--") && eq > 0) {
        value = flag.substring(eq + 1);
        flag = flag.substring(0, eq);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      switch (flag) {
        case "--url" -> url = value;
        case "--load" -> load = atLeast(flag, value, 0, Long.MAX_VALUE);
        case "--days" -> days = (int) atLeast(flag, value, 1, MAX_DAYS);
        case "--connections" -> connections = (int) atLeast(flag, value, 1, 256);
        case "--iterations" -> iterations = (int) atLeast(flag, value, 1, 10_000_000);
        case "--warmup" -> warmup = (int) atLeast(flag, value, 0, 10_000_000);
        case "--settle-timeout" -> settleTimeout = duration(flag, value);
        case "--seed" -> seed = number(flag, value);
        default -> throw new IllegalArgumentException("unknown option " + flag);
      }
    }
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--url " + url + " is not a URL");
    }
    if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
      throw new IllegalArgumentException("--url must look like http://host:port, got " + url);
    }
    String path = uri.getPath() == null ? "" : uri.getPath().replaceAll("/+$", "");
    return new QueryOptions(
        uri.getHost(),
        uri.getPort() < 0 ? 80 : uri.getPort(),
        path,
        load,
        days,
        connections,
        iterations,
        warmup,
        settleTimeout,
        seed);
  }

  String url() {
    return "http://" + host + ":" + port + basePath;
  }

  private static long atLeast(String flag, String value, long min, long max) {
    long n = number(flag, value);
    if (n < min || n > max) {
      throw new IllegalArgumentException(
          flag + " must be a whole number from " + min + " to " + max + ", got " + value);
    }
    return n;
  }

  private static long number(String flag, String value) {
    try {
      return Long.parseLong(value.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a whole number, got " + value);
    }
  }

  private static Duration duration(String flag, String value) {
    try {
      Duration d = Durations.parse(value);
      if (!d.isZero()) {
        return d;
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(flag + ": " + e.getMessage());
    }
    throw new IllegalArgumentException(flag + " must be positive");
  }
}
