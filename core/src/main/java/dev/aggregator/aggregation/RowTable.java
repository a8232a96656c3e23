package dev.aggregator.aggregation;

import org.agrona.collections.Int2ObjectHashMap;

/**
 * The rows of one tier held in memory: an open-addressing hash table from {@code (series, bucket)}
 * to a {@link RollupRow}. Keys pack the series id above the bucket index, which is non-negative (no
 * events before 1970) and below 2^36 (2,000 years of seconds), leaving 27 bits (134 million) for
 * series ids.
 *
 * <p>Not thread-safe: {@link RollupEngine} guards it.
 */
final class RowTable {
  static final int BUCKET_BITS = 36; // 1 s buckets to the year 4147
  static final long BUCKET_MASK = (1L << BUCKET_BITS) - 1;

  /** Series ids that fit in a key. */
  static final int MAX_SERIES = 1 << (63 - BUCKET_BITS);

  private static final long FREE = -1L;
  private static final float LOAD = 0.6f;

  private long[] keys;
  private RollupRow[] rows;
  private int size;
  private int mask;
  private int resizeAt;
  private long minBucket = Long.MAX_VALUE;
  private long maxBucket = Long.MIN_VALUE;

  /** Keys by series: lets a coarse tier roll this table's rows of one series up on the fly. */
  private final Int2ObjectHashMap<long[]> bySeries;

  /**
   * @param indexSeries whether to keep the keys of each series (only the finest full tier needs
   *     them, for rolling up; it costs a map update per new row)
   */
  RowTable(int initialCapacity, boolean indexSeries) {
    this.bySeries = indexSeries ? new Int2ObjectHashMap<>() : null;
    allocate(Integer.highestOneBit(Math.max(16, initialCapacity) * 2 - 1));
  }

  static long key(int series, long bucket) {
    return ((long) series << BUCKET_BITS) | bucket;
  }

  static int seriesOf(long key) {
    return (int) (key >>> BUCKET_BITS);
  }

  static long bucketOf(long key) {
    return key & BUCKET_MASK;
  }

  int size() {
    return size;
  }

  /** Lowest and highest bucket held, for skipping lookups outside them. */
  long minBucket() {
    return minBucket;
  }

  long maxBucket() {
    return maxBucket;
  }

  /** The row at {@code key}, or null. */
  RollupRow get(long key) {
    int mask = this.mask;
    for (int i = (int) mix(key) & mask; ; i = (i + 1) & mask) {
      long k = keys[i];
      if (k == key) {
        return rows[i];
      }
      if (k == FREE) {
        return null;
      }
    }
  }

  /** The row at {@code key}, created empty if absent. */
  RollupRow getOrCreate(long key) {
    for (int i = (int) mix(key) & mask; ; i = (i + 1) & mask) {
      long k = keys[i];
      if (k == key) {
        return rows[i];
      }
      if (k == FREE) {
        if (size >= resizeAt) {
          grow();
          return getOrCreate(key);
        }
        RollupRow row = new RollupRow();
        keys[i] = key;
        rows[i] = row;
        size++;
        long bucket = bucketOf(key);
        minBucket = Math.min(minBucket, bucket);
        maxBucket = Math.max(maxBucket, bucket);
        index(key);
        return row;
      }
    }
  }

  private void index(long key) {
    if (bySeries == null) {
      return;
    }
    int series = seriesOf(key);
    long[] list = bySeries.get(series);
    if (list == null) {
      list = new long[] {1, key, 0, 0}; // [count, keys...]
      bySeries.put(series, list);
      return;
    }
    int n = (int) list[0];
    if (n + 1 == list.length) {
      list = java.util.Arrays.copyOf(list, list.length * 2);
      bySeries.put(series, list);
    }
    list[n + 1] = key;
    list[0] = n + 1;
  }

  /** Visits the rows of {@code series} (unordered). */
  void forEachOf(int series, Visitor visitor) {
    if (bySeries == null) {
      throw new IllegalStateException("this table keeps no series index");
    }
    long[] list = bySeries.get(series);
    if (list == null) {
      return;
    }
    int n = (int) list[0];
    for (int i = 1; i <= n; i++) {
      visitor.visit(list[i], get(list[i]));
    }
  }

  /** Receives rows with their keys. */
  @FunctionalInterface
  interface Visitor {
    void visit(long key, RollupRow row);
  }

  /** Visits every row (unordered). */
  void forEach(Visitor visitor) {
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != FREE) {
        visitor.visit(keys[i], rows[i]);
      }
    }
  }

  /** Drops rows whose bucket is before {@code cutoffBucket}; returns how many. */
  int removeBefore(long cutoffBucket) {
    if (minBucket >= cutoffBucket) {
      return 0;
    }
    long[] oldKeys = keys;
    RollupRow[] oldRows = rows;
    int before = size;
    allocate(keys.length);
    minBucket = Long.MAX_VALUE;
    maxBucket = Long.MIN_VALUE;
    if (bySeries != null) {
      bySeries.clear();
    }
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != FREE && bucketOf(oldKeys[i]) >= cutoffBucket) {
        put(oldKeys[i], oldRows[i]);
        index(oldKeys[i]);
      }
    }
    return before - size;
  }

  /**
   * Approximate heap bytes of the table and its rows with their sketches: the slots, the series
   * index, and the mean size of up to {@value #SAMPLE} rows (read from a rotating position) times
   * the row count. Cheap enough to call once per batch; the rows of one table are alike enough
   * (same tier, similar events) for a sample to be within a few percent.
   */
  long estimatedBytes() {
    long fixed = (long) keys.length * 12 + (long) size * 8;
    if (size == 0) {
      return fixed;
    }
    long sampled = 0;
    int seen = 0;
    int i = sampleFrom & mask;
    for (int visited = 0; visited <= mask && seen < SAMPLE; visited++, i = (i + 1) & mask) {
      if (keys[i] != FREE) {
        sampled += rows[i].heapBytes();
        seen++;
      }
    }
    sampleFrom = i + (mask >>> 3) + 1; // the next call samples elsewhere
    return fixed + sampled * size / seen;
  }

  private static final int SAMPLE = 256;
  private int sampleFrom;

  private void put(long key, RollupRow row) {
    int i = (int) mix(key) & mask;
    while (keys[i] != FREE) {
      i = (i + 1) & mask;
    }
    keys[i] = key;
    rows[i] = row;
    size++;
    long bucket = bucketOf(key);
    minBucket = Math.min(minBucket, bucket);
    maxBucket = Math.max(maxBucket, bucket);
  }

  private void grow() {
    long[] oldKeys = keys;
    RollupRow[] oldRows = rows;
    allocate(keys.length * 2);
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != FREE) {
        put(oldKeys[i], oldRows[i]);
      }
    }
  }

  private void allocate(int capacity) {
    keys = new long[capacity];
    java.util.Arrays.fill(keys, FREE);
    rows = new RollupRow[capacity];
    size = 0;
    mask = capacity - 1;
    resizeAt = (int) (capacity * LOAD);
  }

  /** MurmurHash3's fmix64: consecutive buckets of one series spread over the table. */
  private static long mix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }
}
