package dev.aggregator.cluster;

import dev.aggregator.storage.MetaBatch;
import dev.aggregator.storage.RollupStore;
import dev.aggregator.storage.StaleWriteException;
import dev.aggregator.storage.StoreBatch;
import java.io.IOException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.regex.Pattern;

/**
 * Rollup rows and metadata in PostgreSQL: the store cluster mode shares between the process that
 * writes checkpoints (a Flink job, or an embedded engine) and any number of query servers reading
 * it ({@code StoredRollups}), behind the same {@link RollupStore} contract as RocksDB.
 *
 * <p><b>Layout</b> (in one schema): {@code rollup_meta(key text COLLATE "C", value bytea)}, and
 * {@code rollup_rows(tier, series, bucket, value bytea)} partitioned by list of tier, each tier by
 * range of bucket with the same partition sizes as RocksDB's (an hour of 1 s buckets, a day of 1 m,
 * 30 days of 1 h, a year of 1 d). A partition is created by the first write that needs it;
 * retention drops whole partitions ({@link #deleteBefore}), which PostgreSQL does in O(1) without
 * vacuum. Native partitioning, not TimescaleDB: its package is not available here, and range
 * partitions plus the primary key's index give what queries need (one index range scan per series).
 *
 * <p><b>Atomic, durable, conditional.</b> A {@link #write} is one transaction, committed with
 * PostgreSQL's default {@code synchronous_commit} (WAL fsynced). A conditional batch (every
 * checkpoint) first takes a transaction-scoped advisory lock and compares the metadata it requires
 * with what is stored: another writer — in any process — that committed in between makes it fail
 * with {@link StaleWriteException} and write nothing. So rows need no per-row version guard: a
 * whole checkpoint either follows the one it read or does not happen.
 *
 * <p><b>Snapshots</b> are REPEATABLE READ transactions on a connection of their own; reads through
 * one run one at a time on it (a pgjdbc connection serialises its statements anyway).
 */
public final class PostgresRollupStore implements RollupStore {
  private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /** The advisory lock every conditional write of this schema takes (with the schema's hash). */
  private static final int CONDITION_LOCK_CLASS = 0x526f6c6c; // "Roll"

  /** Connections kept idle for reads; more are opened under load and closed when returned. */
  private static final int IDLE_CONNECTIONS = 4;

  /** A retention drop waits at most this for readers of the partition, then tries next time. */
  private static final String DROP_LOCK_TIMEOUT = "2s";

  private final String url;
  private final Properties properties;
  private final String schema;
  private final long[] bucketsPerPartition;
  private final BlockingQueue<Connection> idle = new ArrayBlockingQueue<>(IDLE_CONNECTIONS);
  private final Connection writer;

  /** Partitions known to exist, as {@code tier << 32 | partition}; guarded by {@code writer}. */
  private final Set<Long> partitions = new HashSet<>();

  private volatile boolean closed;

  private PostgresRollupStore(
      String url, Properties properties, String schema, long[] bucketsPerPartition)
      throws SQLException {
    this.url = url;
    this.properties = properties;
    this.schema = schema;
    this.bucketsPerPartition = bucketsPerPartition.clone();
    this.writer = connect();
    writer.setAutoCommit(false);
  }

  /**
   * Opens (creating tables as needed) the store in {@code schema} of the database at {@code
   * jdbcUrl}.
   *
   * @param properties the driver's connection properties ({@code user}, {@code password}, ...)
   * @param schema lower-case letters, digits and underscores; created if absent
   * @param bucketsPerPartition per tier, how many buckets one partition holds; the number of tiers
   */
  public static PostgresRollupStore open(
      String jdbcUrl, Properties properties, String schema, long[] bucketsPerPartition)
      throws IOException {
    if (!SCHEMA.matcher(schema).matches()) {
      throw new IllegalArgumentException(
          "schema must be lower-case letters, digits and underscores: " + schema);
    }
    if (bucketsPerPartition.length == 0 || bucketsPerPartition.length > 256) {
      throw new IllegalArgumentException("1 to 256 tiers: " + bucketsPerPartition.length);
    }
    for (long b : bucketsPerPartition) {
      if (b < 1) {
        throw new IllegalArgumentException("a partition holds at least one bucket: " + b);
      }
    }
    Properties withDefaults = new Properties();
    // A checkpoint's upserts go as multi-row INSERTs instead of one statement per row.
    withDefaults.setProperty("reWriteBatchedInserts", "true");
    withDefaults.putAll(properties);
    try {
      PostgresRollupStore store =
          new PostgresRollupStore(jdbcUrl, withDefaults, schema, bucketsPerPartition);
      store.createTables();
      return store;
    } catch (SQLException e) {
      throw new IOException("opening the rollup store in PostgreSQL schema " + schema, e);
    }
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(url, properties);
  }

