package dev.aggregator.storage;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Stream;
import org.rocksdb.AbstractNativeReference;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.DirectSlice;
import org.rocksdb.Env;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.SstFileManager;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded {@link RollupStore}: RocksDB in one directory, rows and metadata in two column
 * families ({@code rows}, {@code meta}).
 *
 * <p>A row's key is 17 bytes, every field big-endian so that RocksDB's bytewise order is numeric
 * order:
 *
 * <pre>
 * tier (1) | partition (4) = bucket / bucketsPerPartition[tier] | series (4) | bucket (8)
 * </pre>
 *
 * Keys sort as (tier, partition, series, bucket), which buys two things. Retention is one {@code
 * deleteRange}: everything of a tier before partition {@code p} is the key range {@code [tier,
 * tier|p)}, one range tombstone whose files compaction then drops whole, where per-row deletes
 * would write a tombstone a row. And within a partition a series' buckets are contiguous, so a
 * series' range is one seek and a sequential read per partition it overlaps: a 24 h query at 1 m is
 * 1,440 rows in one or two partitions when a partition holds a day of minutes, read in ~0.6 ms on
 * this project's 2-core machine (p99 2.3 ms under load; DuckDB's filtered scan of the same rows
 * takes ~43 ms: {@code RollupStoreBenchmark}, BENCHMARKS.md). A time-major layout would instead
 * interleave every series in each bucket, and a series-major one without partitions would make
 * retention a delete per series.
 *
 * <p>{@link #write} applies a {@code WriteBatch} over both column families with {@code sync=true}
 * on top of RocksDB's own write-ahead log: a batch is the engine's checkpoint (rows and the log
 * position they cover), so once {@code write} returns it survives {@code kill -9}.
 *
 * <p>Thread-safe, as RocksDB is; {@link #close} must not race with other calls.
 *
 * <pre>{@code
 * // 1 s tier: an hour a partition; 1 m: a day; 1 h: 30 days; 1 d: a year
 * long[] bucketsPerPartition = {3_600, 1_440, 720, 366};
 * try (RocksRollupStore store = RocksRollupStore.open(dir, bucketsPerPartition);
 *     StoreBatch batch = store.batch()) {
 *   long minute = System.currentTimeMillis() / 60_000;
 *   batch.putRow(1, 42, minute, new byte[] {1, 2, 3});
 *   batch.putMeta("checkpoint", new byte[] {7});
 *   store.write(batch); // fsynced: rows and checkpoint together or not at all
 *   store.scan(1, 42, minute - 1_440, minute + 1, (bucket, value) -> System.out.println(bucket));
 * }
 * }</pre>
 */
public final class RocksRollupStore implements RollupStore {
  private static final Logger LOG = LoggerFactory.getLogger(RocksRollupStore.class);

  static {
    RocksDB.loadLibrary();
  }

  static final int KEY_BYTES = 17;

  /** Up to this many partitions a scan seeks each; past it, it lets the keys say which to visit. */
  static final long DENSE_PARTITIONS = 64;

  static final long MAX_PARTITION = 0xFFFF_FFFFL;

  /** The tier byte allows 256 tiers; the engine has four. */
  static final int MAX_TIERS = 256;

  /** Shared by both column families: index, filter and data blocks of recent rows and meta. */
  private static final long BLOCK_CACHE_BYTES = 64L << 20;

  /** ~1 % false positives: a {@link #get} of an absent row mostly skips the file read. */
  private static final double BLOOM_BITS_PER_KEY = 10;

  /**
   * Every checkpoint writes a few meta keys, so the meta memtable never fills and would pin every
   * write-ahead log file since its oldest entry; RocksDB's default cap is 4 × the memtable budget
   * (~1.5 GiB here). At 128 MiB it flushes meta and frees the logs.
   */
  private static final long MAX_TOTAL_WAL_BYTES = 128L << 20;

  /**
   * RocksDB's info LOG starts a new file on every open and appends statistics every 10 minutes;
   * without limits a laptop's data directory collects them forever. Keep at most 3 files of 1 MiB.
   */
  private static final long INFO_LOG_BYTES = 1L << 20;

  private static final int INFO_LOGS_KEPT = 3;

  /** Held from check to commit of a conditional write (see {@link #write}). */
  private final Object conditionLock = new Object();

  private static final VarHandle INT =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

  private final Path dir;
  private final long[] bucketsPerPartition;
  private final RocksDB db;
  private final ColumnFamilyHandle rows;
  private final ColumnFamilyHandle meta;
  private final WriteOptions syncWrite;

  /** Native objects this store created, closed last-in first-out (handles before the db). */
  private final Deque<AbstractNativeReference> owned;

  /** Idle scan states, one per concurrent scan at most; all closed with the store. */
  private final Queue<Scanner> scanners = new ConcurrentLinkedQueue<>();

  /** Per tier, the partition before which everything is deleted already (skip repeat calls). */
  private final AtomicLongArray deletedBefore;

  /**
   * Per tier, the lowest and highest partition holding rows (or having held them): a scan visits
   * the partitions in between one by one, so it must know where the rows end.
   */
  private final AtomicLongArray lowestPartition;

  private final AtomicLongArray highestPartition;

  private volatile boolean closed;

  private RocksRollupStore(
      Path dir,
      long[] bucketsPerPartition,
      RocksDB db,
      ColumnFamilyHandle rows,
      ColumnFamilyHandle meta,
      WriteOptions syncWrite,
      Deque<AbstractNativeReference> owned) {
    this.dir = dir;
    this.bucketsPerPartition = bucketsPerPartition;
    this.db = db;
    this.rows = rows;
    this.meta = meta;
    this.syncWrite = syncWrite;
    this.owned = owned;
    this.deletedBefore = new AtomicLongArray(bucketsPerPartition.length);
    this.lowestPartition = new AtomicLongArray(bucketsPerPartition.length);
    this.highestPartition = new AtomicLongArray(bucketsPerPartition.length);
    try (ReadOptions totalOrder = new ReadOptions().setTotalOrderSeek(true);
        RocksIterator it = db.newIterator(rows, totalOrder)) {
      for (int tier = 0; tier < bucketsPerPartition.length; tier++) {
        lowestPartition.set(tier, MAX_PARTITION + 1);
        highestPartition.set(tier, -1);
        it.seek(new byte[] {(byte) tier});
        if (it.isValid() && it.key()[0] == (byte) tier) {
          lowestPartition.set(tier, partitionOf(it.key()));
          byte[] end = new byte[KEY_BYTES];
          java.util.Arrays.fill(end, (byte) 0xFF);
          end[0] = (byte) tier;
          it.seekForPrev(end);
          highestPartition.set(tier, partitionOf(it.key()));
        }
      }
    }
  }

  /**
   * Notes that {@code tier} has rows in {@code partition}. A row written into a partition that
   * {@link #deleteBefore} already dropped (a late write at the retention edge) lowers the mark of
   * what is deleted, so the next call with the same cutoff drops it again instead of skipping.
   */
  private void holds(int tier, long partition) {
    if (partition < deletedBefore.get(tier)) {
      deletedBefore.accumulateAndGet(tier, partition, Math::min);
    }
    if (partition < lowestPartition.get(tier)) {
      lowestPartition.accumulateAndGet(tier, partition, Math::min);
    }
    if (partition > highestPartition.get(tier)) {
      highestPartition.accumulateAndGet(tier, partition, Math::max);
    }
  }

  /**
   * Opens (or creates) the store in {@code dir}.
   *
   * @param bucketsPerPartition for each tier, how many of its buckets share a partition, ≥ 1 (the
   *     engine: 3,600 for 1 s = an hour, 1,440 for 1 m = a day, 720 for 1 h, 366 for 1 d); at most
   *     256 tiers. Must stay the same for a directory: it is part of every row's key.
   */
  public static RocksRollupStore open(Path dir, long[] bucketsPerPartition) throws IOException {
    long[] perPartition = bucketsPerPartition.clone();
    if (perPartition.length == 0 || perPartition.length > MAX_TIERS) {
      throw new IllegalArgumentException(
          "got " + perPartition.length + " tiers, want 1 to " + MAX_TIERS);
    }
    for (int tier = 0; tier < perPartition.length; tier++) {
      if (perPartition[tier] < 1) {
        throw new IllegalArgumentException(
            "tier " + tier + ": got " + perPartition[tier] + " buckets a partition, want ≥ 1");
      }
    }
    Files.createDirectories(dir);
    Deque<AbstractNativeReference> owned = new ArrayDeque<>();
    try {
      BlockBasedTableConfig table =
          new BlockBasedTableConfig()
              .setBlockCache(own(owned, new LRUCache(BLOCK_CACHE_BYTES)))
              .setFilterPolicy(own(owned, new BloomFilter(BLOOM_BITS_PER_KEY)));
      ColumnFamilyOptions rowOptions =
          own(owned, new ColumnFamilyOptions())
              .setTableFormatConfig(table)
              // LZ4: decompresses at GB/s, so a scan barely notices it
              .setCompressionType(CompressionType.LZ4_COMPRESSION);
      ColumnFamilyOptions metaOptions =
          own(owned, new ColumnFamilyOptions()).setTableFormatConfig(table);
      DBOptions dbOptions =
          own(owned, new DBOptions())
              .setCreateIfMissing(true)
              .setCreateMissingColumnFamilies(true)
              .setMaxTotalWalSize(MAX_TOTAL_WAL_BYTES)
              .setMaxLogFileSize(INFO_LOG_BYTES)
              .setKeepLogFileNum(INFO_LOGS_KEPT)
              // With a file manager RocksDB polls for free space every 5 s after ENOSPC and
              // resumes by itself once the largest write buffer (64 MiB) fits; without one its
              // background error is sticky and every checkpoint fails until a restart (RocksJava
              // has no resume()).
              .setSstFileManager(own(owned, new SstFileManager(Env.getDefault())));
      List<ColumnFamilyDescriptor> families =
          List.of(
              new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, metaOptions),
              new ColumnFamilyDescriptor("rows".getBytes(UTF_8), rowOptions),
              new ColumnFamilyDescriptor("meta".getBytes(UTF_8), metaOptions));
      List<ColumnFamilyHandle> handles = new ArrayList<>();
      RocksDB db;
      try {
        db = own(owned, RocksDB.open(dbOptions, dir.toString(), families, handles));
      } finally {
        handles.forEach(handle -> own(owned, handle));
      }
      WriteOptions syncWrite = own(owned, new WriteOptions().setSync(true));
      return new RocksRollupStore(
          dir, perPartition, db, handles.get(1), handles.get(2), syncWrite, owned);
    } catch (RocksDBException e) {
      closeAll(owned);
      throw new IOException("opening the rollup store in " + dir + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeAll(owned);
      throw e;
    }
  }

  private static <T extends AbstractNativeReference> T own(
      Deque<AbstractNativeReference> owned, T resource) {
    owned.push(resource);
    return resource;
  }

  private static void closeAll(Deque<AbstractNativeReference> owned) {
    while (!owned.isEmpty()) {
      owned.pop().close();
    }
  }

  /**
   * One seek into each partition overlapping the range that holds rows of the tier, then a
   * sequential read of the series' rows there. Partitions without rows cost nothing: the seek that
   * leaves a partition lands on the next one holding any row, so a range over years of mostly empty
   * partitions stays cheap. The iterator's upper bound is the range's end, {@code (tier,
   * partition(to - 1), series, to)}, so the last partition's read stops at the range; in earlier
   * partitions it reads one key past the series (the next series' first) to find where to go.
   */
  @Override
  public Snapshot snapshot() {
    ensureOpen();
    org.rocksdb.Snapshot snapshot = db.getSnapshot();
    return new RocksSnapshot(snapshot);
  }

  /** A RocksDB snapshot; releasing it lets compaction drop the row versions it pinned. */
  private final class RocksSnapshot implements Snapshot {
    final org.rocksdb.Snapshot snapshot;
    private final java.util.concurrent.atomic.AtomicBoolean released =
        new java.util.concurrent.atomic.AtomicBoolean();

    RocksSnapshot(org.rocksdb.Snapshot snapshot) {
      this.snapshot = snapshot;
    }

    @Override
    public void close() {
      if (released.compareAndSet(false, true) && !closed) {
        db.releaseSnapshot(snapshot); // with the store closed, the db and its snapshots are gone
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
    ensureOpen();
    checkTier(tier);
    checkSeries(series);
    long from = Math.max(fromBucket, 0);
    if (toBucket <= from) {
      return;
    }
    long perPartition = bucketsPerPartition[tier];
    long first = Math.max(from / perPartition, lowestPartition.get(tier));
    long last = Math.min((toBucket - 1) / perPartition, highestPartition.get(tier));
    if (first > last) {
      return;
    }
    Scanner scanner = scanners.poll();
    if (scanner == null) {
      scanner = new Scanner();
    }
    try {
      scanner.bound(tier, last, series, toBucket);
      org.rocksdb.Snapshot at = snapshot == null ? null : ((RocksSnapshot) snapshot).snapshot;
      if (last - first <= DENSE_PARTITIONS) {
        scanEachPartition(
            scanner, at, tier, series, first, last, from, toBucket, maxValueBytes, visitor);
      } else {
        scanSparse(scanner, at, tier, series, first, last, from, maxValueBytes, visitor);
      }
    } catch (RocksDBException e) {
      throw new IOException("scanning tier " + tier + " series " + series, e);
    } finally {
      scanners.offer(scanner);
    }
  }

  /**
   * One iterator per partition, its upper bound right after the series' rows there, so it never
   * walks other series' keys. That matters when the read goes through a snapshot taken just before
   * a checkpoint wrote a million rows: those are invisible to it, and an iterator free to roam
   * would step over every one of them looking for the next visible key.
   */
  private void scanEachPartition(
      Scanner scanner,
      org.rocksdb.Snapshot at,
      int tier,
      int series,
      long first,
      long last,
      long from,
      long toBucket,
      int maxValueBytes,
      RowVisitor visitor)
      throws RocksDBException {
    scanner.readOptions.setSnapshot(at);
    byte[] key = scanner.key;
    for (long partition = first; partition <= last; partition++) {
      scanner.bound(tier, partition, series, partition == last ? toBucket : Long.MAX_VALUE);
      try (RocksIterator it = db.newIterator(rows, scanner.readOptions)) {
        rowKey(scanner.seekKey, tier, partition, series, partition == first ? from : 0);
        it.seek(scanner.seekKey);
        while (it.isValid()) {
          it.key(key);
          // at or after the seek target, below the bound: this series, within [from, to)
          visitor.visit((long) LONG.get(key, 9), scanner.value(it, maxValueBytes));
          it.next();
        }
        it.status();
      }
    }
  }

  /**
   * For a range of many partitions, mostly empty: one iterator over all keys that re-seeks past
   * other series and jumps over empty partitions by landing on the next key there is.
   */
  private void scanSparse(
      Scanner scanner,
      org.rocksdb.Snapshot at,
      int tier,
      int series,
      long first,
      long last,
      long from,
      int maxValueBytes,
      RowVisitor visitor)
      throws RocksDBException {
    scanner.readOptions.setSnapshot(at);
    byte[] key = scanner.key;
    try (RocksIterator it = db.newIterator(rows, scanner.readOptions)) {
      rowKey(scanner.seekKey, tier, first, series, from);
      it.seek(scanner.seekKey);
      while (it.isValid()) {
        it.key(key);
        int keySeries = (int) INT.get(key, 5);
        if (keySeries == series) {
          // at or after the seek target, below the bound: within [from, to)
          visitor.visit((long) LONG.get(key, 9), scanner.value(it, maxValueBytes));
          it.next();
          continue;
        }
        long partition = partitionOf(key);
        if (keySeries < series) {
          // landed in a later partition before this series: seek to the series there
          rowKey(scanner.seekKey, tier, partition, series, 0);
        } else if (partition < last) {
          // past this series in its partition: on to the next partition
          rowKey(scanner.seekKey, tier, partition + 1, series, 0);
        } else {
          break;
        }
        it.seek(scanner.seekKey);
      }
      it.status();
    }
  }

  @Override
  public byte[] get(int tier, int series, long bucket) throws IOException {
    ensureOpen();
    try {
      return db.get(rows, rowKey(tier, series, bucket));
    } catch (RocksDBException e) {
      throw new IOException("reading tier " + tier + " series " + series + " bucket " + bucket, e);
    }
  }

  @Override
  public List<byte[]> multiGet(int tier, int[] series, long[] buckets, int n) throws IOException {
    ensureOpen();
    if (n == 0) {
      return List.of(); // RocksJava asserts a non-empty key list
    }
    List<byte[]> keys = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      keys.add(rowKey(tier, series[i], buckets[i]));
    }
    try {
      // RocksDB batches the lookups: sorted, one pass per SST file, bloom filters first
      return db.multiGetAsList(Collections.nCopies(n, rows), keys);
    } catch (RocksDBException e) {
      throw new IOException("reading " + n + " rows of tier " + tier, e);
    }
  }

  @Override
  public Batch batch() {
    ensureOpen();
    return new Batch(this);
  }

  /**
   * Conditional batches are checked and written under {@link #conditionLock}, so no other
   * conditional write of this store (the only writer of its directory: RocksDB locks it) comes
   * between check and write. Unconditional ones (alerts) do not wait behind a checkpoint's commit;
   * they never write a key that checkpoints require.
   */
  @Override
  public void write(MetaBatch batch) throws IOException {
    ensureOpen();
    if (!(batch instanceof Batch b) || b.store != this) {
      throw new IllegalArgumentException("the batch was not made by this store's batch()");
    }
    if (b.required.isEmpty()) {
      commit(b);
      return;
    }
    synchronized (conditionLock) {
      for (Map.Entry<String, byte[]> required : b.required.entrySet()) {
        byte[] held = getMeta(required.getKey());
        if (!Arrays.equals(held, required.getValue())) {
          throw new StaleWriteException(
              "meta "
                  + required.getKey()
                  + " changed since this batch was built: another writer committed in between");
        }
      }
      commit(b);
    }
  }

  private void commit(Batch b) throws IOException {
    try {
      db.write(syncWrite, b.writeBatch);
    } catch (RocksDBException e) {
      throw new IOException("writing a batch of " + b.size + " changes", e);
    }
  }

  /**
   * Drops every partition of {@code tier} entirely before {@code bucket}'s partition with one range
   * delete; the rows of that partition before {@code bucket} stay until a later call.
   */
  @Override
  public void deleteBefore(int tier, long bucket) throws IOException {
    ensureOpen();
    checkTier(tier);
    long partition = Math.min(Math.max(bucket, 0) / bucketsPerPartition[tier], MAX_PARTITION);
    if (partition <= deletedBefore.get(tier)) {
      return;
    }
    // Full-length keys: with the 9-byte prefix extractor, a shorter bound is outside its domain,
    // and prefix-bounded reads then missed the tombstone (a property test found deleted rows).
    byte[] start = new byte[KEY_BYTES];
    start[0] = (byte) tier;
    byte[] end = new byte[KEY_BYTES];
    end[0] = (byte) tier;
    INT.set(end, 1, (int) partition);
    try {
      db.deleteRange(rows, syncWrite, start, end);
    } catch (RocksDBException e) {
      throw new IOException("deleting tier " + tier + " before partition " + partition, e);
    }
    deletedBefore.accumulateAndGet(tier, partition, Math::max);
  }

  @Override
  public byte[] getMeta(String key) throws IOException {
    ensureOpen();
    try {
      return db.get(meta, key.getBytes(UTF_8));
    } catch (RocksDBException e) {
      throw new IOException("reading meta " + key, e);
    }
  }

  /** Entries in the order of their keys' UTF-8 bytes (= code point order). */
  @Override
  public Map<String, byte[]> metaWithPrefix(String prefix) throws IOException {
    return metaWithPrefix(prefix, prefix);
  }

  /** One seek to {@code fromKey} (or the prefix, if after it), then the prefix's keys in order. */
  @Override
  public Map<String, byte[]> metaWithPrefix(String prefix, String fromKey) throws IOException {
    ensureOpen();
    byte[] start = prefix.getBytes(UTF_8);
    byte[] from = fromKey.compareTo(prefix) > 0 ? fromKey.getBytes(UTF_8) : start;
    Map<String, byte[]> entries = new LinkedHashMap<>();
    try (RocksIterator it = db.newIterator(meta)) {
      for (it.seek(from); it.isValid(); it.next()) {
        byte[] key = it.key();
        if (key.length < start.length
            || !Arrays.equals(key, 0, start.length, start, 0, start.length)) {
          break;
        }
        entries.put(new String(key, UTF_8), it.value());
      }
      it.status();
    } catch (RocksDBException e) {
      throw new IOException("listing meta with prefix " + prefix, e);
    }
    return entries;
  }

  /**
   * The size of the store's directory: SST files, write-ahead logs, MANIFEST and info logs, as the
   * disk sees them (obsolete files not yet deleted included). One directory listing, ~20 files.
   */
  @Override
  public long diskBytes() {
    long bytes = 0;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        try {
          bytes += Files.size(file);
        } catch (NoSuchFileException e) {
          // deleted by a compaction since the listing
        }
      }
    } catch (IOException e) {
      LOG.warn("measuring {}: {}", dir, e.toString());
    }
    return bytes;
  }

  /**
   * Rows stored, as RocksDB estimates them ({@code rocksdb.estimate-num-keys}: exact after a
   * compaction, an overestimate while overwritten rows await one).
   */
  public long estimatedRows() {
    try {
      return db.getLongProperty(rows, "rocksdb.estimate-num-keys");
    } catch (RocksDBException e) {
      return -1;
    }
  }

  /**
   * Compacts every row and metadata entry into the bottom level, dropping deleted and overwritten
   * rows. The engine never needs it (RocksDB compacts in the background); benchmarks and tools use
   * it to measure or shrink the store at once. Takes seconds per GiB.
   */
  public void compact() throws IOException {
    ensureOpen();
    try {
      db.compactRange(rows);
      db.compactRange(meta);
    } catch (RocksDBException e) {
      throw new IOException("compacting " + dir, e);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Scanner scanner; (scanner = scanners.poll()) != null; ) {
      scanner.close();
    }
    closeAll(owned);
  }

  private void ensureOpen() {
    // A call on a closed RocksDB handle would crash the JVM, not throw.
    if (closed) {
      throw new IllegalStateException("the rollup store in " + dir + " is closed");
    }
  }

  private void checkTier(int tier) {
    if (tier < 0 || tier >= bucketsPerPartition.length) {
      throw new IllegalArgumentException(
          "got tier " + tier + ", want 0 to " + (bucketsPerPartition.length - 1));
    }
  }

  private static void checkSeries(int series) {
    if (series < 0) {
      throw new IllegalArgumentException("got series " + series + ", want ≥ 0");
    }
  }

  /** The row's key; rejects a tier, series or bucket the key cannot hold. */
  byte[] rowKey(int tier, int series, long bucket) {
    checkTier(tier);
    checkSeries(series);
    long partition = partitionOf(tier, bucket);
    byte[] key = new byte[KEY_BYTES];
    rowKey(key, tier, partition, series, bucket);
    return key;
  }

  private long partitionOf(int tier, long bucket) {
    long partition = bucket / bucketsPerPartition[tier];
    if (bucket < 0 || partition > MAX_PARTITION) {
      throw new IllegalArgumentException(
          "tier "
              + tier
              + ": got bucket "
              + bucket
              + ", want 0 to "
              + ((MAX_PARTITION + 1) * bucketsPerPartition[tier] - 1));
    }
    return partition;
  }

  private static void rowKey(byte[] key, int tier, long partition, int series, long bucket) {
    key[0] = (byte) tier;
    INT.set(key, 1, (int) partition);
    INT.set(key, 5, series);
    LONG.set(key, 9, bucket);
  }

  private static long partitionOf(byte[] key) {
    return Integer.toUnsignedLong((int) INT.get(key, 1));
  }

  /**
   * What a scan reuses: its ReadOptions, whose upper bound is a slice over a direct buffer that
   * each scan rewrites in place before making its iterator, and key buffers. Saves creating and
   * freeing two native objects a scan.
   */
  private static final class Scanner {
    final ByteBuffer upperBound = ByteBuffer.allocateDirect(KEY_BYTES);
    final DirectSlice upperBoundSlice = new DirectSlice(upperBound, KEY_BYTES);
    final ReadOptions readOptions = new ReadOptions().setIterateUpperBound(upperBoundSlice);
    final byte[] seekKey = new byte[KEY_BYTES];
    final byte[] key = new byte[KEY_BYTES];
    private ByteBuffer valueBuffer = ByteBuffer.allocateDirect(64);
    private byte[] valuePrefix = new byte[0];

    /** The current value, or its first {@code max} bytes (max > 0) copied into a reused array. */
    byte[] value(RocksIterator it, int max) {
      if (max <= 0) {
        return it.value();
      }
      if (valueBuffer.capacity() < max) {
        valueBuffer = ByteBuffer.allocateDirect(max);
      }
      valueBuffer.clear().limit(max);
      int size = it.value(valueBuffer);
      int n = Math.min(size, max);
      if (valuePrefix.length != n) {
        valuePrefix = new byte[n];
      }
      valueBuffer.get(0, valuePrefix, 0, n);
      return valuePrefix;
    }

    /** Stops the next iterator before {@code (tier, partition, series, bucket)}. */
    void bound(int tier, long partition, int series, long bucket) {
      upperBound
          .put(0, (byte) tier)
          .putInt(1, (int) partition)
          .putInt(5, series)
          .putLong(9, bucket);
    }

    void close() {
      readOptions.close();
      upperBoundSlice.close();
    }
  }

  /**
   * A {@link StoreBatch} over a RocksDB {@code WriteBatch}; {@link #close} frees its native memory.
   */
  public static final class Batch implements StoreBatch {
    private final RocksRollupStore store;
    private final WriteBatch writeBatch = new WriteBatch();
    private final Map<String, byte[]> required = new LinkedHashMap<>();
    private int size;

    private Batch(RocksRollupStore store) {
      this.store = store;
    }

    @Override
    public void putRow(int tier, int series, long bucket, byte[] value) {
      store.ensureOpen();
      byte[] key = store.rowKey(tier, series, bucket); // checks tier, series and bucket
      store.holds(tier, partitionOf(key));
      put(store.rows, key, value);
    }

    @Override
    public void putMeta(String key, byte[] value) {
      store.ensureOpen();
      put(store.meta, key.getBytes(UTF_8), value);
    }

    @Override
    public void deleteMeta(String key) {
      store.ensureOpen();
      try {
        writeBatch.delete(store.meta, key.getBytes(UTF_8));
      } catch (RocksDBException e) {
        throw new UncheckedIOException(new IOException("batching a delete of meta " + key, e));
      }
      size++;
    }

    @Override
    public void requireMeta(String key, byte[] expected) {
      required.put(key, expected == null ? null : expected.clone());
    }

    private void put(ColumnFamilyHandle family, byte[] key, byte[] value) {
      try {
        writeBatch.put(family, key, value);
      } catch (RocksDBException e) {
        throw new UncheckedIOException(new IOException("batching a put", e));
      }
      size++;
    }

    @Override
    public int size() {
      return size;
    }

    @Override
    public void close() {
      writeBatch.close();
    }
  }
}
