package dev.aggregator.bench;

import dev.aggregator.aggregation.Durations;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The load generator's command line.
 *
 * @param host the server's host
 * @param port the server's port
 * @param basePath a path prefix before {@code /api/...} (usually empty)
 * @param connections keep-alive connections, each with at most one batch outstanding
 * @param batch events per request
 * @param duration how long to measure, after the warmup
 * @param warmup how long to run before measuring
 * @param rate events/s sent open-loop on a fixed schedule; 0 sends as fast as acks come back
 * @param markerEvery how often to send a freshness marker; zero sends none
 * @param generators threads generating request bodies
 * @param seed the workload's seed; client ids derive from it, so it is random unless given
 * @param latePercent the share of events behind the lateness allowance, in percent
 */
record LoadOptions(
    String host,
    int port,
    String basePath,
    int connections,
    int batch,
    Duration duration,
    Duration warmup,
    double rate,
    Duration markerEvery,
    int generators,
    long seed,
    double latePercent) {

  static final String USAGE =
      """
      usage: java -cp bench/target/benchmarks.jar dev.aggregator.bench.LoadGenerator [options]

        --url URL             the server (default http://127.0.0.1:8080)
        --connections N       keep-alive connections, one batch outstanding on each (default 8)
        --batch N             events per POST /api/events/batch request (default 1000)
        --duration D          measured time after the warmup, e.g. 30s, 2m (default 30s)
        --warmup D            unmeasured time first (default 5s)
        --rate N              events/s on a fixed schedule (open loop); default: as fast as
                              the server acknowledges (closed loop)
        --marker-every D      freshness marker interval, 0 for none (default 100ms)
        --generators N        threads generating bodies (default 1)
        --seed N              workload seed (default random: client ids must not repeat
                              across runs, the server remembers them for 24 h)
        --late P              percent of events 65 s-10 min behind now (default 1; late
                              events cost more to aggregate: the benchmarks run 1 and 50)
      """;

  static LoadOptions parse(String[] args) {
    String url = "http://127.0.0.1:8080";
    int connections = 8;
    int batch = 1_000;
    Duration duration = Duration.ofSeconds(30);
    Duration warmup = Duration.ofSeconds(5);
    double rate = 0;
    Duration markerEvery = Duration.ofMillis(100);
    int generators = 1;
    long seed = ThreadLocalRandom.current().nextLong();
    double late = 1;
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
        case "--connections" -> connections = positive(flag, value);
        case "--batch" -> batch = positive(flag, value);
        case "--duration" -> duration = duration(flag, value);
        case "--warmup" -> warmup = duration(flag, value);
        case "--rate" -> rate = rate(value);
        case "--marker-every" -> markerEvery = duration(flag, value);
        case "--generators" -> generators = positive(flag, value);
        case "--seed" -> seed = number(flag, value);
        case "--late" -> late = percent(flag, value);
        default -> throw new IllegalArgumentException("unknown option " + flag);
      }
    }
    if (duration.isZero()) {
      throw new IllegalArgumentException("--duration must be positive");
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
    return new LoadOptions(
        uri.getHost(),
        uri.getPort() < 0 ? 80 : uri.getPort(),
        path,
        connections,
        batch,
        duration,
        warmup,
        rate,
        markerEvery,
        generators,
        seed,
        late);
  }

  /** The late share per 100,000 events, as the workload takes it. */
  int latePer100k() {
    return (int) Math.round(latePercent * 1_000);
  }

  private static double percent(String flag, String value) {
    try {
      double p = Double.parseDouble(value);
      if (p >= 0 && p <= 98) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(flag + " must be a percentage from 0 to 98, got " + value);
  }

  boolean openLoop() {
    return rate > 0;
  }

  String url() {
    return "http://" + host + ":" + port + basePath;
  }

  private static int positive(String flag, String value) {
    long n = number(flag, value);
    if (n < 1 || n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(flag + " must be a positive whole number, got " + value);
    }
    return (int) n;
  }

  private static long number(String flag, String value) {
    try {
      return Long.parseLong(value.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a whole number, got " + value);
    }
  }

  private static double rate(String value) {
    try {
      double r = Double.parseDouble(value.replace("_", ""));
      if (r > 0 && Double.isFinite(r)) {
        return r;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        "--rate must be a positive number of events/s, got " + value);
  }

  private static Duration duration(String flag, String value) {
    if (value.equals("0")) {
      return Duration.ZERO;
    }
    try {
      return Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(flag + ": " + e.getMessage());
    }
  }
}
