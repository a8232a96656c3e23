package dev.aggregator.aggregation;

import java.util.Arrays;

/**
 * The buckets of one tier: an open-addressing hash table from {@code (series, bucket)} to an exact
 * {@link Stats}, stored column by column.
 *
 * <p>Hand-written rather than a library map because the values live in the table's own primitive
 * columns: no object per bucket, ~40 bytes each plus free slots, and an update is one probe. Keys
 * pack the series id above the bucket index, which is non-negative (events before 1970 are
 * rejected) and below 2^40 (34,000 years of seconds).
 *
 * <p>Not thread-safe: {@link RollupEngine} guards it.
 */
final class BucketTable {
  static final int BUCKET_BITS = 40;
  static final long BUCKET_MASK = (1L << BUCKET_BITS) - 1;
  static final int MAX_SERIES = 1 << (63 - BUCKET_BITS);
  private static final long FREE = -1L;
  private static final float LOAD = 0.6f;

  private long[] keys;
  private long[] counts;
  private double[] sums;
  private double[] mins;
  private double[] maxs;
  private int size;
  private int mask;
  private int resizeAt;
  private long oldestBucket = Long.MAX_VALUE;

  BucketTable(int initialCapacity) {
    allocate(Integer.highestOneBit(Math.max(16, initialCapacity) * 2 - 1));
  }

  static long key(int series, long bucket) {
    return ((long) series << BUCKET_BITS) | bucket;
  }

  int size() {
    return size;
  }

  /** Counts one event without a value (the count metric of an event type). */
  void addCount(long key) {
    int s = slot(key); // before touching a column: slot() may grow and replace the arrays
    counts[s]++;
  }

  /** Adds one value. */
  void addValue(long key, double value) {
    int s = slot(key);
    counts[s]++;
    sums[s] += value;
    if (value < mins[s]) {
      mins[s] = value;
    }
    if (value > maxs[s]) {
      maxs[s] = value;
    }
  }

  /** Merges the bucket at {@code key} into {@code into}; returns false if there is none. */
  boolean read(long key, Stats into) {
    int s = find(key);
    if (s < 0) {
      return false;
    }
    into.merge(counts[s], sums[s], mins[s], maxs[s]);
    return true;
  }

  /** Drops every bucket older than {@code cutoffBucket}; returns how many. */
  int removeBefore(long cutoffBucket) {
    if (oldestBucket >= cutoffBucket) {
      return 0;
    }
    long[] oldKeys = keys;
    long[] oldCounts = counts;
    double[] oldSums = sums;
    double[] oldMins = mins;
    double[] oldMaxs = maxs;
    int before = size;
    allocate(keys.length);
    oldestBucket = Long.MAX_VALUE;
    for (int i = 0; i < oldKeys.length; i++) {
      long k = oldKeys[i];
      if (k != FREE && (k & BUCKET_MASK) >= cutoffBucket) {
        int s = slot(k);
        counts[s] = oldCounts[i];
        sums[s] = oldSums[i];
        mins[s] = oldMins[i];
        maxs[s] = oldMaxs[i];
      }
    }
    return before - size;
  }

  /** Bytes held by the table's arrays. */
  long memoryBytes() {
    return (long) keys.length * (8 + 8 + 8 + 8 + 8);
  }

  private int find(long key) {
    int i = (int) mix(key) & mask;
    while (true) {
      long k = keys[i];
      if (k == key) {
        return i;
      }
      if (k == FREE) {
        return -1;
      }
      i = (i + 1) & mask;
    }
  }

  /** The slot of {@code key}, inserting an empty bucket if needed. */
  private int slot(long key) {
    int i = (int) mix(key) & mask;
    while (true) {
      long k = keys[i];
      if (k == key) {
        return i;
      }
      if (k == FREE) {
        if (size >= resizeAt) {
          grow();
          return slot(key);
        }
        keys[i] = key;
        mins[i] = Double.POSITIVE_INFINITY;
        maxs[i] = Double.NEGATIVE_INFINITY;
        size++;
        long bucket = key & BUCKET_MASK;
        if (bucket < oldestBucket) {
          oldestBucket = bucket;
        }
        return i;
      }
      i = (i + 1) & mask;
    }
  }

  private void grow() {
    long[] oldKeys = keys;
    long[] oldCounts = counts;
    double[] oldSums = sums;
    double[] oldMins = mins;
    double[] oldMaxs = maxs;
    allocate(keys.length * 2);
    for (int i = 0; i < oldKeys.length; i++) {
      long k = oldKeys[i];
      if (k != FREE) {
        int s = slot(k);
        counts[s] = oldCounts[i];
        sums[s] = oldSums[i];
        mins[s] = oldMins[i];
        maxs[s] = oldMaxs[i];
      }
    }
  }

  private void allocate(int capacity) {
    keys = new long[capacity];
    Arrays.fill(keys, FREE);
    counts = new long[capacity];
    sums = new double[capacity];
    mins = new double[capacity];
    maxs = new double[capacity];
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
