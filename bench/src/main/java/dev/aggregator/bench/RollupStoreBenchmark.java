package dev.aggregator.bench;

import dev.aggregator.cluster.PostgresRollupStore;
import dev.aggregator.storage.RocksRollupStore;
import dev.aggregator.storage.RollupStore;
import dev.aggregator.storage.StoreBatch;
import dev.aggregator.storage.Varint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The rollup store: {@link RocksRollupStore} and, for comparison on the same rows, DuckDB (a table
 * {@code (tier, series, bucket, value BLOB)} filled through its Appender) — the numbers behind
 * choosing RocksDB — and cluster mode's {@link PostgresRollupStore} ({@code -p engine=postgres -p
 * pgUrl=...}, a running server). Values are ~60 bytes like the engine's rows: a varint count, one
 * field's count/sum/min/max and a small sketch blob.
 *
 * <ul>
 *   <li>{@link #write}: batches of 10,000 rows (10 new one-minute buckets × 1,000 series), each
 *       written durably: RocksDB one {@code WriteBatch} with {@code sync=true}, DuckDB one Appender
 *       flush (a commit, its WAL fsynced). Score: rows/s.
 *   <li>{@link #scanDay}: one random series' 1,440 consecutive one-minute rows (a 24 h query at 1
 *       m) out of 2,000 series × 1,440 rows (2.9 M), written bucket by bucket as the engine's
 *       checkpoints write them, then compacted. The day starts at noon, so RocksDB reads two day
 *       partitions as a "last 24 h" query does. Score: scans/s; the latency is 1/score.
 *   <li>Bytes a row on disk after compaction ({@code compactRange}; DuckDB: {@code CHECKPOINT}):
 *       printed when a {@code scanDay} trial ends.
 * </ul>
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar RollupStoreBenchmark
 * java -jar bench/target/benchmarks.jar RollupStoreBenchmark.scanDay -p engine=rocksdb -bm sample
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class RollupStoreBenchmark {
  static final int TIER = 1;

  /** The engine's partitions: 1 s = an hour, 1 m = a day, 1 h = 30 days, 1 d = a year. */
  static final long[] BUCKETS_PER_PARTITION = {3_600, 1_440, 720, 366};

  static final int WRITE_SERIES = 1_000;
  static final int WRITE_ROWS = 10_000;
  static final int SCAN_SERIES = 2_000;
  static final int DAY = 1_440;

  /** Noon of some day, in minutes since the epoch. */
  static final long SCAN_FROM = 20_000L * DAY + DAY / 2;

  /** The store to measure and where it lives, shared by the states below. */
  @State(Scope.Benchmark)
  public static class Engine {
    @Param({"rocksdb", "duckdb"})
    public String engine;

    /** Parent of the temp directory; empty means {@code java.io.tmpdir}. */
    @Param({""})
    public String dir;

    /**
     * For {@code -p engine=postgres}: a running server's JDBC URL (user {@code postgres}); each
     * store gets a schema of its own, dropped at the end.
     */
    @Param({"jdbc:postgresql://127.0.0.1:5432/postgres"})
    public String pgUrl;

    Rows open(Path storeDir) throws IOException, SQLException {
      return switch (engine) {
        case "rocksdb" -> new Rocks(storeDir);
        case "duckdb" -> new Duck(storeDir);
        case "postgres" -> new Pg(pgUrl);
        default -> throw new IllegalArgumentException("got engine " + engine);
      };
    }

    Path tempDir() throws IOException {
      Path parent = Path.of(dir.isEmpty() ? System.getProperty("java.io.tmpdir") : dir);
      return Files.createTempDirectory(parent, "bench-rollups-");
    }
  }

  /** A fresh store per iteration, and the bucket the next batch starts at. */
  @State(Scope.Thread)
  public static class Writer {
    Path storeDir;
    Rows rows;
    byte[][] values;
    long nextBucket = SCAN_FROM;

    @Setup(Level.Iteration)
    public void open(Engine engine) throws IOException, SQLException {
      values = values(4_096, 42);
      storeDir = engine.tempDir();
      rows = engine.open(storeDir);
    }

    @TearDown(Level.Iteration)
    public void close() throws IOException, SQLException {
      rows.close();
      BenchData.deleteRecursively(storeDir);
    }
  }

  /** 2,000 series × one day of one-minute rows, compacted. */
  @State(Scope.Benchmark)
  public static class Filled {
    Path storeDir;
    Rows rows;
    String report;

    @Setup(Level.Trial)
    public void fill(Engine engine) throws IOException, SQLException {
      storeDir = engine.tempDir();
      rows = engine.open(storeDir);
      byte[][] values = values(4_096, 7);
      int bucketsPerBatch = WRITE_ROWS / SCAN_SERIES;
      for (long bucket = SCAN_FROM; bucket < SCAN_FROM + DAY; bucket += bucketsPerBatch) {
        rows.write(bucket, bucketsPerBatch, SCAN_SERIES, values);
      }
      long bytes = rows.compact();
      long count = (long) SCAN_SERIES * DAY;
      report =
          String.format(
              "%n%s: %,d rows, %,d bytes on disk after compaction: %.1f bytes/row%n",
              engine.engine, count, bytes, (double) bytes / count);
      System.out.print(report);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException, SQLException {
      System.out.print(report);
      rows.close();
      BenchData.deleteRecursively(storeDir);
    }
  }

  @Benchmark
  @OperationsPerInvocation(WRITE_ROWS)
  public void write(Writer writer) throws IOException, SQLException {
    int buckets = WRITE_ROWS / WRITE_SERIES;
    writer.rows.write(writer.nextBucket, buckets, WRITE_SERIES, writer.values);
    writer.nextBucket += buckets;
  }

  @Benchmark
  public int scanDay(Filled filled, Blackhole blackhole) throws IOException, SQLException {
    int series = ThreadLocalRandom.current().nextInt(SCAN_SERIES);
    int rows = filled.rows.scan(series, SCAN_FROM, SCAN_FROM + DAY, blackhole);
    if (rows != DAY) {
      throw new IllegalStateException("got " + rows + " rows, want " + DAY);
    }
    return rows;
  }

  /**
   * {@code n} row values of 56–62 bytes: varint event count, varint field count, the field's sum,
   * min and max as doubles, and a 28-byte sketch-like blob (random: incompressible, as sketches
   * are). {@link #value} makes each row's unique.
   */
  static byte[][] values(int n, long seed) {
    Random random = new Random(seed);
    byte[][] values = new byte[n][];
    ByteBuffer buffer = ByteBuffer.allocate(64);
    for (int i = 0; i < n; i++) {
      buffer.clear();
      int count = 1 + random.nextInt(5_000);
      Varint.put(buffer, count);
      Varint.put(buffer, random.nextInt(count + 1));
      double min = Math.round(random.nextDouble() * 10_000) / 100.0;
      double max = min + Math.round(random.nextDouble() * 10_000) / 100.0;
      buffer.putDouble((min + max) / 2 * count).putDouble(min).putDouble(max);
      byte[] sketch = new byte[28];
      random.nextBytes(sketch);
      buffer.put(sketch);
      values[i] = Arrays.copyOf(buffer.array(), buffer.position());
    }
    return values;
  }

  /**
   * A value for the row: one of {@code values}, its sketch's first 8 bytes replaced by a hash of
   * the row, so that no two rows repeat (a pool cycling through one series' rows would let LZ4
   * compress repeats that real rows do not have).
   */
  static byte[] value(byte[][] values, int series, long bucket) {
    long hash = mix(bucket * 1_000_003L + series);
    byte[] value = values[(int) (hash >>> 52) & (values.length - 1)].clone();
    for (int i = value.length - 28, shift = 0; shift < 64; i++, shift += 8) {
      value[i] = (byte) (hash >>> shift);
    }
    return value;
  }

  /** SplitMix64's finalizer. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** The three operations measured, over one tier. */
  interface Rows {
    /** Writes {@code buckets × series} rows durably, in one batch. */
    void write(long firstBucket, int buckets, int series, byte[][] values)
        throws IOException, SQLException;

    /** Visits {@code [from, to)} of {@code series}; returns the number of rows. */
    int scan(int series, long from, long to, Blackhole blackhole) throws IOException, SQLException;

    /** Compacts everything written; returns the bytes on disk. */
    long compact() throws IOException, SQLException;

    void close() throws IOException, SQLException;
  }

  /** Writes and scans through the {@link RollupStore} contract, the same for every store. */
  abstract static class StoreRows<S extends RollupStore> implements Rows {
    final S store;
    private final Counter counter = new Counter();

    StoreRows(S store) {
      this.store = store;
    }

    @Override
    public void write(long firstBucket, int buckets, int series, byte[][] values)
        throws IOException {
      try (StoreBatch batch = store.batch()) {
        for (long bucket = firstBucket; bucket < firstBucket + buckets; bucket++) {
          for (int s = 0; s < series; s++) {
            batch.putRow(TIER, s, bucket, value(values, s, bucket));
          }
        }
        store.write(batch);
      }
    }

    @Override
    public int scan(int series, long from, long to, Blackhole blackhole) throws IOException {
      counter.blackhole = blackhole;
      counter.rows = 0;
      store.scan(TIER, series, from, to, counter);
      return counter.rows;
    }
  }

  static final class Rocks extends StoreRows<RocksRollupStore> {
    Rocks(Path dir) throws IOException {
      super(RocksRollupStore.open(dir, BUCKETS_PER_PARTITION));
    }

    @Override
    public long compact() throws IOException {
      store.compact();
      return store.diskBytes();
    }

    @Override
    public void close() {
      store.close();
    }
  }

  /** {@link PostgresRollupStore}, cluster mode's store, in a fresh schema of a running server. */
  static final class Pg extends StoreRows<PostgresRollupStore> {
    private static final java.util.concurrent.atomic.AtomicInteger SCHEMAS =
        new java.util.concurrent.atomic.AtomicInteger();
    private final String url;
    private final java.util.Properties properties;
    private final String schema;

    Pg(String url) throws IOException {
      this(
          url,
          user("postgres"),
          "bench_" + ProcessHandle.current().pid() + "_" + SCHEMAS.incrementAndGet());
    }

    private Pg(String url, java.util.Properties properties, String schema) throws IOException {
      super(PostgresRollupStore.open(url, properties, schema, BUCKETS_PER_PARTITION));
      this.url = url;
      this.properties = properties;
      this.schema = schema;
    }

    private static java.util.Properties user(String name) {
      java.util.Properties p = new java.util.Properties();
      p.setProperty("user", name);
      return p;
    }

    /** VACUUM FULL rewrites the tables without dead tuples: the size as compacted as it gets. */
    @Override
    public long compact() throws SQLException {
      try (var c = DriverManager.getConnection(url, properties);
          Statement st = c.createStatement()) {
        st.execute("VACUUM FULL ANALYZE " + schema + ".rollup_rows");
      }
      return store.diskBytes();
    }

    @Override
    public void close() throws SQLException {
      store.close();
      try (var c = DriverManager.getConnection(url, properties);
          Statement st = c.createStatement()) {
        st.execute("DROP SCHEMA " + schema + " CASCADE");
      }
    }
  }

  /** Counts the rows of a scan and hands them to the blackhole, without a lambda per scan. */
  static final class Counter implements RollupStore.RowVisitor {
    Blackhole blackhole;
    int rows;

    @Override
    public void visit(long bucket, byte[] value) {
      blackhole.consume(bucket);
      blackhole.consume(value);
      rows++;
    }
  }

  static final class Duck implements Rows {
    private final Path file;
    private final DuckDBConnection connection;
    private final DuckDBAppender appender;
    private final PreparedStatement scan;

    Duck(Path dir) throws SQLException {
      file = dir.resolve("rollups.duckdb");
      connection = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:" + file);
      try (Statement statement = connection.createStatement()) {
        statement.execute(
            "CREATE TABLE rollups (tier TINYINT, series INTEGER, bucket BIGINT, value BLOB)");
      }
      appender = connection.createAppender(DuckDBConnection.DEFAULT_SCHEMA, "rollups");
      scan =
          connection.prepareStatement(
              "SELECT bucket, value FROM rollups"
                  + " WHERE tier = ? AND series = ? AND bucket >= ? AND bucket < ?"
                  + " ORDER BY bucket");
    }

    @Override
    public void write(long firstBucket, int buckets, int series, byte[][] values)
        throws SQLException {
      for (long bucket = firstBucket; bucket < firstBucket + buckets; bucket++) {
        for (int s = 0; s < series; s++) {
          appender
              .beginRow()
              .append((byte) TIER)
              .append(s)
              .append(bucket)
              .append(value(values, s, bucket))
              .endRow();
        }
      }
      appender.flush();
    }

    @Override
    public int scan(int series, long from, long to, Blackhole blackhole) throws SQLException {
      scan.setByte(1, (byte) TIER);
      scan.setInt(2, series);
      scan.setLong(3, from);
      scan.setLong(4, to);
      int rows = 0;
      try (ResultSet result = scan.executeQuery()) {
        while (result.next()) {
          blackhole.consume(result.getLong(1));
          blackhole.consume(result.getBytes(2));
          rows++;
        }
      }
      return rows;
    }

    @Override
    public long compact() throws IOException, SQLException {
      try (Statement statement = connection.createStatement()) {
        statement.execute("CHECKPOINT");
      }
      long bytes = 0;
      try (Stream<Path> files = Files.list(file.getParent())) {
        for (Path f : (Iterable<Path>) files::iterator) {
          bytes += Files.size(f);
        }
      }
      return bytes;
    }

    @Override
    public void close() throws SQLException {
      scan.close();
      appender.close();
      connection.close();
    }
  }
}
