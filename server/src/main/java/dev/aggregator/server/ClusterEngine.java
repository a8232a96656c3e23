package dev.aggregator.server;

import dev.aggregator.Aggregator;
import dev.aggregator.EngineConfig;
import dev.aggregator.aggregation.EventSchema;
import dev.aggregator.aggregation.RollupReader;
import dev.aggregator.aggregation.RollupSource;
import dev.aggregator.aggregation.StoredRollups;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.cluster.KafkaEventLog;
import dev.aggregator.cluster.PostgresRollupStore;
import dev.aggregator.ingestion.Deduplicator;
import dev.aggregator.ingestion.EventDecoder;
import dev.aggregator.ingestion.EventTypeAdmission;
import dev.aggregator.ingestion.IngestPipeline;
import dev.aggregator.processing.Lifecycle;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryEngine;
import dev.aggregator.query.QueryParser;
import dev.aggregator.query.QueryResult;
import dev.aggregator.storage.DeadLetterLog;
import dev.aggregator.storage.LogStats;
import dev.aggregator.storage.RollupStore;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stateless server of a cluster (docs/DESIGN.md §10): validated events go to the Kafka topic
 * (acknowledged once Kafka committed them), the Flink job ({@code cluster.flink.RollupJob})
 * aggregates them into one PostgreSQL schema per rollup partition, and queries read those schemas
 * as one ({@link StoredRollups}), refreshed every {@value #REFRESH_MILLIS} ms — the same planner as
 * the embedded engine. Any number of servers can run side by side; the data directory keeps only
 * what is this server's own: its node id (its Kafka transactional id), dead letters, keys, audit.
 *
 * <p>Not served yet in this mode: alert rules, export and user deletion (501), and answers that
 * need the raw events (a filter or breakdown the rollups do not hold exactly is refused with a
 * sentence, as the embedded engine refuses without its event store).
 */
final class ClusterEngine implements Engine {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterEngine.class);
  static final long REFRESH_MILLIS = 100;
  private static final String UNREADABLE =
      "the rollups in PostgreSQL cannot be read: queries answer 503 until they can";

  /**
   * Where the cluster is.
   *
   * @param kafka bootstrap servers, {@code host:port,...}
   * @param topic the events topic the Flink job reads
   * @param jdbcUrl the PostgreSQL the job writes rollups to
   * @param jdbcProperties the driver's properties ({@code user}, {@code password})
   * @param schemaPrefix the job's {@code --schema-prefix}: partition p lives in schema prefix+p
   * @param partitions the job's {@code --partitions}
   */
  record Cluster(
      String kafka,
      String topic,
      String jdbcUrl,
      Properties jdbcProperties,
      String schemaPrefix,
      int partitions) {}

  /** The rollups cannot be read now (PostgreSQL unreachable): answered 503. */
  static final class Unavailable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unavailable() {
      super("the rollups in PostgreSQL cannot be read now; retry shortly");
    }
  }

  private final EngineConfig config;
  private final Cluster cluster;
  private final LongSupplier clock = System::currentTimeMillis;
  private final Lifecycle lifecycle = new Lifecycle();
  private final DeadLetterLog deadLetters;
  private final KafkaEventLog log;
  private final IngestPipeline pipeline;
  private final EventDecoder decoder;
  private final QueryEngine queries;
  private final QueryParser queryParser;

  /** Bumped whenever the rollups read may have changed: answers cached before are not used. */
  private final java.util.concurrent.atomic.AtomicLong version =
      new java.util.concurrent.atomic.AtomicLong();

  private final AnswerCache answers = new AnswerCache(1_000_000);
  private final String nodeId;
  private final List<Consumer<Set<String>>> listeners = new CopyOnWriteArrayList<>();
  private final Thread refresher;

  // Reopened by the refresher when PostgreSQL went away (connections and snapshots are gone).
  private volatile StoredRollups rollups;
  private final List<PostgresRollupStore> stores = new ArrayList<>();
  private volatile long lastRefresh = System.currentTimeMillis();
  private volatile String readFailure;
  private volatile boolean closed;

  private final RollupSource source =
      new RollupSource() {
        @Override
        public <T> T read(Function<RollupReader, T> query) {
          StoredRollups r = rollups;
          if (r == null) {
            throw new Unavailable();
          }
          return r.read(query);
        }
      };

  ClusterEngine(EngineConfig config, Cluster cluster) throws IOException {
    this.config = config;
    this.cluster = cluster;
    Files.createDirectories(config.dataDir());
    this.nodeId = nodeId(config.dataDir());
    this.deadLetters =
        new DeadLetterLog(config.dataDir().resolve("deadletters"), config.deadLetterCapacity());
    try {
      openRollups();
    } catch (IOException | RuntimeException e) {
      // PostgreSQL away, or the job creating the same tables this moment: ingest works without
      // it, queries answer 503 and the refresher retries.
      LOG.warn("cannot read the rollups in PostgreSQL yet; retrying: {}", e.toString());
      readFailure = UNREADABLE;
    }
    try {
      this.log =
          KafkaEventLog.open(
              KafkaEventLog.Options.defaults(
                  cluster.kafka(), cluster.topic(), "aggregator-server-" + nodeId));
    } catch (RuntimeException e) {
      closeRollups();
      deadLetters.close();
      throw new IOException("cannot reach Kafka at " + cluster.kafka() + ": " + e.getMessage(), e);
    }
    // Each server drops the retries it sees itself; the job's keyed state drops the rest.
    Deduplicator dedup = new Deduplicator(config.dedupWindow(), config.dedupMaxIds());
    this.pipeline = new IngestPipeline(log, dedup, null, lifecycle, config.maxInFlight(), clock);
    this.decoder =
        new EventDecoder(
            config.limits(),
            clock,
            new EventTypeAdmission(knownTypes(), config.catalog().maxEventTypes()),
            config.privacy());
    this.queries = new QueryEngine(source, clock);
    this.queryParser = new QueryParser(clock, config.maxQueryPoints());
    this.refresher = new Thread(this::refreshLoop, "cluster-rollups-refresh");
    refresher.setDaemon(true);
    refresher.start();
  }

  /** The event types the rollups hold (none while they cannot be read: each is admitted anew). */
  private List<String> knownTypes() {
    try {
      return source.read(r -> r.catalog().schemas().stream().map(EventSchema::name).toList());
    } catch (Unavailable e) {
      return List.of();
    }
  }

  /** This server's id, made on its first start and kept in its data directory. */
  private static String nodeId(Path dataDir) throws IOException {
    Path file = dataDir.resolve("node-id");
    if (Files.exists(file)) {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    }
    String id = UUID.randomUUID().toString();
    Path tmp = dataDir.resolve("node-id.tmp");
    Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return id;
  }

  private void openRollups() throws IOException {
    try {
      for (int p = 0; p < cluster.partitions(); p++) {
        stores.add(
            PostgresRollupStore.open(
                cluster.jdbcUrl(),
                cluster.jdbcProperties(),
                cluster.schemaPrefix() + p,
                Tier.bucketsPerPartition(config.tiers())));
      }
      rollups = new StoredRollups(List.<RollupStore>copyOf(stores), config.tiers());
    } catch (IOException | RuntimeException e) {
      closeRollups();
      throw e;
    }
  }

  private void closeRollups() {
    StoredRollups r = rollups;
    rollups = null;
    if (r != null) {
      try {
        r.close();
      } catch (RuntimeException ignored) {
        // a broken connection: nothing left to release
      }
    }
    for (PostgresRollupStore s : stores) {
      try {
        s.close();
      } catch (RuntimeException ignored) {
        // as above
      }
    }
    stores.clear();
  }

  /** Takes in each checkpoint the job commits; reopens the stores after PostgreSQL went away. */
  private void refreshLoop() {
    while (!closed) {
      try {
        Thread.sleep(REFRESH_MILLIS);
        if (rollups == null) {
          openRollups();
          version.incrementAndGet();
        }
        if (rollups.refresh()) {
          version.incrementAndGet();
          Set<String> types = new HashSet<>(knownTypes());
          for (Consumer<Set<String>> l : listeners) {
            l.accept(types);
          }
        }
        lastRefresh = System.currentTimeMillis();
        if (readFailure != null) {
          LOG.info("reading the rollups in PostgreSQL again");
          readFailure = null;
        }
      } catch (InterruptedException e) {
        return;
      } catch (IOException | RuntimeException e) {
        if (readFailure == null) {
          LOG.warn("cannot read the rollups in PostgreSQL; retrying: {}", e.toString());
        }
        readFailure = UNREADABLE;
        closeRollups();
      }
    }
  }

  @Override
  public EngineConfig config() {
    return config;
  }

  @Override
  public LongSupplier clock() {
    return clock;
  }

  @Override
  public EventDecoder decoder() {
    return decoder;
  }

  @Override
  public IngestPipeline pipeline() {
    return pipeline;
  }

  @Override
  public Lifecycle lifecycle() {
    return lifecycle;
  }

  @Override
  public DeadLetterLog deadLetters() {
    return deadLetters;
  }

  @Override
  public QueryEngine queries() {
    return queries;
  }

  @Override
  public QueryResult query(Query q) throws InvalidQueryException {
    long v = version.get();
    QueryResult hit = answers.get(v, q);
    if (hit != null) {
      return hit;
    }
    QueryResult r = queries.run(q);
    if (version.get() == v) { // else it may have read rows of the next version: not kept
      answers.put(v, r);
    }
    return r;
  }

  @Override
  public QueryParser queryParser() {
    return queryParser;
  }

  @Override
  public RollupSource rollups() {
    return source;
  }

  @Override
  public void onRollupsChanged(Consumer<Set<String>> listener) {
    listeners.add(listener);
  }

  @Override
  public boolean failed() {
    return log.stats().failed();
  }

  /** Since the rollups were last read from PostgreSQL (the job's checkpoints add their own lag). */
  @Override
  public long lagMillis() {
    return Math.max(0, System.currentTimeMillis() - lastRefresh - REFRESH_MILLIS);
  }

  @Override
  public List<String> degraded() {
    String failure = readFailure;
    return failure == null ? List.of() : List.of(failure);
  }

  @Override
  public Map<String, Object> details() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("mode", "cluster");
    out.put("node", nodeId);
    LogStats stats = log.stats();
    Map<String, Object> kafka = new LinkedHashMap<>();
    kafka.put("bootstrap", cluster.kafka());
    kafka.put("topic", cluster.topic());
    kafka.put("records", stats.records());
    kafka.put("bytes", stats.bytes());
    kafka.put("transactions", stats.syncs());
    out.put("kafka", kafka);
    Map<String, Object> pg = new LinkedHashMap<>();
    pg.put("partitions", cluster.partitions());
    pg.put("schemaPrefix", cluster.schemaPrefix());
    pg.put("readable", readFailure == null);
    pg.put("lastReadMillisAgo", System.currentTimeMillis() - lastRefresh);
    out.put("rollups", pg);
    Map<String, Object> cache = new LinkedHashMap<>();
    cache.put("hits", answers.hits());
    cache.put("misses", answers.misses());
    cache.put("points", answers.points());
    out.put("answerCache", cache);
    return out;
  }

  @Override
  public void register(PrometheusRegistry registry) {
    lifecycle.register(registry);
  }

  @Override
  public Aggregator embedded() {
    return null;
  }

  /** Commits what Kafka still holds of this server's appends, then lets go of everything. */
  @Override
  public void close() {
    closed = true;
    refresher.interrupt();
    try {
      refresher.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    log.close();
    closeRollups();
    deadLetters.close();
  }
}
