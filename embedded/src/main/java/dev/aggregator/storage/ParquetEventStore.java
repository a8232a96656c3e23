package dev.aggregator.storage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.aggregator.event.Event;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.duckdb.DuckDBConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every accepted event in columnar form (Parquet, written and queried with DuckDB), so that any
 * filter, not only the dimensions the rollups were told about, can be answered exactly later.
 *
 * <p>The write-ahead log stays the source of truth: this store may lose its unsealed tail on a
 * crash, and the caller replays the log from {@link #committedSequence()} + 1 on open. The manifest
 * ({@link StoreManifest}) is the only truth on disk; any file it does not list is deleted on open.
 *
 * <p>Layout: {@code dir/day=YYYY-MM-DD/part-<n>.parquet} (ZSTD), one UTC day of event time per
 * file, rows sorted by (event_type, time_ms) so that row-group min/max statistics prune a query on
 * one event type. A background writer thread stages rows as CSV; at {@code chunkEvents} rows, after
 * {@code chunkAge}, or at once when a reader waits, it hands the chunk to a sealer thread, which
 * turns it into Parquet, compacts small files of a day and applies retention while the writer
 * stages the next chunk.
 *
 * <p>Thread-safe: {@link #append} is meant for one aggregation thread; queries may run from any.
 */
public final class ParquetEventStore implements AutoCloseable, RawEvents {
  private static final Logger LOG = LoggerFactory.getLogger(ParquetEventStore.class);
  private static final long DAY_MILLIS = 86_400_000L;
  private static final String STAGING = ".staging";
  private static final JsonFactory JSON = new JsonFactory();
  private static final DateTimeFormatter RFC3339_MILLIS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT)
          .withZone(ZoneOffset.UTC);
  private static final Pattern LEADING_WITH =
      Pattern.compile("^\\s*with\\s+(?!recursive\\b)", Pattern.CASE_INSENSITIVE);
  private static final Batch STOP = new Batch(List.of(), 0, 0, null);

  /** How long a failed store waits between attempts to heal (see {@link #failed()}). */
  static final long HEAL_INTERVAL_MILLIS = 1000;

  private static final Batch WAKE = new Batch(List.of(), 0, 0, null);

  /**
   * The store's size and position.
   *
   * @param files live Parquet files
   * @param bytes their bytes
   * @param rows their rows
   * @param committedSequence every event with a sequence up to this is in them
   * @param horizonMillis before this time retention dropped data ({@code Long.MIN_VALUE}: never)
   */
  public record Stats(
      long files, long bytes, long rows, long committedSequence, long horizonMillis) {}

  /**
   * Tuning; {@link #defaults()} are sized for one node with 2 cores.
   *
   * @param maxColumns property columns at most; later (key, kind)s go into the JSON column {@code
   *     extra}
   * @param queueEvents events queued for the writer at most; {@link #append} blocks beyond
   * @param chunkEvents rows per sealed chunk at most
   * @param chunkAge a chunk is sealed at this age at the latest
   * @param compactAt a day's small files are merged once there are this many
   * @param compactTargetRows a file with fewer rows is small
   * @param retention days wholly older than now minus this are dropped; null keeps everything
   * @param diskBudgetBytes the oldest days are dropped until the files fit; 0 is unlimited
   * @param memoryLimit DuckDB's memory_limit
   * @param queryTimeout a query is cancelled after this
   * @param queryConnections queries run at once at most
   */
  public record Options(
      int maxColumns,
      int queueEvents,
      int chunkEvents,
      Duration chunkAge,
      int compactAt,
      long compactTargetRows,
      Duration retention,
      long diskBudgetBytes,
      String memoryLimit,
      Duration queryTimeout,
      int queryConnections) {
    public Options {
      Objects.requireNonNull(chunkAge, "chunkAge");
      Objects.requireNonNull(memoryLimit, "memoryLimit");
      Objects.requireNonNull(queryTimeout, "queryTimeout");
      if (maxColumns < 0
          || queueEvents < 1
          || chunkEvents < 1
          || compactAt < 2
          || compactTargetRows < 1
          || diskBudgetBytes < 0
          || queryConnections < 1) {
        throw new IllegalArgumentException("invalid options: " + this);
      }
      if (!memoryLimit.matches("[0-9]+(\\.[0-9]+)?\\s*[A-Za-z]*")) {
        throw new IllegalArgumentException("memoryLimit: " + memoryLimit);
      }
    }

    public static Options defaults() {
      return new Options(
          1_024,
          2_000_000,
          1_000_000,
          Duration.ofSeconds(5),
          8,
          4_000_000,
          null,
          10L << 30,
          "512MB",
          Duration.ofSeconds(30),
          2);
    }

    public Options withMaxColumns(int n) {
      return new Options(
          n,
          queueEvents,
          chunkEvents,
          chunkAge,
          compactAt,
          compactTargetRows,
          retention,
          diskBudgetBytes,
          memoryLimit,
          queryTimeout,
          queryConnections);
    }

    public Options withChunking(int events, Duration age) {
      return new Options(
          maxColumns,
          queueEvents,
          events,
          age,
          compactAt,
          compactTargetRows,
          retention,
          diskBudgetBytes,
          memoryLimit,
          queryTimeout,
          queryConnections);
    }

    public Options withCompaction(int at, long targetRows) {
      return new Options(
          maxColumns,
          queueEvents,
          chunkEvents,
          chunkAge,
          at,
          targetRows,
          retention,
          diskBudgetBytes,
          memoryLimit,
          queryTimeout,
          queryConnections);
    }

    public Options withRetention(Duration age, long budgetBytes) {
      return new Options(
          maxColumns,
          queueEvents,
          chunkEvents,
          chunkAge,
          compactAt,
          compactTargetRows,
          age,
          budgetBytes,
          memoryLimit,
          queryTimeout,
          queryConnections);
    }
  }

  /** Queued records; {@code staged} (or null) runs once the writer has staged them. */
  private record Batch(List<Event> events, long firstSequence, int permits, Runnable staged) {}

  /** A manifest some queries may still read; its files are kept until none does. */
  private static final class Snapshot {
    final StoreManifest manifest;
    final ColumnRegistry registry;
    final AtomicInteger users = new AtomicInteger();

    Snapshot(StoreManifest manifest) {
      this.manifest = manifest;
      this.registry = ColumnRegistry.of(manifest.columns());
    }
  }

  /** A file a newer manifest no longer lists; deleted once no older snapshot is in use. */
  private record Obsolete(Path path, long removedInGeneration) {}

  private final Path dir;
  private final Path stagingDir;
  private final Options options;
  private final DuckDBConnection root;
  private final Connection writerConnection;
  private final BlockingQueue<Connection> pool;
  private final ScheduledExecutorService timer;
  private final LinkedBlockingQueue<Batch> queue = new LinkedBlockingQueue<>();
  private final Semaphore queueRoom;
  private final Thread writer;
  // Seals, compaction, retention and deletions: one thread, so that staging goes on while DuckDB
  // seals the previous chunk (with both on one thread the stager stalled for the whole seal, its
  // permits with it, and ingest answered 429).
  private final ExecutorService sealer;
  private final Object snapshotLock = new Object();
  private final Deque<Snapshot> retired = new ArrayDeque<>();
  private final List<Obsolete> obsolete = new ArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Snapshot current;
  private volatile long sealWanted = Long.MIN_VALUE;
  private volatile Throwable failure;
  private long lastQueuedSequence;
  // Healing in place (healFrom): while healing, appends only note how far the log went (under
  // healLock, which the writer takes to finish a heal) and the writer re-reads it all from the log.
  private volatile LogReader healFrom;
  private volatile boolean healing;
  private final Object healLock = new Object();
  private long missedUpTo = Long.MIN_VALUE; // guarded by healLock
  private final AtomicLong heals = new AtomicLong();

  // Writer-thread state.
  private final ColumnRegistry registry;
  private StagingChunk chunk;
  private Future<?> sealing = CompletableFuture.completedFuture(null);
  private long handedOff = Long.MIN_VALUE; // last sequence of the chunk given to the sealer
  private long stagedUpTo; // last sequence staged: later batches skip up to it
  // Last sequence taken from the queue, staged or dropped: a heal re-reads the log up to it.
  private long receivedUpTo = Long.MIN_VALUE;
  private volatile long lastRetentionNanos = System.nanoTime();

  private ParquetEventStore(Path dir, Options options) throws IOException, SQLException {
    this.dir = dir;
    this.options = options;
    this.stagingDir = dir.resolve(STAGING);
    Files.createDirectories(dir);
    StoreManifest manifest = StoreManifest.read(dir);
    deleteUnlisted(manifest);
    Files.createDirectories(stagingDir);
    this.registry = ColumnRegistry.of(manifest.columns());
    this.current = new Snapshot(manifest);
    this.lastQueuedSequence = manifest.committedSequence();
    this.stagedUpTo = manifest.committedSequence();
    this.queueRoom = new Semaphore(options.queueEvents());
    this.root = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:");
    try (Statement s = root.createStatement()) {
      // 2 threads: the machine has 2 cores, shared with ingestion and the rollups.
      s.execute("SET threads=2");
      s.execute("SET memory_limit=" + ColumnRegistry.literal(options.memoryLimit()));
      // Sorts for compaction spill here rather than failing at memory_limit.
      s.execute(
          "SET temp_directory=" + ColumnRegistry.literal(stagingDir.resolve("duckdb").toString()));
      s.execute("SET preserve_insertion_order=false");
    }
    this.writerConnection = root.duplicate();
    this.pool = new ArrayBlockingQueue<>(options.queryConnections());
    for (int i = 0; i < options.queryConnections(); i++) {
      pool.add(root.duplicate());
    }
    this.timer = Executors.newSingleThreadScheduledExecutor(daemon("event-store-timeout"));
    this.chunk = newChunk(List.of());
    this.sealer = Executors.newSingleThreadExecutor(daemon("event-store-sealer"));
    this.writer = new Thread(this::runWriter, "event-store-writer");
    writer.setDaemon(true);
    writer.start();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** Opens (or creates) the store in {@code dir}, deleting any file its manifest does not list. */
  public static ParquetEventStore open(Path dir, Options options) throws IOException {
    try {
      return new ParquetEventStore(dir, options);
    } catch (SQLException e) {
      throw new IOException("cannot start DuckDB", e);
    }
  }

  // ---------------------------------------------------------------- write path

  /**
   * Queues log records {@code firstSequence}, {@code firstSequence + 1}, ... for storage. Records
   * already committed or queued are skipped (the replay case). Blocks while {@code queueEvents}
   * events wait for the writer; never drops.
   */
  public void append(List<Event> events, long firstSequence) throws InterruptedException {
    append(events, firstSequence, null);
  }

  /**
   * As {@link #append(List, long)}, and runs {@code staged} (unless null) on the writer thread once
   * the records are staged — at once if all were skipped. The aggregation thread passes the release
   * of the records' ingest permits here, so that a store that falls behind holds ingestion back
   * (429) without holding aggregation (and so freshness) back.
   */
  public void append(List<Event> events, long firstSequence, Runnable staged)
      throws InterruptedException {
    if (healing && !closed.get()) {
      synchronized (healLock) {
        if (healing) { // the writer re-reads these from the log once the disk has room again
          long last = firstSequence + events.size() - 1;
          missedUpTo = Math.max(missedUpTo, last);
          lastQueuedSequence = Math.max(lastQueuedSequence, last);
          if (staged != null) {
            staged.run();
          }
          return;
        }
      }
    }
    checkUsable();
    int skip = (int) Math.max(0, Math.min(events.size(), lastQueuedSequence + 1 - firstSequence));
    if (skip == events.size()) {
      if (staged != null) {
        staged.run();
      }
      return;
    }
    for (int from = skip; from < events.size(); ) {
      int n = Math.min(events.size() - from, options.queueEvents());
      queueRoom.acquire(n);
      boolean last = from + n == events.size();
      queue.add(
          new Batch(
              List.copyOf(events.subList(from, from + n)),
              firstSequence + from,
              n,
              last ? staged : null));
      from += n;
    }
    lastQueuedSequence = firstSequence + events.size() - 1;
  }

  /** Every event with a sequence up to this is in listed Parquet files (and visible). */
  public long committedSequence() {
    return current.manifest.committedSequence();
  }

  /** The same position as {@link #committedSequence()}: sealing publishes both at once. */
  public long visibleSequence() {
    return committedSequence();
  }

  /**
   * Whether the writer stopped on an error (a full disk, say): meanwhile nothing new becomes
   * visible and raw-event queries are refused. With {@link #healFrom} the writer retries every
   * {@link #HEAL_INTERVAL_MILLIS} and, once it can write again, re-reads from the log everything
   * after the position its files cover; without, the store stays failed until a restart replays the
   * log from there.
   */
  public boolean failed() {
    return failure != null;
  }

  /** The log's read side: hands over every record from {@code from} through {@code last}. */
  @FunctionalInterface
  public interface LogReader {
    void read(long from, long last, Consumer<LoggedEvent> to) throws IOException;
  }

  /** Lets the store heal in place from the log after a write error (see {@link #failed()}). */
  public void healFrom(LogReader reader) {
    this.healFrom = reader;
  }

  /** Times the store healed after a failure. */
  public long heals() {
    return heals.get();
  }

  /** The end of the newest day retention dropped; answers before it are not exact. */
  @Override
  public long horizonMillis() {
    return current.manifest.horizonMillis();
  }

  /**
   * Waits until every event with a sequence up to {@code sequence} is visible to queries, asking
   * the writer to seal at once.
   *
   * @return false on timeout or when the store failed
   */
  @Override
  public boolean awaitVisible(long sequence, long timeoutMillis) throws InterruptedException {
    if (committedSequence() >= sequence) {
      return true;
    }
    synchronized (this) {
      if (sequence > sealWanted) {
        sealWanted = sequence;
      }
    }
    queue.add(WAKE);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (this) {
      while (committedSequence() < sequence && failure == null) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }
    return committedSequence() >= sequence;
  }

  public Stats stats() {
    StoreManifest m = current.manifest;
    return new Stats(
        m.files().size(), m.bytes(), m.rows(), m.committedSequence(), m.horizonMillis());
  }

  // ---------------------------------------------------------------- read path

  /**
   * The column holding property {@code key} of that kind, or null when no visible event had it (or
   * it went to {@code extra}). {@code "source"} as a string is the event's own source column: the
   * event's source shadows a property of that name for queries.
   */
  @Override
  public String column(String key, boolean numeric) {
    if (!numeric && key.equals("source")) {
      return "source";
    }
    ColumnRegistry.Column c = current.registry.get(key, numeric);
    return c == null ? null : c.name();
  }

  /**
   * Runs {@code sql} over a relation named {@code events}: the events of {@code eventType} with
   * {@code startMillis <= time_ms < endMillis}. Every column the registry knows can be referenced;
   * {@code params} bind the caller's {@code ?}s. Cancelled after {@code queryTimeout}.
   */
  @Override
  public <T> T query(
      String eventType,
      long startMillis,
      long endMillis,
      String sql,
      List<Object> params,
      ResultHandler<T> handler)
      throws SQLException {
    Objects.requireNonNull(eventType, "eventType");
    Snapshot snapshot = acquire();
    try {
      List<Object> bound = new ArrayList<>();
      String relation = relation(snapshot, eventType, startMillis, endMillis, bound);
      bound.addAll(params);
      var m = LEADING_WITH.matcher(sql);
      String full =
          m.find()
              ? "WITH events AS (" + relation + "), " + sql.substring(m.end())
              : "WITH events AS (" + relation + ") " + sql;
      Connection c = borrow();
      try (PreparedStatement ps = c.prepareStatement(full)) {
        for (int i = 0; i < bound.size(); i++) {
          ps.setObject(i + 1, bound.get(i));
        }
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> cancel =
            timer.schedule(
                () -> {
                  timedOut.set(true);
                  try {
                    ps.cancel();
                  } catch (SQLException e) {
                    LOG.warn("cannot cancel a query", e);
                  }
                },
                options.queryTimeout().toMillis(),
                TimeUnit.MILLISECONDS);
        try (ResultSet rs = ps.executeQuery()) {
          return handler.handle(rs);
        } catch (SQLException e) {
          if (timedOut.get()) {
            throw new SQLException("query timed out after " + options.queryTimeout(), e);
          }
          throw e;
        } finally {
          cancel.cancel(false);
        }
      } finally {
        pool.add(c);
      }
    } finally {
      release(snapshot);
    }
  }

  /**
   * Streams the events of {@code [startMillis, endMillis)} (of one type, or all when null) to
   * {@code out}, ordered by time, as {@code parquet}, {@code csv} (both via DuckDB COPY to a temp
   * file) or {@code ndjson} (the ingest contract's shape, one event per line). Not bounded by the
   * query timeout: an export of months is legitimately long.
   */
  public void export(
      long startMillis, long endMillis, String eventType, String format, OutputStream out)
      throws IOException, SQLException {
    String f = format.toLowerCase(Locale.ROOT);
    if (!f.equals("parquet") && !f.equals("csv") && !f.equals("ndjson")) {
      throw new IllegalArgumentException("format must be parquet, ndjson or csv: " + format);
    }
    Snapshot snapshot = acquire();
    Connection c = borrow();
    try {
      List<Object> bound = new ArrayList<>();
      String relation = relation(snapshot, eventType, startMillis, endMillis, bound);
      String select = "SELECT * FROM (" + relation + ") ORDER BY time_ms, event_type";
      if (f.equals("ndjson")) {
        try (PreparedStatement ps = c.prepareStatement(select)) {
          bind(ps, bound);
          try (ResultSet rs = ps.executeQuery()) {
            writeNdjson(rs, snapshot.registry, out);
          }
        }
        return;
      }
      Path tmp = stagingDir.resolve("export-" + System.nanoTime() + "." + f);
      try {
        String opts =
            f.equals("parquet") ? "FORMAT parquet, COMPRESSION zstd" : "FORMAT csv, HEADER true";
        try (PreparedStatement ps =
            c.prepareStatement(
                "COPY ("
                    + select
                    + ") TO "
                    + ColumnRegistry.literal(tmp.toString())
                    + " ("
                    + opts
                    + ")")) {
          bind(ps, bound);
          ps.execute();
        }
        Files.copy(tmp, out);
        out.flush();
      } finally {
        Files.deleteIfExists(tmp);
      }
    } finally {
      pool.add(c);
      release(snapshot);
    }
  }

  /**
   * Seals what is staged (so a clean shutdown replays nothing), stops the writer and closes DuckDB.
   */
  @Override
  public void close() throws IOException {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    queue.add(STOP);
    boolean interrupted = false;
    try {
      writer.join();
    } catch (InterruptedException e) {
      interrupted = true;
    }
    sealer.shutdownNow(); // the writer waited for the last seal; this ends the idle thread
    timer.shutdownNow();
    try {
      for (Connection c : pool) {
        c.close();
      }
      writerConnection.close();
      root.close();
    } catch (SQLException e) {
      throw new IOException("cannot close DuckDB", e);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    if (failure != null) {
      throw new IOException("the event store failed", failure);
    }
  }

  // ---------------------------------------------------------------- relation

  /** SQL of the events relation over the snapshot's files, adding its three params to bound. */
  private String relation(
      Snapshot snapshot, String eventType, long start, long end, List<Object> bound) {
    List<StoreManifest.FileEntry> files = new ArrayList<>();
    Set<String> present = new HashSet<>();
    for (StoreManifest.FileEntry f : snapshot.manifest.files()) {
      if (f.mayHold(eventType, start, end)) {
        files.add(f);
        present.addAll(f.columns());
      }
    }
    StringBuilder sql = new StringBuilder("SELECT ");
    if (files.isEmpty()) {
      sql.append("NULL::VARCHAR AS event_type, NULL::BIGINT AS time_ms, NULL::VARCHAR AS id, ")
          .append("NULL::VARCHAR AS user_id, NULL::VARCHAR AS source, NULL::VARCHAR AS extra");
      present.clear();
    } else {
      sql.append('*');
    }
    for (ColumnRegistry.Column c : snapshot.registry.columns()) {
      if (!present.contains(c.name())) {
        sql.append(", NULL::").append(c.sqlType()).append(" AS ").append(quote(c.name()));
      }
    }
    if (!files.isEmpty()) {
      sql.append(" FROM read_parquet([");
      for (int i = 0; i < files.size(); i++) {
        sql.append(i == 0 ? "" : ", ")
            .append(ColumnRegistry.literal(dir.resolve(files.get(i).path()).toString()));
      }
      sql.append("], union_by_name=true, hive_partitioning=false)");
    }
    sql.append(" WHERE time_ms >= ? AND time_ms < ?");
    bound.add(start);
    bound.add(end);
    if (eventType != null) {
      sql.append(" AND event_type = ?");
      bound.add(eventType);
    }
    return sql.toString();
  }

  private static String quote(String name) {
    return ColumnRegistry.quote(name);
  }

  private static void bind(PreparedStatement ps, List<Object> bound) throws SQLException {
    for (int i = 0; i < bound.size(); i++) {
      ps.setObject(i + 1, bound.get(i));
    }
  }

  private void writeNdjson(ResultSet rs, ColumnRegistry registry, OutputStream out)
      throws SQLException, IOException {
    ResultSetMetaData md = rs.getMetaData();
    int n = md.getColumnCount();
    Map<String, Integer> index = new HashMap<>();
    for (int i = 1; i <= n; i++) {
      index.put(md.getColumnName(i), i);
    }
    List<ColumnRegistry.Column> props = new ArrayList<>();
    List<Integer> propIndex = new ArrayList<>();
    for (ColumnRegistry.Column c : registry.columns()) {
      props.add(c);
      propIndex.add(index.get(c.name()));
    }
    int iType = index.get("event_type");
    int iTime = index.get("time_ms");
    int iId = index.get("id");
    int iUser = index.get("user_id");
    int iSource = index.get("source");
    int iExtra = index.get("extra");
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
      g.setRootValueSeparator(null);
      while (rs.next()) {
        g.writeStartObject();
        String id = rs.getString(iId);
        if (id != null) {
          g.writeStringField("id", id);
        }
        g.writeStringField("eventType", rs.getString(iType));
        String user = rs.getString(iUser);
        if (user != null) {
          g.writeStringField("userId", user);
        }
        g.writeStringField(
            "timestamp", RFC3339_MILLIS.format(Instant.ofEpochMilli(rs.getLong(iTime))));
        g.writeStringField("source", rs.getString(iSource));
        g.writeObjectFieldStart("properties");
        for (int p = 0; p < props.size(); p++) {
          ColumnRegistry.Column c = props.get(p);
          int i = propIndex.get(p);
          if (c.numeric()) {
            double d = rs.getDouble(i);
            if (!rs.wasNull()) {
              g.writeNumberField(c.key(), d);
            }
          } else {
            String s = rs.getString(i);
            if (s != null) {
              g.writeStringField(c.key(), s);
            }
          }
        }
        String extra = rs.getString(iExtra);
        if (extra != null) {
          try (JsonParser parser = JSON.createParser(extra)) {
            parser.nextToken();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
              g.writeFieldName(parser.currentName());
              parser.nextToken();
              g.copyCurrentStructure(parser);
            }
          }
        }
        g.writeEndObject();
        g.writeEndObject();
        g.writeRaw('\n');
      }
    }
    out.flush();
  }

  // ---------------------------------------------------------------- snapshots

  private Snapshot acquire() {
    synchronized (snapshotLock) {
      Snapshot s = current;
      s.users.incrementAndGet();
      return s;
    }
  }

  private void release(Snapshot s) {
    s.users.decrementAndGet();
  }

  private Connection borrow() throws SQLException {
    try {
      Connection c = pool.poll(options.queryTimeout().toMillis(), TimeUnit.MILLISECONDS);
      if (c == null) {
        throw new SQLException("no query connection free within " + options.queryTimeout());
      }
      return c;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SQLException("interrupted waiting for a query connection", e);
    }
  }

  /** Writes {@code next} durably and makes it the snapshot new queries read. Writer thread. */
  private void publish(StoreManifest next, List<StoreManifest.FileEntry> removed)
      throws IOException {
    next.write(dir);
    synchronized (snapshotLock) {
      retired.add(current);
      current = new Snapshot(next);
      for (StoreManifest.FileEntry f : removed) {
        obsolete.add(new Obsolete(dir.resolve(f.path()), next.generation()));
      }
    }
    synchronized (this) {
      notifyAll();
    }
    deleteObsolete();
  }

  /** Deletes replaced files no running query can still read (reference counted snapshots). */
  private void deleteObsolete() throws IOException {
    List<Path> deletable = new ArrayList<>();
    synchronized (snapshotLock) {
      retired.removeIf(s -> s.users.get() == 0);
      long oldestInUse =
          retired.stream().mapToLong(s -> s.manifest.generation()).min().orElse(Long.MAX_VALUE);
      obsolete.removeIf(
          o -> {
            if (o.removedInGeneration() <= oldestInUse) {
              deletable.add(o.path());
              return true;
            }
            return false;
          });
    }
    for (Path p : deletable) {
      Files.deleteIfExists(p);
      deleteIfEmpty(p.getParent());
    }
  }

  // ---------------------------------------------------------------- writer and sealer threads

  private void runWriter() {
    while (true) {
      Throwable cause = stage();
      if (cause == null) {
        return;
      }
      boolean heals = healFrom != null && !closed.get();
      LOG.error(
          heals
              ? "event store writer failed; healing from the log once it can write again"
              : "event store writer failed; the log will replay what it had not sealed",
          cause);
      if (!heals) {
        failure = cause;
        queueRoom.release(options.queueEvents());
        synchronized (this) {
          notifyAll();
        }
        return;
      }
      healing = true; // first: an append that sees the failure must take the healing path
      failure = cause;
      synchronized (this) {
        notifyAll();
      }
      if (!heal()) {
        return;
      }
    }
  }

  /** Stages and seals until stopped (null) or until an error, which it returns. Writer thread. */
  private Throwable stage() {
    boolean stopping = false;
    try {
      while (true) {
        long now = System.nanoTime();
        long waitNanos =
            chunk.rows() > 0
                ? Math.max(0, options.chunkAge().toNanos() - chunk.ageNanos(now))
                : TimeUnit.SECONDS.toNanos(1);
        Batch b = queue.poll(waitNanos, TimeUnit.NANOSECONDS);
        if (b == STOP) {
          stopping = true;
        } else if (b != null && b != WAKE) {
          write(b);
        }
        long committed = Math.max(current.manifest.committedSequence(), handedOff);
        boolean seal =
            chunk.lastSequence() > committed
                && (chunk.rows() >= options.chunkEvents()
                    || chunk.ageNanos(System.nanoTime()) >= options.chunkAge().toNanos()
                    || (sealWanted > committed
                        && (chunk.lastSequence() >= sealWanted || queue.isEmpty()))
                    || (stopping && queue.isEmpty()));
        if (seal) {
          handOff();
        } else if (queue.isEmpty() && sealing.isDone()) {
          sealing.get(); // a failed seal fails the writer (below)
          boolean retain = System.nanoTime() - lastRetentionNanos > TimeUnit.MINUTES.toNanos(1);
          sealing =
              sealer.submit(
                  () -> {
                    if (retain) {
                      retention();
                    }
                    deleteObsolete();
                    return null;
                  });
        }
        if (stopping && queue.isEmpty() && chunk.lastSequence() <= committed) {
          sealing.get();
          chunk.delete();
          return null;
        }
      }
    } catch (Throwable t) {
      if (stopping) {
        LOG.error("event store writer failed while stopping", t);
        failure = t;
        return null;
      }
      return t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
    }
  }

  /**
   * After a write error: drops what waits (it is in the log), and every {@link
   * #HEAL_INTERVAL_MILLIS} tries to start over from the files' committed position, re-reading the
   * log from there. Returns true once healed, false when the store is closed meanwhile (the next
   * start replays the log). Writer thread.
   */
  private boolean heal() {
    long nextAttempt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HEAL_INTERVAL_MILLIS);
    while (true) {
      try {
        // Wakes (a waiting query) do not hurry an attempt: each re-reads the log since the
        // committed position, which on a still-full disk is work thrown away.
        long left = nextAttempt - System.nanoTime();
        Batch b = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : queue.poll();
        for (; b != null; b = queue.poll()) {
          if (b == STOP) {
            return false;
          }
          if (b != WAKE) {
            receivedUpTo = Math.max(receivedUpTo, b.firstSequence() + b.events().size() - 1);
            queueRoom.release(b.permits());
            if (b.staged() != null) {
              b.staged().run();
            }
          }
        }
      } catch (InterruptedException e) {
        return false;
      }
      if (System.nanoTime() - nextAttempt < 0) {
        continue;
      }
      nextAttempt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HEAL_INTERVAL_MILLIS);
      try {
        restage();
        heals.incrementAndGet();
        LOG.warn("event store healed: re-read the log from its committed position");
        return true;
      } catch (Exception e) {
        LOG.debug("event store not healed yet: {}", e.toString());
      }
    }
  }

  /** Drops the staged and half-sealed files and stages the log again from the files' position. */
  private void restage() throws Exception {
    try {
      sealing.get();
    } catch (ExecutionException e) {
      // the seal that failed; its half-written files go below
    }
    try {
      chunk.finish();
    } catch (IOException e) {
      // the buffered tail could not be written: the file goes anyway
    }
    deletePartial();
    chunk = newChunk(List.of());
    sealing = CompletableFuture.completedFuture(null);
    handedOff = committedSequence();
    stagedUpTo = committedSequence();
    long upTo;
    synchronized (healLock) { // everything the store was handed so far, staged or not
      upTo = Math.max(receivedUpTo, missedUpTo);
    }
    restageFromLog(committedSequence() + 1, upTo);
    // The rest under the lock, so that no append slips between the re-read and the switch back.
    synchronized (healLock) {
      restageFromLog(Math.max(stagedUpTo, committedSequence()) + 1, missedUpTo);
      failure = null;
      healing = false;
    }
  }

  private void restageFromLog(long from, long last) throws Exception {
    long dropBefore = current.manifest.horizonMillis();
    try {
      healFrom.read(
          from,
          last,
          logged -> {
            try {
              chunk.add(logged.event(), logged.sequence(), dropBefore);
              stagedUpTo = logged.sequence();
              if (chunk.rows() >= options.chunkEvents()) {
                handOff();
              }
            } catch (Exception e) {
              throw new HealFailed(e);
            }
          });
    } catch (HealFailed e) {
      throw (Exception) e.getCause();
    }
  }

  private static final class HealFailed extends RuntimeException {
    HealFailed(Exception cause) {
      super(cause);
    }
  }

  /**
   * Deletes staging files and files no snapshot lists (what a failed seal left), keeping those an
   * older snapshot's queries may still read.
   */
  private void deletePartial() throws IOException {
    Set<Path> keep = new HashSet<>();
    synchronized (snapshotLock) {
      List<Snapshot> all = new ArrayList<>(retired);
      all.add(current);
      for (Snapshot snap : all) {
        keep.addAll(listed(snap.manifest));
      }
      for (Obsolete o : obsolete) {
        keep.add(o.path());
      }
    }
    deleteFilesBut(keep, stagingDir.resolve("duckdb"));
  }

  /**
   * Gives the staged chunk to the sealer and starts a new one. Waits for the previous seal first:
   * one chunk seals while the next stages, never more (seals commit in log order, and staging disk
   * stays bounded at two chunks).
   */
  private void handOff() throws Exception {
    sealing.get();
    StagingChunk full = chunk;
    full.finish();
    // The registry grows on this thread; the sealer gets the columns as of this chunk.
    List<ColumnRegistry.Column> columns = registry.columns();
    chunk = newChunk(full.columns());
    handedOff = full.lastSequence();
    sealing =
        sealer.submit(
            () -> {
              seal(full, columns);
              compact();
              retention();
              return null;
            });
  }

  private void write(Batch b) throws IOException {
    long dropBefore = current.manifest.horizonMillis();
    List<Event> events = b.events();
    if (!events.isEmpty()) { // before staging: a heal re-reads this batch if staging it fails
      receivedUpTo = Math.max(receivedUpTo, b.firstSequence() + events.size() - 1);
    }
    // Past a heal, a batch queued while it re-read the log may hold records staged already.
    int from = (int) Math.max(0, Math.min(events.size(), stagedUpTo + 1 - b.firstSequence()));
    for (int i = from; i < events.size(); i++) {
      chunk.add(events.get(i), b.firstSequence() + i, dropBefore);
    }
    if (!events.isEmpty()) {
      stagedUpTo = Math.max(stagedUpTo, b.firstSequence() + events.size() - 1);
    }
    queueRoom.release(b.permits());
    if (b.staged() != null) {
      b.staged().run();
    }
  }

  private StagingChunk newChunk(List<ColumnRegistry.Column> startColumns) {
    return new StagingChunk(stagingDir, registry, options.maxColumns(), startColumns);
  }

  /**
   * Turns a staged chunk into one Parquet file per day and commits it in a new manifest. Sealer
   * thread; {@code registryColumns} are the registry's columns when the chunk was handed off.
   */
  private void seal(StagingChunk sealing, List<ColumnRegistry.Column> registryColumns)
      throws IOException, SQLException {
    long startNanos = System.nanoTime();
    StoreManifest m = current.manifest;
    long nextFile = m.nextFile();
    List<StoreManifest.FileEntry> files = new ArrayList<>(m.files());
    if (sealing.rows() > 0 && !sealing.days().isEmpty()) {
      List<String> columns = sealing.columns().stream().map(ColumnRegistry.Column::name).toList();
      String source = stagedRows(sealing);
      // A file per day that holds a tenth of the chunk at least (today; yesterday around
      // midnight); the few historical and late rows of other days join the largest one's file.
      // A file per day touched cost ~180 COPYs per seal on the standard workload (0.1 % of its
      // events are days to months old) and cut ingest from ~300k to ~37k events/s.
      Map<Long, List<Long>> groups = new TreeMap<>();
      long biggest = -1;
      long biggestRows = -1;
      for (Map.Entry<Long, StagingChunk.Day> e : sealing.days().entrySet()) {
        if (e.getValue().rows * 10 >= sealing.rows()) {
          groups.put(e.getKey(), new ArrayList<>(List.of(e.getKey())));
          if (e.getValue().rows > biggestRows) {
            biggest = e.getKey();
            biggestRows = e.getValue().rows;
          }
        }
      }
      for (long day : sealing.days().keySet()) {
        if (!groups.containsKey(day)) {
          groups.get(biggest).add(day);
        }
      }
      boolean direct = groups.size() == 1;
      try (Statement s = writerConnection.createStatement()) {
        if (!direct) {
          // Several files: read the CSV once into a temp table rather than once per file.
          s.execute("CREATE OR REPLACE TEMP TABLE chunk AS " + source);
          source = "SELECT * FROM chunk";
        }
        for (Map.Entry<Long, List<Long>> g : groups.entrySet()) {
          StringBuilder where = new StringBuilder();
          if (!direct) {
            if (g.getKey() != biggest) {
              where.append(" WHERE ").append(dayRange(g.getKey()));
            } else {
              where.append(" WHERE NOT (FALSE");
              for (long other : groups.keySet()) {
                if (other != biggest) {
                  where.append(" OR ").append(dayRange(other));
                }
              }
              where.append(')');
            }
          }
          long rows = 0;
          long minTime = Long.MAX_VALUE;
          long maxTime = Long.MIN_VALUE;
          long maxSequence = Long.MIN_VALUE;
          long lastDay = Long.MIN_VALUE;
          Set<String> types = new HashSet<>();
          boolean manyTypes = false;
          for (long day : g.getValue()) {
            StagingChunk.Day d = sealing.days().get(day);
            rows += d.rows;
            minTime = Math.min(minTime, d.minTime);
            maxTime = Math.max(maxTime, d.maxTime);
            maxSequence = Math.max(maxSequence, d.maxSequence);
            lastDay = Math.max(lastDay, day);
            if (d.eventTypes == null) {
              manyTypes = true;
            } else {
              types.addAll(d.eventTypes);
            }
          }
          manyTypes |= types.size() > 64;
          // Filed under its newest day: retention drops it only once all of its rows are past.
          String rel = dayDir(lastDay) + "/part-" + nextFile++ + ".parquet";
          long bytes = writeParquet(s, "SELECT * FROM (" + source + ")" + where, rel);
          files.add(
              new StoreManifest.FileEntry(
                  rel,
                  lastDay,
                  rows,
                  bytes,
                  minTime,
                  maxTime,
                  maxSequence,
                  columns,
                  manyTypes ? null : types.stream().sorted().toList()));
        }
        if (!direct) {
          s.execute("DROP TABLE chunk");
        }
      }
    }
    publish(
        new StoreManifest(
            m.generation() + 1,
            sealing.lastSequence(),
            m.horizonMillis(),
            nextFile,
            registryColumns,
            List.copyOf(files)),
        List.of());
    sealing.delete();
    LOG.debug(
        "sealed {} rows ({} days, {} CSV segments) in {} ms",
        sealing.rows(),
        sealing.days().size(),
        sealing.segments().size(),
        (System.nanoTime() - startNanos) / 1_000_000);
  }

  private static String dayRange(long day) {
    return "(time_ms >= " + day * DAY_MILLIS + " AND time_ms < " + (day + 1) * DAY_MILLIS + ")";
  }

  /** The chunk's staged CSV segments as one SELECT with the final column names. */
  private static String stagedRows(StagingChunk c) {
    StringBuilder sql = new StringBuilder();
    for (StagingChunk.Segment seg : c.segments()) {
      if (sql.length() > 0) {
        sql.append(" UNION ALL BY NAME ");
      }
      StringBuilder types =
          new StringBuilder(
              "{'c0': 'VARCHAR', 'c1': 'BIGINT', 'c2': 'VARCHAR', 'c3': 'VARCHAR', "
                  + "'c4': 'VARCHAR', 'c5': 'VARCHAR'");
      StringBuilder names =
          new StringBuilder(
              "c0 AS event_type, c1 AS time_ms, c2 AS id, c3 AS user_id, c4 AS source, c5 AS extra");
      int n = ColumnRegistry.RESERVED.size();
      for (ColumnRegistry.Column col : seg.columns()) {
        types.append(", 'c").append(n).append("': '").append(col.sqlType()).append('\'');
        names.append(", c").append(n).append(" AS ").append(quote(col.name()));
        n++;
      }
      types.append('}');
      sql.append("SELECT ")
          .append(names)
          .append(" FROM read_csv(")
          .append(ColumnRegistry.literal(seg.path().toString()))
          .append(", columns=")
          .append(types)
          .append(", header=false, auto_detect=false, delim=',', quote='\"', escape='\"',")
          .append(" new_line='\\n', allow_quoted_nulls=false, strict_mode=true)");
    }
    return sql.toString();
  }

  /** COPYs {@code select}, sorted, to a temp file, fsyncs it and renames it to {@code rel}. */
  private long writeParquet(Statement s, String select, String rel)
      throws IOException, SQLException {
    Path target = dir.resolve(rel);
    Files.createDirectories(target.getParent());
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    s.execute(
        "COPY ("
            + select
            + " ORDER BY event_type, time_ms) TO "
            + ColumnRegistry.literal(tmp.toString())
            + " (FORMAT parquet, COMPRESSION zstd)");
    StoreManifest.fsync(tmp);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    StoreManifest.fsync(target.getParent());
    return Files.size(target);
  }

  /**
   * Merges a day's small files once it has {@code compactAt} of them: each seal adds a file per
   * day, and a query pays ~a file open and footer read per file, so thousands of 200k-row files
   * would make every query slow. The smallest are merged first, up to the target size.
   */
  private void compact() throws IOException, SQLException {
    StoreManifest m = current.manifest;
    TreeMap<Long, List<StoreManifest.FileEntry>> small = new TreeMap<>();
    for (StoreManifest.FileEntry f : m.files()) {
      if (f.rows() < options.compactTargetRows()) {
        small.computeIfAbsent(f.day(), k -> new ArrayList<>()).add(f);
      }
    }
    for (Map.Entry<Long, List<StoreManifest.FileEntry>> e : small.entrySet()) {
      List<StoreManifest.FileEntry> candidates = e.getValue();
      if (candidates.size() < options.compactAt()) {
        continue;
      }
      candidates.sort(Comparator.comparingLong(StoreManifest.FileEntry::rows));
      List<StoreManifest.FileEntry> merge = new ArrayList<>();
      long rows = 0;
      for (StoreManifest.FileEntry f : candidates) {
        if (merge.size() >= 2 && rows + f.rows() > options.compactTargetRows()) {
          break;
        }
        merge.add(f);
        rows += f.rows();
      }
      merge(e.getKey(), merge);
      return; // one merge per pass keeps the writer responsive; the next seal continues
    }
  }

  private void merge(long day, List<StoreManifest.FileEntry> merge)
      throws IOException, SQLException {
    StoreManifest m = current.manifest;
    Set<String> columnSet = new HashSet<>();
    Set<String> types = new HashSet<>();
    boolean manyTypes = false;
    long rows = 0;
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    long maxSeq = Long.MIN_VALUE;
    StringBuilder list = new StringBuilder();
    for (StoreManifest.FileEntry f : merge) {
      columnSet.addAll(f.columns());
      if (f.eventTypes() == null) {
        manyTypes = true;
      } else {
        types.addAll(f.eventTypes());
      }
      rows += f.rows();
      min = Math.min(min, f.minTime());
      max = Math.max(max, f.maxTime());
      maxSeq = Math.max(maxSeq, f.maxSequence());
      list.append(list.length() == 0 ? "" : ", ")
          .append(ColumnRegistry.literal(dir.resolve(f.path()).toString()));
    }
    List<String> columns = new ArrayList<>();
    for (ColumnRegistry.Column c : m.columns()) {
      if (columnSet.contains(c.name())) {
        columns.add(c.name());
      }
    }
    String rel = dayDir(day) + "/part-" + m.nextFile() + ".parquet";
    long bytes;
    try (Statement s = writerConnection.createStatement()) {
      bytes =
          writeParquet(
              s,
              "SELECT * FROM read_parquet(["
                  + list
                  + "], union_by_name=true, hive_partitioning=false)",
              rel);
    }
    Set<StoreManifest.FileEntry> replaced = new LinkedHashSet<>(merge);
    List<StoreManifest.FileEntry> files = new ArrayList<>();
    for (StoreManifest.FileEntry f : m.files()) {
      if (!replaced.contains(f)) {
        files.add(f);
      }
    }
    files.add(
        new StoreManifest.FileEntry(
            rel,
            day,
            rows,
            bytes,
            min,
            max,
            maxSeq,
            List.copyOf(columns),
            manyTypes || types.size() > StoreManifest.FileEntry.MAX_EVENT_TYPES
                ? null
                : types.stream().sorted().toList()));
    publish(
        new StoreManifest(
            m.generation() + 1,
            m.committedSequence(),
            m.horizonMillis(),
            m.nextFile() + 1,
            m.columns(),
            List.copyOf(files)),
        List.copyOf(merge));
  }

  /**
   * Removes every event of {@code userId} with a sequence up to {@code upTo}: seals them into files
   * first, then writes each file holding any anew without them and publishes the new set in one
   * manifest (the old files go once no query reads them). Runs on the sealer thread, between seals,
   * compactions and retention.
   *
   * @return how many events were removed
   * @throws IOException if the events could not be sealed within {@code timeoutMillis} or a file
   *     could not be written (the manifest then stays as it was)
   */
  public long deleteUser(String userId, long upTo, long timeoutMillis)
      throws IOException, InterruptedException {
    checkUsable();
    if (!awaitVisible(upTo, timeoutMillis)) {
      throw new IOException("the event store did not seal the user's events in time");
    }
    try {
      return sealer.submit(() -> removeUser(userId)).get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    }
  }

  private long removeUser(String userId) throws IOException, SQLException {
    StoreManifest m = current.manifest;
    if (m.files().isEmpty()) {
      return 0;
    }
    Map<String, StoreManifest.FileEntry> byPath = new HashMap<>();
    StringBuilder list = new StringBuilder();
    for (StoreManifest.FileEntry f : m.files()) {
      String path = dir.resolve(f.path()).toString();
      byPath.put(path, f);
      list.append(list.length() == 0 ? "" : ", ").append(ColumnRegistry.literal(path));
    }
    Map<StoreManifest.FileEntry, Long> hits = new LinkedHashMap<>();
    try (PreparedStatement ps =
        writerConnection.prepareStatement(
            "SELECT filename, count(*) FROM read_parquet(["
                + list
                + "], filename=true, union_by_name=true, hive_partitioning=false)"
                + " WHERE user_id = ? GROUP BY filename")) {
      ps.setString(1, userId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          hits.put(byPath.get(rs.getString(1)), rs.getLong(2));
        }
      }
    }
    if (hits.isEmpty()) {
      return 0;
    }
    long removed = 0;
    long nextFile = m.nextFile();
    List<StoreManifest.FileEntry> files = new ArrayList<>();
    try (Statement s = writerConnection.createStatement()) {
      for (StoreManifest.FileEntry f : m.files()) {
        Long n = hits.get(f);
        if (n == null) {
          files.add(f);
          continue;
        }
        removed += n;
        if (n == f.rows()) {
          continue; // all of the file was the user's
        }
        String rel = dayDir(f.day()) + "/part-" + nextFile++ + ".parquet";
        long bytes =
            writeParquet(
                s,
                "SELECT * FROM read_parquet("
                    + ColumnRegistry.literal(dir.resolve(f.path()).toString())
                    + ", hive_partitioning=false) WHERE user_id IS DISTINCT FROM "
                    + ColumnRegistry.literal(userId),
                rel);
        // Time bounds and types stay as they were: wider than the rows left, never narrower.
        files.add(
            new StoreManifest.FileEntry(
                rel,
                f.day(),
                f.rows() - n,
                bytes,
                f.minTime(),
                f.maxTime(),
                f.maxSequence(),
                f.columns(),
                f.eventTypes()));
      }
    }
    publish(
        new StoreManifest(
            m.generation() + 1,
            m.committedSequence(),
            m.horizonMillis(),
            nextFile,
            m.columns(),
            List.copyOf(files)),
        List.copyOf(hits.keySet()));
    return removed;
  }

  /** Drops whole days past {@code retention}, then the oldest days beyond the disk budget. */
  private void retention() throws IOException {
    lastRetentionNanos = System.nanoTime();
    StoreManifest m = current.manifest;
    TreeMap<Long, Long> dayBytes = new TreeMap<>();
    for (StoreManifest.FileEntry f : m.files()) {
      dayBytes.merge(f.day(), f.bytes(), Long::sum);
    }
    Set<Long> drop = new HashSet<>();
    if (options.retention() != null) {
      long cutoff = System.currentTimeMillis() - options.retention().toMillis();
      for (long day : dayBytes.keySet()) {
        if ((day + 1) * DAY_MILLIS <= cutoff) {
          drop.add(day);
        }
      }
    }
    if (options.diskBudgetBytes() > 0) {
      long total = 0;
      for (Map.Entry<Long, Long> e : dayBytes.entrySet()) {
        if (!drop.contains(e.getKey())) {
          total += e.getValue();
        }
      }
      // The newest day is kept even over budget: dropping it would drop data still arriving.
      for (Map.Entry<Long, Long> e : dayBytes.entrySet()) {
        if (total <= options.diskBudgetBytes() || e.getKey().equals(dayBytes.lastKey())) {
          break;
        }
        if (drop.add(e.getKey())) {
          total -= e.getValue();
        }
      }
    }
    if (drop.isEmpty()) {
      return;
    }
    long horizon = m.horizonMillis();
    List<StoreManifest.FileEntry> kept = new ArrayList<>();
    List<StoreManifest.FileEntry> removed = new ArrayList<>();
    for (StoreManifest.FileEntry f : m.files()) {
      if (drop.contains(f.day())) {
        removed.add(f);
        horizon = Math.max(horizon, (f.day() + 1) * DAY_MILLIS);
      } else {
        kept.add(f);
      }
    }
    LOG.info(
        "retention drops {} days ({} files); horizon now {}",
        drop.size(),
        removed.size(),
        Instant.ofEpochMilli(horizon));
    publish(
        new StoreManifest(
            m.generation() + 1,
            m.committedSequence(),
            horizon,
            m.nextFile(),
            m.columns(),
            List.copyOf(kept)),
        removed);
  }

  // ---------------------------------------------------------------- files

  private static String dayDir(long day) {
    return "day=" + java.time.LocalDate.ofEpochDay(day);
  }

  /** Deletes every file the manifest does not list: a crash mid-write, temp files, staging. */
  private void deleteUnlisted(StoreManifest m) throws IOException {
    List<Path> dirs = deleteFilesBut(listed(m), null);
    dirs.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    for (Path d : dirs) {
      if (!d.equals(dir)) {
        deleteIfEmpty(d);
      }
    }
  }

  /** The manifest and the files it lists. */
  private Set<Path> listed(StoreManifest m) {
    Set<Path> files = new HashSet<>();
    files.add(dir.resolve(StoreManifest.NAME));
    for (StoreManifest.FileEntry f : m.files()) {
      files.add(dir.resolve(f.path()));
    }
    return files;
  }

  /**
   * Deletes every file under the store but those in {@code keep} and under {@code spared} (unless
   * null); returns the directories it walked.
   */
  private List<Path> deleteFilesBut(Set<Path> keep, Path spared) throws IOException {
    List<Path> dirs = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (Files.isDirectory(p)) {
          dirs.add(p);
        } else if (!keep.contains(p) && (spared == null || !p.startsWith(spared))) {
          LOG.info("deleting {}: not in the manifest", dir.relativize(p));
          Files.deleteIfExists(p);
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return dirs;
  }

  private void deleteIfEmpty(Path d) throws IOException {
    try (Stream<Path> entries = Files.list(d)) {
      if (entries.findAny().isPresent()) {
        return;
      }
    }
    Files.deleteIfExists(d);
  }

  private void checkUsable() {
    if (failure != null) {
      throw new IllegalStateException("the event store failed", failure);
    }
    if (closed.get()) {
      throw new IllegalStateException("the event store is closed");
    }
  }
}