  private void createTables() throws SQLException {
    try (Statement st = writer.createStatement()) {
      st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + schema
              + ".rollup_meta (key text COLLATE \"C\" PRIMARY KEY, value bytea NOT NULL)");
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + schema
              + ".rollup_rows (tier smallint NOT NULL, series integer NOT NULL,"
              + " bucket bigint NOT NULL, value bytea NOT NULL,"
              + " PRIMARY KEY (tier, series, bucket)) PARTITION BY LIST (tier)");
      for (int t = 0; t < bucketsPerPartition.length; t++) {
        st.execute(
            "CREATE TABLE IF NOT EXISTS "
                + tierTable(t)
                + " PARTITION OF "
                + schema
                + ".rollup_rows FOR VALUES IN ("
                + t
                + ") PARTITION BY RANGE (bucket)");
      }
      writer.commit();
    } catch (SQLException e) {
      writer.rollback();
      throw e;
    }
  }

  private String tierTable(int tier) {
    return schema + ".rollup_rows_t" + tier;
  }

  private String partitionTable(int tier, long partition) {
    return tierTable(tier) + "_p" + partition;
  }

  // ---- reads ----------------------------------------------------------------------------------

  @FunctionalInterface
  private interface Read<T> {
    T run(Connection c) throws SQLException;
  }

  /** Runs {@code read} on the snapshot's connection, or on a pooled one for "now". */
  private <T> T read(Snapshot snapshot, Read<T> read) throws SQLException {
    ensureOpen();
    if (snapshot != null) {
      PgSnapshot s = (PgSnapshot) snapshot;
      synchronized (s) {
        if (s.connection == null) {
          throw new IllegalStateException("the snapshot is closed");
        }
        return read.run(s.connection);
      }
    }
    Connection c = idle.poll();
    if (c == null) {
      c = connect();
    }
    boolean healthy = false;
    try {
      T result = read.run(c);
      healthy = true;
      return result;
    } finally {
      if (!healthy || closed || !idle.offer(c)) {
        closeQuietly(c);
      }
    }
  }

  @Override
  public Snapshot snapshot() {
    ensureOpen();
    try {
      Connection c = connect();
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try (Statement st = c.createStatement()) {
        st.execute("SELECT 1"); // the snapshot is taken at a transaction's first statement
      }
      return new PgSnapshot(c);
    } catch (SQLException e) {
      throw new IllegalStateException("taking a snapshot of the rollup store failed", e);
    }
  }

  private static final class PgSnapshot implements Snapshot {
    Connection connection;

    PgSnapshot(Connection connection) {
      this.connection = connection;
    }

    @Override
    public synchronized void close() {
      if (connection != null) {
        try {
          connection.rollback();
        } catch (SQLException ignored) {
          // closing anyway
        }
        closeQuietly(connection);
        connection = null;
      }
    }
  }

  @Override
  public void scan(
      Snapshot snapshot,
      int tier,
      int series,
      long fromBucket,
      long toBucket,
      int maxValueBytes,
      RowVisitor visitor)
      throws IOException {
    checkTier(tier);
    if (fromBucket >= toBucket) {
      return;
    }
    String value =
        maxValueBytes > 0 ? "substring(value FROM 1 FOR " + maxValueBytes + ")" : "value";
    try {
      read(
          snapshot,
          c -> {
            try (PreparedStatement ps =
                c.prepareStatement(
                    "SELECT bucket, "
                        + value
                        + " FROM "
                        + schema
                        + ".rollup_rows WHERE tier = ? AND series = ? AND bucket >= ?"
                        + " AND bucket < ? ORDER BY bucket")) {
              ps.setShort(1, (short) tier);
              ps.setInt(2, series);
              ps.setLong(3, fromBucket);
              ps.setLong(4, toBucket);
              try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                  visitor.visit(rs.getLong(1), rs.getBytes(2));
                }
              }
            }
            return null;
          });
    } catch (SQLException e) {
      throw new IOException("scanning series " + series + " of tier " + tier, e);
    }
  }

  @Override
  public byte[] get(int tier, int series, long bucket) throws IOException {
    return multiGet(tier, new int[] {series}, new long[] {bucket}, 1).get(0);
  }

  /** One statement for all {@code n} keys: the rows joined to the keys as arrays. */
  @Override
  public List<byte[]> multiGet(int tier, int[] series, long[] buckets, int n) throws IOException {
    checkTier(tier);
    List<byte[]> out = new ArrayList<>(java.util.Collections.nCopies(n, (byte[]) null));
    if (n == 0) {
      return out;
    }
    try {
      read(
          null,
          c -> {
            Integer[] s = new Integer[n];
            Long[] b = new Long[n];
            for (int i = 0; i < n; i++) {
              s[i] = series[i];
              b[i] = buckets[i];
            }
            Array sa = c.createArrayOf("integer", s);
            Array ba = c.createArrayOf("bigint", b);
            try (PreparedStatement ps =
                c.prepareStatement(
                    "SELECT k.i, r.value FROM unnest(?, ?) WITH ORDINALITY AS k(series, bucket, i)"
                        + " JOIN "
                        + schema
                        + ".rollup_rows r ON r.tier = ? AND r.series = k.series"
                        + " AND r.bucket = k.bucket")) {
              ps.setArray(1, sa);
              ps.setArray(2, ba);
              ps.setShort(3, (short) tier);
              try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                  out.set((int) rs.getLong(1) - 1, rs.getBytes(2));
                }
              }
            } finally {
              sa.free();
              ba.free();
            }
            return null;
          });
    } catch (SQLException e) {
      throw new IOException("reading " + n + " rows of tier " + tier, e);
    }
    return out;
  }

  @Override
  public byte[] getMeta(String key) throws IOException {
    try {
      return read(
          null,
          c -> {
            try (PreparedStatement ps =
                c.prepareStatement("SELECT value FROM " + schema + ".rollup_meta WHERE key = ?")) {
              ps.setString(1, key);
              try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
              }
            }
          });
    } catch (SQLException e) {
      throw new IOException("reading meta " + key, e);
    }
  }

  /** In the order of the keys' UTF-8 bytes, as RocksDB's: the column's collation is "C". */
  @Override
  public Map<String, byte[]> metaWithPrefix(String prefix) throws IOException {
    return metaWithPrefix(prefix, prefix);
  }

  /** The primary key's index range from {@code fromKey}, not the whole prefix. */
  @Override
  public Map<String, byte[]> metaWithPrefix(String prefix, String fromKey) throws IOException {
    try {
      return read(
          null,
          c -> {
            Map<String, byte[]> out = new LinkedHashMap<>();
            try (PreparedStatement ps =
                c.prepareStatement(
                    "SELECT key, value FROM "
                        + schema
                        + ".rollup_meta WHERE starts_with(key, ?) AND key >= ? ORDER BY key")) {
              ps.setString(1, prefix);
              ps.setString(2, fromKey);
              try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                  out.put(rs.getString(1), rs.getBytes(2));
                }
              }
            }
            return out;
          });
    } catch (SQLException e) {
      throw new IOException("listing meta with prefix " + prefix, e);
    }
  }

  @Override
  public long diskBytes() {
    try {
      return read(
          null,
          c -> {
            try (PreparedStatement ps =
                c.prepareStatement(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                        + " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        + " WHERE n.nspname = ? AND c.relkind = 'r'")) {
              ps.setString(1, schema);
              try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
              }
            }
          });
    } catch (SQLException e) {
      return 0; // reported as unknown; health does not fail over a size
    }
  }

  // ---- writes ---------------------------------------------------------------------------------

  @Override
  public Batch batch() {
    ensureOpen();
    return new Batch(this);
  }

  @Override
  public void write(MetaBatch batch) throws IOException {
    ensureOpen();
    if (!(batch instanceof Batch b) || b.store != this) {
      throw new IllegalArgumentException("the batch was not made by this store's batch()");
    }
    synchronized (writer) {
      try {
        if (!b.required.isEmpty()) {
          checkRequired(b.required);
        }
        writeRows(b.rows);
        writeMeta(b.meta);
        writer.commit();
      } catch (SQLException | RuntimeException e) {
        try {
          writer.rollback();
        } catch (SQLException ignored) {
          // the connection is broken; the next write reports it
        }
        partitions.clear(); // partitions this transaction created are gone with it
        if (e instanceof StaleConditionException stale) {
          throw new StaleWriteException(stale.getMessage());
        }
        throw new IOException("writing a batch of " + b.size() + " changes", e);
      }
    }
  }

  /** Thrown inside the write transaction when a required value differs; becomes the checked one. */
  private static final class StaleConditionException extends RuntimeException {
    StaleConditionException(String message) {
      super(message);
    }
  }

  private void checkRequired(Map<String, byte[]> required) throws SQLException {
    try (PreparedStatement lock = writer.prepareStatement("SELECT pg_advisory_xact_lock(?, ?)")) {
      lock.setInt(1, CONDITION_LOCK_CLASS);
      lock.setInt(2, schema.hashCode());
      lock.execute();
    }
    try (PreparedStatement ps =
        writer.prepareStatement("SELECT value FROM " + schema + ".rollup_meta WHERE key = ?")) {
      for (Map.Entry<String, byte[]> r : required.entrySet()) {
        ps.setString(1, r.getKey());
        byte[] held;
        try (ResultSet rs = ps.executeQuery()) {
          held = rs.next() ? rs.getBytes(1) : null;
        }
        if (!Arrays.equals(held, r.getValue())) {
          throw new StaleConditionException(
              "meta "
                  + r.getKey()
                  + " changed since this batch was built: another writer committed in between");
        }
      }
    }
  }

  /**
   * Creates a bucket range partition as a table of its own, then attaches it: ATTACH PARTITION
   * takes only a SHARE UPDATE EXCLUSIVE lock on the tier's table, which readers' snapshots (open
   * REPEATABLE READ transactions holding ACCESS SHARE on it) do not block, where {@code CREATE
   * TABLE ... PARTITION OF} waits for an ACCESS EXCLUSIVE lock until every open snapshot ends — a
   * query server that keeps its snapshot until the next checkpoint would then block that checkpoint
   * for good. In the checkpoint's transaction: a failed checkpoint leaves no partition behind.
   */
  private void createPartition(Statement ddl, int tier, long partition) throws SQLException {
    String table = partitionTable(tier, partition);
    try (ResultSet rs = ddl.executeQuery("SELECT to_regclass('" + table + "') IS NOT NULL")) {
      if (rs.next() && rs.getBoolean(1)) {
        return;
      }
    }
    long from = partition * bucketsPerPartition[tier];
    ddl.execute("CREATE TABLE " + table + " (LIKE " + tierTable(tier) + " INCLUDING ALL)");
    ddl.execute(
        "ALTER TABLE "
            + tierTable(tier)
            + " ATTACH PARTITION "
            + table
            + " FOR VALUES FROM ("
            + from
            + ") TO ("
            + (from + bucketsPerPartition[tier])
            + ")");
  }

  private void writeRows(Map<RowKey, byte[]> rows) throws SQLException {
    if (rows.isEmpty()) {
      return;
    }
    try (Statement ddl = writer.createStatement()) {
      for (RowKey k : rows.keySet()) {
        long partition = k.bucket / bucketsPerPartition[k.tier];
        if (partitions.add((long) k.tier << 32 | partition)) {
          createPartition(ddl, k.tier, partition);
        }
      }
    }
    try (PreparedStatement ps =
        writer.prepareStatement(
            "INSERT INTO "
                + schema
                + ".rollup_rows (tier, series, bucket, value) VALUES (?, ?, ?, ?)"
                + " ON CONFLICT (tier, series, bucket) DO UPDATE SET value = EXCLUDED.value")) {
      int pending = 0;
      for (Map.Entry<RowKey, byte[]> e : rows.entrySet()) {
        RowKey k = e.getKey();
        ps.setShort(1, (short) k.tier);
        ps.setInt(2, k.series);
        ps.setLong(3, k.bucket);
        ps.setBytes(4, e.getValue());
        ps.addBatch();
        if (++pending == 1_000) {
          ps.executeBatch();
          pending = 0;
        }
      }
      if (pending > 0) {
        ps.executeBatch();
      }
    }
  }

  private void writeMeta(Map<String, byte[]> meta) throws SQLException {
    if (meta.isEmpty()) {
      return;
    }
    try (PreparedStatement put =
            writer.prepareStatement(
                "INSERT INTO "
                    + schema
                    + ".rollup_meta (key, value) VALUES (?, ?)"
                    + " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value");
        PreparedStatement delete =
            writer.prepareStatement("DELETE FROM " + schema + ".rollup_meta WHERE key = ?")) {
      for (Map.Entry<String, byte[]> e : meta.entrySet()) {
        if (e.getValue() == null) {
          delete.setString(1, e.getKey());
          delete.addBatch();
        } else {
          put.setString(1, e.getKey());
          put.setBytes(2, e.getValue());
          put.addBatch();
        }
      }
      put.executeBatch();
      delete.executeBatch();
    }
  }

  /**
   * Drops the partitions of {@code tier} entirely before {@code bucket}'s; rows of that partition
   * before {@code bucket} stay until a later call. A partition a snapshot is reading is skipped
   * after {@value #DROP_LOCK_TIMEOUT} and dropped by a later call.
   */
  @Override
  public void deleteBefore(int tier, long bucket) throws IOException {
    ensureOpen();
    checkTier(tier);
    long before = Math.max(bucket, 0) / bucketsPerPartition[tier];
    synchronized (writer) {
      try {
        List<Long> old = new ArrayList<>();
        try (PreparedStatement ps =
            writer.prepareStatement(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    + " JOIN pg_class p ON p.oid = i.inhparent"
                    + " JOIN pg_namespace n ON n.oid = p.relnamespace"
                    + " WHERE n.nspname = ? AND p.relname = ?")) {
          ps.setString(1, schema);
          ps.setString(2, "rollup_rows_t" + tier);
          try (ResultSet rs = ps.executeQuery()) {
            String prefix = "rollup_rows_t" + tier + "_p";
            while (rs.next()) {
              long p = Long.parseLong(rs.getString(1).substring(prefix.length()));
              if (p < before) {
                old.add(p);
              }
            }
          }
        }
        writer.commit();
        try (Statement st = writer.createStatement()) {
          st.execute("SET lock_timeout = '" + DROP_LOCK_TIMEOUT + "'");
          for (long p : old) {
            try {
              st.execute("DROP TABLE IF EXISTS " + partitionTable(tier, p));
              writer.commit();
              partitions.remove((long) tier << 32 | p);
            } catch (SQLException busy) {
              writer.rollback(); // a reader holds it: a later call drops it
            }
          }
          st.execute("RESET lock_timeout");
          writer.commit();
        }
      } catch (SQLException e) {
        try {
          writer.rollback();
        } catch (SQLException ignored) {
          // reported below
        }
        throw new IOException("dropping partitions of tier " + tier, e);
      }
    }
  }

  private void checkTier(int tier) {
    if (tier < 0 || tier >= bucketsPerPartition.length) {
      throw new IllegalArgumentException(
          "tier " + tier + " out of range (" + bucketsPerPartition.length + " tiers)");
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the rollup store is closed");
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (writer) {
      closeQuietly(writer);
    }
    Connection c;
    while ((c = idle.poll()) != null) {
      closeQuietly(c);
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException ignored) {
      // closing anyway
    }
  }

  private record RowKey(int tier, int series, long bucket) {}

  /**
   * Changes collected in memory until {@link #write}: a later put of the same row or key replaces
   * an earlier one (one INSERT may not touch a row twice).
   */
  public static final class Batch implements StoreBatch {
    private final PostgresRollupStore store;
    private final Map<RowKey, byte[]> rows = new LinkedHashMap<>();
    private final Map<String, byte[]> meta = new LinkedHashMap<>(); // null value: delete
    private final Map<String, byte[]> required = new LinkedHashMap<>();

    private Batch(PostgresRollupStore store) {
      this.store = store;
    }

    @Override
    public void putRow(int tier, int series, long bucket, byte[] value) {
      store.checkTier(tier);
      if (series < 0 || bucket < 0) {
        throw new IllegalArgumentException(
            "series and bucket must not be negative: " + series + ", " + bucket);
      }
      rows.put(new RowKey(tier, series, bucket), value.clone());
    }

    @Override
    public void putMeta(String key, byte[] value) {
      meta.put(key, value.clone());
    }

    @Override
    public void deleteMeta(String key) {
      meta.put(key, null);
    }

    @Override
    public void requireMeta(String key, byte[] expected) {
      required.put(key, expected == null ? null : expected.clone());
    }

    @Override
    public int size() {
      return rows.size() + meta.size();
    }

    @Override
    public void close() {}
  }
}
