package dev.aggregator.aggregation;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.PropertyKind;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * Event-time rollups in memory: for every event, O(1) updates to the count series of its type and
 * the field series of its numeric properties, in every tier whose retention covers its timestamp.
 *
 * <p>Out-of-order, late and historical events need nothing special: an event lands in the bucket
 * its timestamp names, whenever it arrives. One writer applies batches under the write lock;
 * queries read under the read lock ({@link #read}).
 *
 * <pre>{@code
 * RollupEngine engine = new RollupEngine(Tier.DEFAULTS, 10_000_000, Duration.ofMinutes(1));
 * engine.apply(events, System.currentTimeMillis(), (event, outcome) -> {});
 * Stats s = engine.read(r -> { ... r.read(tier, series, bucket, stats) ... });
 * }</pre>
 */
public final class RollupEngine {
  /** What became of one event. */
  public enum Outcome {
    /** Counted in every tier that covers its time. */
    AGGREGATED,
    /** Counted, but behind the watermark by more than the lateness allowance. */
    LATE,
    /** Older than every tier's retention: not counted. */
    EXPIRED,
    /** Not counted: the rollups are at their configured memory bound. */
    FAILED
  }

  /** Receives the outcome of each event of a batch. */
  @FunctionalInterface
  public interface OutcomeSink {
    void accept(int index, Event event, Outcome outcome);
  }

  private final List<Tier> tiers;
  private final BucketTable[] tables;
  private final long[] cutoffs;
  private final MetricCatalog catalog = new MetricCatalog();
  private final long maxBuckets;
  private final long latenessMillis;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Reader reader = new Reader();
  private long watermark = Long.MIN_VALUE;

  /**
   * @param tiers the resolutions kept, finest first
   * @param maxBuckets buckets held across all tiers, at most; events that would need more fail
   * @param lateness how far behind the newest event time an event may arrive before it is late
   */
  public RollupEngine(List<Tier> tiers, long maxBuckets, Duration lateness) {
    this.tiers = List.copyOf(tiers);
    this.tables = new BucketTable[tiers.size()];
    for (int i = 0; i < tables.length; i++) {
      tables[i] = new BucketTable(1024);
    }
    this.cutoffs = new long[tiers.size()];
    this.maxBuckets = maxBuckets;
    this.latenessMillis = lateness.toMillis();
  }

  public List<Tier> tiers() {
    return tiers;
  }

  /** Applies a batch under one write lock; {@code sink} learns each event's outcome. */
  public void apply(List<Event> events, long nowMillis, OutcomeSink sink) {
    lock.writeLock().lock();
    try {
      for (int i = 0; i < cutoffs.length; i++) {
        cutoffs[i] = tiers.get(i).cutoff(nowMillis);
      }
      for (int i = 0; i < events.size(); i++) {
        Event e = events.get(i);
        sink.accept(i, e, applyOne(e));
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  private Outcome applyOne(Event e) {
    long ts = e.timestamp();
    int covering = 0;
    for (int i = 0; i < tables.length; i++) {
      if (ts >= cutoffs[i]) {
        covering |= 1 << i;
      }
    }
    if (covering == 0) {
      return Outcome.EXPIRED;
    }
    EventProperties props = e.properties();
    int numbers = 0;
    for (int p = 0; p < props.size(); p++) {
      if (props.kind(p) == PropertyKind.NUMBER) {
        numbers++;
      }
    }
    if (bucketCount() + (long) Integer.bitCount(covering) * (1 + numbers) > maxBuckets
        || catalog.full(1 + numbers)) {
      return Outcome.FAILED;
    }
    MetricCatalog.EventType type = catalog.eventType(e.eventType());
    for (int i = 0; i < tables.length; i++) {
      if ((covering & (1 << i)) != 0) {
        long bucket = tiers.get(i).resolution().bucketIndex(ts);
        tables[i].addCount(BucketTable.key(type.countSeries, bucket));
      }
    }
    for (int p = 0; p < props.size(); p++) {
      if (props.kind(p) != PropertyKind.NUMBER) {
        continue;
      }
      int series = catalog.fieldSeries(type, props.key(p));
      double value = props.number(p);
      for (int i = 0; i < tables.length; i++) {
        if ((covering & (1 << i)) != 0) {
          long bucket = tiers.get(i).resolution().bucketIndex(ts);
          tables[i].addValue(BucketTable.key(series, bucket), value);
        }
      }
    }
    type.events++;
    type.firstSeen = Math.min(type.firstSeen, ts);
    type.lastSeen = Math.max(type.lastSeen, ts);
    boolean late = watermark != Long.MIN_VALUE && ts < watermark - latenessMillis;
    watermark = Math.max(watermark, ts);
    return late ? Outcome.LATE : Outcome.AGGREGATED;
  }

  /** Drops buckets that have fallen out of their tier's retention; returns how many. */
  public int expire(long nowMillis) {
    lock.writeLock().lock();
    try {
      int removed = 0;
      for (int i = 0; i < tables.length; i++) {
        Tier tier = tiers.get(i);
        if (!tier.keepsForever()) {
          long cutoffBucket = tier.resolution().bucketIndex(tier.cutoff(nowMillis));
          removed += tables[i].removeBefore(cutoffBucket);
        }
      }
      return removed;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Runs {@code query} against a consistent view of the rollups, under the read lock. */
  public <T> T read(Function<RollupReader, T> query) {
    lock.readLock().lock();
    try {
      return query.apply(reader);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Buckets held across all tiers. */
  public long bucketCount() {
    long n = 0;
    for (BucketTable t : tables) {
      n += t.size();
    }
    return n;
  }

  /**
   * Bytes held by the bucket tables. Read without the lock, like {@link #bucketCount()}: health
   * must answer even while aggregation holds or waits for the write lock.
   */
  public long memoryBytes() {
    long n = 0;
    for (BucketTable t : tables) {
      n += t.memoryBytes();
    }
    return n;
  }

  /** The newest event time applied so far, or {@link Long#MIN_VALUE}. */
  public long watermark() {
    return watermark;
  }

  private final class Reader implements RollupReader {
    @Override
    public MetricCatalog catalog() {
      return catalog;
    }

    @Override
    public List<Tier> tiers() {
      return tiers;
    }

    @Override
    public boolean read(int tier, int series, long bucketIndex, Stats into) {
      return tables[tier].read(BucketTable.key(series, bucketIndex), into);
    }
  }
}
