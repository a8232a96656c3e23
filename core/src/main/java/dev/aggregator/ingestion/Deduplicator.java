package dev.aggregator.ingestion;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Remembers the client ids accepted within the dedup window, so a retried event is acknowledged as
 * a duplicate instead of being counted twice.
 *
 * <p>Ids are kept as 64-bit hashes in one open-addressing table, each tagged with the generation of
 * its arrival: generations are a quarter of the window long, and a whole generation expires at once
 * by moving the oldest live one forward, so an id is remembered for at least the window and at most
 * a quarter longer and expiry costs nothing per event. Expired entries are reused by later inserts
 * and dropped when the table is rebuilt. One table rather than a set per generation: a new id (99 %
 * of lookups) costs one probe sequence instead of one per generation, each a cache miss.
 *
 * <p>Memory is bounded by {@code maxIds} (~22 bytes each with free slots: 110 MB for the default 5
 * million): a generation that fills a quarter of it is followed by a new one early, and past {@code
 * maxIds} the oldest generation goes, which shortens the effective window and is counted ({@link
 * #evictedEarly()}).
 *
 * <p>Thread-safe; {@link #markAllIfNew} takes the lock once per batch.
 */
public final class Deduplicator {
  private static final int GENERATIONS = 4;
  private static final long EMPTY = 0;

  /** Stands in for a hash that is 0, which marks empty slots. */
  private static final long ZERO_HASH = 0x9E3779B97F4A7C15L;

  /** Rebuilt past this load of live and expired entries; probes for a miss stay ~4 on average. */
  private static final float MAX_LOAD = 0.75f;

  /** Live entries at most per slot at full size: leaves a fifth of the table between rebuilds. */
  private static final float FULL_LOAD = 0.55f;

  private final long windowMillis;
  private final long generationMillis;
  private final long maxIds;
  private final int maxCapacity;
  private final Deque<Generation> generations = new ArrayDeque<>();
  private long[] keys;
  private int[] tags;
  private int used; // slots holding an entry, live or expired
  private int nextSerial;
  private int oldestLive; // entries tagged below this serial are expired
  private long size;
  private long evictedEarly;

  private static final class Generation {
    final long start;
    final int serial;
    long count;

    Generation(long start, int serial) {
      this.start = start;
      this.serial = serial;
    }
  }

  /**
   * @param window how long an accepted id is remembered (default 24 h)
   * @param maxIds ids remembered at most, across the window (default 5,000,000)
   */
  public Deduplicator(Duration window, long maxIds) {
    if (window.toMillis() < GENERATIONS || maxIds < 1) {
      throw new IllegalArgumentException("dedup window and capacity must be positive");
    }
    // Whole generations: if the window were not a multiple of them, the oldest one could be
    // dropped while an id in it was still inside the window. Rounds the window up by < 4 ms.
    this.generationMillis = (window.toMillis() + GENERATIONS - 1) / GENERATIONS;
    this.windowMillis = generationMillis * GENERATIONS;
    this.maxIds = maxIds;
    this.maxCapacity = (int) Math.min(1 << 30, (long) Math.ceil(maxIds / (double) FULL_LOAD) + 16);
    allocate(Math.min(1024, maxCapacity));
  }

  /**
   * Records {@code idHash} as accepted at {@code arrivalMillis} unless it was accepted before
   * within the window.
   *
   * @return true if the id is new (the event should be kept), false if it is a duplicate
   */
  public synchronized boolean markIfNew(long idHash, long arrivalMillis) {
    return mark(idHash, arrivalMillis);
  }

  /**
   * {@link #markIfNew} for a batch under one lock: for each {@code i} with {@code present[i]}, sets
   * {@code duplicate[i]}; returns how many were duplicates.
   */
  public synchronized int markAllIfNew(
      long[] idHashes, boolean[] present, long arrivalMillis, boolean[] duplicate) {
    int duplicates = 0;
    for (int i = 0; i < idHashes.length; i++) {
      if (present[i] && !mark(idHashes[i], arrivalMillis)) {
        duplicate[i] = true;
        duplicates++;
      }
    }
    return duplicates;
  }

  private boolean mark(long idHash, long arrivalMillis) {
    long key = idHash == EMPTY ? ZERO_HASH : idHash;
    // Expire before looking: otherwise an id accepted long ago counts as a duplicate until some
    // newer arrival happens to expire its generation (after a quiet spell, the first retry).
    Generation current = generationFor(arrivalMillis);
    int reusable = -1;
    int i = slotOf(key);
    while (keys[i] != EMPTY) {
      boolean live = tags[i] >= oldestLive;
      if (live && keys[i] == key) {
        return false;
      }
      if (!live && reusable < 0) {
        reusable = i;
      }
      i = next(i);
    }
    if (current == null) {
      return true; // arrived before the window: nothing to remember it against
    }
    if (current == generations.peekLast() && current.count >= Math.max(1, maxIds / GENERATIONS)) {
      // Full before its time is up: a burst of ids. Start the next generation now so the oldest
      // can go whole, keeping memory within maxIds whatever the rate.
      current = new Generation(current.start, nextSerial++);
      generations.addLast(current);
    }
    int slot = reusable >= 0 ? reusable : i;
    if (slot == i) {
      used++;
    }
    keys[slot] = key;
    tags[slot] = current.serial;
    current.count++;
    size++;
    while (size > maxIds && generations.size() > 1) {
      Generation oldest = generations.removeFirst();
      size -= oldest.count;
      evictedEarly += oldest.count;
      oldestLive = generations.peekFirst().serial;
    }
    if (used >= (int) (keys.length * MAX_LOAD)) {
      rebuild();
    }
    return true;
  }

  /** Forgets an id marked by {@link #markIfNew} whose event could not be made durable after all. */
  public synchronized void forget(long idHash) {
    int i = find(idHash == EMPTY ? ZERO_HASH : idHash);
    if (i < 0) {
      return;
    }
    for (Generation g : generations) {
      if (g.serial == tags[i]) {
        g.count--;
        break;
      }
    }
    tags[i] = Integer.MIN_VALUE; // expired: below every live serial
    size--;
  }

  /** Whether {@code idHash} is remembered. */
  public synchronized boolean contains(long idHash) {
    return find(idHash == EMPTY ? ZERO_HASH : idHash) >= 0;
  }

  /** Ids remembered now. */
  public synchronized long size() {
    return size;
  }

  /** Ids dropped before their window ended because {@code maxIds} was reached. */
  public synchronized long evictedEarly() {
    return evictedEarly;
  }

  private int find(long key) {
    for (int i = slotOf(key); keys[i] != EMPTY; i = next(i)) {
      if (keys[i] == key && tags[i] >= oldestLive) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The generation that holds ids arriving at {@code arrival}, expiring old ones; null if the
   * arrival is older than the window.
   */
  private Generation generationFor(long arrival) {
    long start = Math.floorDiv(arrival, generationMillis) * generationMillis;
    Generation newest = generations.peekLast();
    if (newest == null || start > newest.start) {
      newest = new Generation(start, nextSerial++);
      generations.addLast(newest);
    }
    // Expire by the newest arrival seen, so replaying an old log expires exactly as live did.
    long horizon = newest.start - windowMillis;
    while (generations.size() > 1 && generations.peekFirst().start < horizon) {
      size -= generations.removeFirst().count;
      oldestLive = generations.peekFirst().serial;
    }
    if (start < horizon) {
      return null;
    }
    if (start >= newest.start) {
      return newest;
    }
    // An older arrival (the clock stepped back, or a slow request): the generation of its time
    // slice, or the closest older one still live.
    Generation closest = generations.peekFirst();
    for (Generation g : generations) {
      if (g.start <= start) {
        closest = g;
      }
    }
    return closest;
  }

  /** Rehashes the live entries, dropping expired ones; doubles the table while under its cap. */
  private void rebuild() {
    long[] oldKeys = keys;
    int[] oldTags = tags;
    int capacity = keys.length;
    if (size >= capacity * (MAX_LOAD / 2)) {
      capacity = (int) Math.min(maxCapacity, capacity * 2L);
    }
    allocate(capacity);
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != EMPTY && oldTags[i] >= oldestLive) {
        int s = slotOf(oldKeys[i]);
        while (keys[s] != EMPTY) {
          s = next(s);
        }
        keys[s] = oldKeys[i];
        tags[s] = oldTags[i];
        used++;
      }
    }
  }

  private void allocate(int capacity) {
    keys = new long[capacity];
    tags = new int[capacity]; // zeroed by the JVM: every slot starts EMPTY
    used = 0;
  }

  /** Maps the key onto any table size (Lemire's multiply-shift), not only powers of two. */
  private int slotOf(long key) {
    long k = key;
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    return (int) (((k & 0xFFFF_FFFFL) * keys.length) >>> 32);
  }

  private int next(int i) {
    return i + 1 == keys.length ? 0 : i + 1;
  }
}
