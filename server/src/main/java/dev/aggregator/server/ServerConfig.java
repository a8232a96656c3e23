package dev.aggregator.server;

import dev.aggregator.EngineConfig;
import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.Durations;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.alerting.WebhookPolicy;
import dev.aggregator.ingestion.IngestLimits;
import dev.aggregator.ingestion.Privacy;
import dev.aggregator.storage.ParquetEventStore;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The server's configuration: flags over environment variables over the config file over defaults
 * (see {@link Setting}).
 *
 * <pre>{@code
 * ServerConfig config = ServerConfig.load(new String[] {"--port", "0"}, System.getenv());
 * }</pre>
 */
public record ServerConfig(
    String host,
    int port,
    int maxIngestRequests,
    int maxQueries,
    LiveSockets.Budget live,
    ConnectionGuard.Limits connections,
    List<String> allowedHosts,
    List<String> allowedOrigins,
    Security security,
    EngineConfig engine,
    ClusterEngine.Cluster cluster) {

  /** Whether this server is a node of a cluster ({@link #cluster} set) rather than embedded. */
  public boolean clusterMode() {
    return cluster != null;
  }

  /**
   * Keys and TLS.
   *
   * @param adminKey a configured admin key, or null
   * @param keyRateLimit requests per second of a key created without its own; 0: none
   * @param tlsCert PEM certificate file, or null for plain HTTP
   * @param tlsKey PEM key file of {@code tlsCert}, or null
   */
  public record Security(String adminKey, int keyRateLimit, Path tlsCert, Path tlsKey) {}

  /** A setting that cannot be used, with a sentence saying which and why. */
  public static final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    ConfigException(String message) {
      super(message);
    }
  }

  /**
   * @throws ConfigException for an unknown flag or key, a missing value, or a value out of range
   */
  public static ServerConfig load(String[] args, Map<String, String> env) throws ConfigException {
    Map<Setting, String> flags = new EnumMap<>(Setting.class);
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        value = arg.substring(eq + 1);
        arg = arg.substring(0, eq);
      }
      Setting s = Setting.byFlag(arg);
      if (s == null) {
        throw new ConfigException("unknown option " + arg + "; --help lists them");
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          throw new ConfigException(arg + " needs a value");
        }
        value = args[++i];
      }
      flags.put(s, value);
    }
    Map<Setting, String> values = new EnumMap<>(Setting.class);
    String configFile = firstOf(flags.get(Setting.CONFIG), env.get(Setting.CONFIG.env()));
    if (configFile != null && !configFile.isBlank()) {
      values.putAll(readFile(Path.of(configFile)));
    }
    for (Setting s : Setting.values()) {
      String fromEnv = env.get(s.env());
      if (fromEnv != null && !fromEnv.isBlank()) {
        values.put(s, fromEnv.trim());
      }
    }
    values.putAll(flags);
    for (Setting s : Setting.values()) {
      values.putIfAbsent(s, s.defaultValue());
    }
    return build(values);
  }

  private static Map<Setting, String> readFile(Path file) throws ConfigException {
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file)) {
      p.load(in);
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
    }
    Map<Setting, String> values = new EnumMap<>(Setting.class);
    for (String key : p.stringPropertyNames()) {
      Setting s = Setting.byKey(key);
      if (s == null || s == Setting.CONFIG) {
        throw new ConfigException("unknown key '" + key + "' in " + file);
      }
      values.put(s, p.getProperty(key).trim());
    }
    return values;
  }

  /** Checked here, so that a bad entry stops the server at start with a clear message. */
  private static String webhookAllow(Map<Setting, String> v) throws ConfigException {
    String allow = v.get(Setting.WEBHOOK_ALLOW);
    try {
      WebhookPolicy.parse(allow);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(Setting.WEBHOOK_ALLOW.key() + ": " + e.getMessage());
    }
    return allow;
  }

  private static ServerConfig build(Map<Setting, String> v) throws ConfigException {
    IngestLimits limits =
        new IngestLimits(
            intIn(v, Setting.MAX_EVENT_BYTES, 256, 1 << 20),
            intIn(v, Setting.MAX_BATCH_EVENTS, 1, 1_000_000),
            intIn(v, Setting.MAX_BATCH_BYTES, 1024, 1 << 30),
            duration(v, Setting.MAX_FUTURE_SKEW),
            intIn(v, Setting.MAX_ERRORS_PER_EVENT, 1, 10_000),
            intIn(v, Setting.MAX_ERRORS_PER_RESPONSE, 1, 100_000));
    EngineConfig engine;
    try {
      engine =
          EngineConfig.builder(Path.of(v.get(Setting.DATA_DIR)))
              .limits(limits)
              .tiers(tiers(v))
              .catalog(
                  new CatalogLimits(
                      intIn(v, Setting.MAX_EVENT_TYPES, 1, 10_000_000),
                      intIn(v, Setting.MAX_DIMENSIONS, 0, 64),
                      intIn(v, Setting.MAX_DIMENSION_VALUES, 1, 10_000_000),
                      intIn(v, Setting.MAX_SERIES_PER_EVENT_TYPE, 1, 100_000_000),
                      intIn(v, Setting.MAX_FIELDS, 0, 100_000),
                      longIn(v, Setting.MAX_DIMENSION_VALUE_BYTES, 1, 1L << 40),
                      longIn(v, Setting.MAX_CATALOG_BYTES, 1 << 20, 1L << 40),
                      CatalogLimits.parseCombinations(v.get(Setting.ROLLUPS))))
              .maxMemoryRows(longIn(v, Setting.MAX_MEMORY_ROWS, 1_000, Long.MAX_VALUE))
              .maxMemoryBytes(longIn(v, Setting.MAX_MEMORY_BYTES, 0, Long.MAX_VALUE))
              .aggregationThreads(intIn(v, Setting.AGGREGATION_THREADS, 0, 64))
              .lateness(duration(v, Setting.LATENESS))
              .dedupWindow(duration(v, Setting.DEDUP_WINDOW))
              .dedupMaxIds(longIn(v, Setting.DEDUP_MAX_IDS, 1, Long.MAX_VALUE))
              .maxInFlight(longIn(v, Setting.MAX_IN_FLIGHT, 1, Long.MAX_VALUE))
              .deadLetterCapacity(intIn(v, Setting.DEAD_LETTER_CAPACITY, 1, 10_000_000))
              .segmentBytes(longIn(v, Setting.WAL_SEGMENT_BYTES, 1 << 16, 1L << 40))
              .maxQueryPoints(intIn(v, Setting.MAX_QUERY_POINTS, 1, 10_000_000))
              .checkpointInterval(duration(v, Setting.CHECKPOINT_INTERVAL))
              .walRetentionBytes(longIn(v, Setting.WAL_RETENTION_BYTES, 0, Long.MAX_VALUE))
              .webhookAllow(webhookAllow(v))
              .maxAlerts(intIn(v, Setting.MAX_ALERTS, 0, 1_000_000))
              .eventStore(
                  ParquetEventStore.Options.defaults()
                      .withRetention(
                          v.get(Setting.EVENT_RETENTION).strip().equals("forever")
                              ? null
                              : duration(v, Setting.EVENT_RETENTION),
                          longIn(v, Setting.EVENT_DISK_BUDGET, 0, Long.MAX_VALUE)))
              .privacy(privacy(v))
              .build();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    return new ServerConfig(
        v.get(Setting.HOST),
        intIn(v, Setting.PORT, 0, 65_535),
        intIn(v, Setting.MAX_INGEST_REQUESTS, 1, 100_000),
        intIn(v, Setting.MAX_QUERIES, 1, 100_000),
        new LiveSockets.Budget(
            longIn(v, Setting.MAX_LIVE_POINTS_PER_CONNECTION, 1, Long.MAX_VALUE / 4),
            longIn(v, Setting.MAX_LIVE_POINTS, 1, Long.MAX_VALUE / 4)),
        new ConnectionGuard.Limits(
            duration(v, Setting.BODY_TIMEOUT),
            duration(v, Setting.IDLE_TIMEOUT),
            intIn(v, Setting.MAX_CONNECTIONS, 1, 1_000_000),
            intIn(v, Setting.MAX_CONNECTIONS_PER_ADDRESS, 1, 1_000_000)),
        Arrays.stream(v.get(Setting.ALLOWED_HOSTS).split(","))
            .map(String::strip)
            .filter(h -> !h.isEmpty())
            .toList(),
        Arrays.stream(v.get(Setting.ALLOWED_ORIGINS).split(","))
            .map(String::strip)
            .filter(o -> !o.isEmpty())
            .toList(),
        security(v),
        engine,
        cluster(v));
  }

  /** Null in embedded mode; in cluster mode, where Kafka and PostgreSQL are (both required). */
  private static ClusterEngine.Cluster cluster(Map<Setting, String> v) throws ConfigException {
    String mode = v.get(Setting.MODE).strip();
    if (mode.equals("embedded")) {
      return null;
    }
    if (!mode.equals("cluster")) {
      throw new ConfigException(Setting.MODE.key() + ": embedded or cluster, not " + mode);
    }
    String kafka = v.get(Setting.KAFKA).strip();
    String url = v.get(Setting.POSTGRES_URL).strip();
    if (kafka.isEmpty() || url.isEmpty()) {
      throw new ConfigException(
          "cluster mode needs kafka (bootstrap servers) and postgresUrl (the rollups' database)");
    }
    if (!v.get(Setting.TIERS).equals(Setting.TIERS.defaultValue())) {
      throw new ConfigException(
          "cluster mode reads the Flink job's tiers, which are the defaults: leave tiers unset");
    }
    String prefix = v.get(Setting.SCHEMA_PREFIX).strip();
    if (!prefix.matches("[a-z_][a-z0-9_]{0,40}")) {
      throw new ConfigException(
          Setting.SCHEMA_PREFIX.key() + ": lower-case letters, digits and underscores");
    }
    java.util.Properties jdbc = new java.util.Properties();
    if (!v.get(Setting.POSTGRES_USER).isBlank()) {
      jdbc.setProperty("user", v.get(Setting.POSTGRES_USER).strip());
    }
    if (!v.get(Setting.POSTGRES_PASSWORD).isEmpty()) {
      jdbc.setProperty("password", v.get(Setting.POSTGRES_PASSWORD));
    }
    return new ClusterEngine.Cluster(
        kafka,
        v.get(Setting.KAFKA_TOPIC).strip(),
        url,
        jdbc,
        prefix,
        intIn(v, Setting.ROLLUP_PARTITIONS, 1, 32_768));
  }

  private static Privacy privacy(Map<Setting, String> v) throws ConfigException {
    String secret = v.get(Setting.USER_ID_SECRET).strip();
    try {
      return Privacy.of(
          secret.isEmpty() ? null : secret,
          Arrays.stream(v.get(Setting.DENY_PROPERTIES).split(","))
              .map(String::strip)
              .filter(k -> !k.isEmpty())
              .collect(java.util.stream.Collectors.toSet()));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
  }

  private static Security security(Map<Setting, String> v) throws ConfigException {
    String admin = v.get(Setting.ADMIN_KEY).strip();
    if (!admin.isEmpty() && admin.length() < 16) {
      throw new ConfigException(
          Setting.ADMIN_KEY.key() + ": an admin key needs 16 characters at least");
    }
    String cert = v.get(Setting.TLS_CERT).strip();
    String key = v.get(Setting.TLS_KEY).strip();
    if (cert.isEmpty() != key.isEmpty()) {
      throw new ConfigException("tlsCert and tlsKey go together: give both, or neither");
    }
    for (String f : List.of(cert, key)) {
      if (!f.isEmpty() && !Files.isReadable(Path.of(f))) {
        throw new ConfigException("cannot read " + f + " (tlsCert/tlsKey)");
      }
    }
    return new Security(
        admin.isEmpty() ? null : admin,
        intIn(v, Setting.KEY_RATE_LIMIT, 0, 100_000_000),
        cert.isEmpty() ? null : Path.of(cert),
        key.isEmpty() ? null : Path.of(key));
  }

  private static java.util.List<Tier> tiers(Map<Setting, String> v) throws ConfigException {
    try {
      return Tier.parseList(v.get(Setting.TIERS));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(Setting.TIERS.key() + ": " + e.getMessage());
    }
  }

  private static java.time.Duration duration(Map<Setting, String> v, Setting s)
      throws ConfigException {
    try {
      return Durations.parse(v.get(s));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(s.key() + ": " + e.getMessage());
    }
  }

  private static int intIn(Map<Setting, String> v, Setting s, int min, int max)
      throws ConfigException {
    return (int) longIn(v, s, min, max);
  }

  private static long longIn(Map<Setting, String> v, Setting s, long min, long max)
      throws ConfigException {
    String text = v.get(s).replace("_", "");
    long n;
    try {
      n = Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new ConfigException(s.key() + ": '" + v.get(s) + "' is not a whole number");
    }
    if (n < min || n > max) {
      throw new ConfigException(s.key() + ": " + n + " is outside " + min + ".." + max);
    }
    return n;
  }

  private static String firstOf(String a, String b) {
    return a != null ? a : b;
  }

  /** The settings as a table, for {@code --help}. */
  static String usage() {
    StringBuilder b =
        new StringBuilder(
            "usage: java -jar aggregator.jar [options]\n\noptions (flag, env, default):\n");
    for (Setting s : Setting.values()) {
      b.append(String.format("  %-26s %-36s %s%n", s.flag(), s.env(), s.defaultValue()));
      b.append(String.format("      %s%n", s.description()));
    }
    return b.toString();
  }
}
