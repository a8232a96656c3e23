package dev.aggregator.ingestion;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import org.agrona.collections.LongHashSet;

/**
 * Remembers the client ids accepted within the dedup window, so a retried event is acknowledged as
 * a duplicate instead of being counted twice.
 *
 * <p>Ids are kept as 64-bit hashes in generations by arrival time, each a quarter of the window
 * long; a whole generation is dropped once it is older than the window, so an id is remembered for
 * at least the window and at most a quarter longer, and expiry costs nothing per event. Memory is
 * bounded by {@code maxIds} (~12 bytes each): a generation that fills a quarter of it is followed
 * by a new one early, and past {@code maxIds} the oldest generation goes, which shortens the
 * effective window and is counted ({@link #evictedEarly()}).
 *
 * <p>Thread-safe; the lock is taken once per batch.
 */
public final class Deduplicator {
  private static final int GENERATIONS = 4;

  private final long windowMillis;
  private final long generationMillis;
  private final long maxIds;
  private final Deque<Generation> generations = new ArrayDeque<>();
  private long size;
  private long evictedEarly;

  private static final class Generation {
    final long start;
    final LongHashSet ids = new LongHashSet(1024);

    Generation(long start) {
      this.start = start;
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
  }

  /**
   * Records {@code idHash} as accepted at {@code arrivalMillis} unless it was accepted before
   * within the window.
   *
   * @return true if the id is new (the event should be kept), false if it is a duplicate
   */
  public synchronized boolean markIfNew(long idHash, long arrivalMillis) {
    // Expire before looking: otherwise an id accepted long ago counts as a duplicate until some
    // newer arrival happens to expire its generation (after a quiet spell, the first retry).
    Generation current = generationFor(arrivalMillis);
    if (contains(idHash)) {
      return false;
    }
    if (current == null) {
      return true; // arrived before the window: nothing to remember it against
    }
    if (current == generations.peekLast()
        && current.ids.size() >= Math.max(1, maxIds / GENERATIONS)) {
      // Full before its time is up: a burst of ids. Start the next generation now so the oldest
      // can go whole, keeping memory within maxIds whatever the rate.
      current = new Generation(current.start);
      generations.addLast(current);
    }
    current.ids.add(idHash);
    size++;
    while (size > maxIds && generations.size() > 1) {
      Generation oldest = generations.removeFirst();
      size -= oldest.ids.size();
      evictedEarly += oldest.ids.size();
    }
    return true;
  }

  /** Forgets an id marked by {@link #markIfNew} whose event could not be made durable after all. */
  public synchronized void forget(long idHash) {
    for (Generation g : generations) {
      if (g.ids.remove(idHash)) {
        size--;
        return;
      }
    }
  }

  /** Whether {@code idHash} is remembered. */
  public synchronized boolean contains(long idHash) {
    for (Generation g : generations) {
      if (g.ids.contains(idHash)) {
        return true;
      }
    }
    return false;
  }

  /** Ids remembered now. */
  public synchronized long size() {
    return size;
  }

  /** Ids dropped before their window ended because {@code maxIds} was reached. */
  public synchronized long evictedEarly() {
    return evictedEarly;
  }

  /**
   * The generation that holds ids arriving at {@code arrival}, dropping expired ones; null if the
   * arrival is older than the window.
   */
  private Generation generationFor(long arrival) {
    long start = Math.floorDiv(arrival, generationMillis) * generationMillis;
    Generation newest = generations.peekLast();
    if (newest == null || start > newest.start) {
      newest = new Generation(start);
      generations.addLast(newest);
    }
    // Expire by the newest arrival seen, so replaying an old log expires exactly as live did.
    long horizon = newest.start + generationMillis - windowMillis - generationMillis;
    while (generations.size() > 1 && generations.peekFirst().start < horizon) {
      size -= generations.removeFirst().ids.size();
    }
    if (start < horizon) {
      return null;
    }
    if (start >= newest.start) {
      return newest;
    }
    for (Generation g : generations) {
      if (g.start == start) {
        return g;
      }
    }
    // An arrival between generations (clock stepped back): keep it with the closest older one.
    Generation closest = generations.peekFirst();
    for (Generation g : generations) {
      if (g.start <= start) {
        closest = g;
      }
    }
    return closest;
  }
}
