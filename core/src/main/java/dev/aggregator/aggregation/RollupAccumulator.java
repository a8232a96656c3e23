package dev.aggregator.aggregation;

import dev.aggregator.aggregation.RollupEngine.Outcome;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.Hashing;
import dev.aggregator.event.PropertyKind;
import java.util.Arrays;
import java.util.List;

/**
 * The per-event work of the rollups, with no lock, store, clock or thread: {@link #add} resolves an
 * event against the {@link Catalog} (its type, the series of each dimension value it carries and of
 * each declared combination it completes, its numeric fields) and notes the row updates it needs;
 * {@link #applyTo} then applies the noted updates of one shard to that shard's tables. Rows are
 * mergeable, so shards never share a row: a series belongs to shard {@code series % shards}, the
 * same keying a partitioned runner (a Flink job keyed by series) uses.
 *
 * <p>The two phases are separate so that the catalog (one writer: it assigns series ids) is touched
 * by one thread while the row updates — most of the cost: a hash probe and a user-sketch update per
 * row, seven rows per standard event — run on as many threads as there are shards.
 *
 * <pre>{@code
 * RollupAccumulator acc = new RollupAccumulator(tiers, catalog);
 * for (int i = 0; i < batch.size(); i++) {
 *   Event e = batch.get(i);
 *   outcome = acc.add(i, e, covering(e.timestamp(), cutoffs), watermark - lateness);
 * }
 * acc.applyTo(tablesOfShard0, 0, 2);  // on one thread
 * acc.applyTo(tablesOfShard1, 1, 2);  // on another, meanwhile
 * acc.clear();
 * }</pre>
 *
 * <p>Not thread-safe, except that {@link #applyTo} may run concurrently for different shards once
 * every {@link #add} of the batch has returned.
 */
final class RollupAccumulator {
  private final List<Tier> tiers;
  private final Catalog catalog;
  private final int finestFull;
  private final boolean[] derived;

  // Per-event scratch of the resolving phase.
  private final int[] tuple;
  private final int[] combination;

  // The batch's noted updates: event i updates tiers tierMask[i] at time[i], series total[i] and
  // series[seriesStart[i]..seriesStart[i + 1]), with fields [fieldStart[i]..fieldStart[i + 1]).
  private int count;
  private int[] batchIndex = new int[1024];
  private int[] tierMask = new int[1024];
  private long[] time = new long[1024];
  private long[] user = new long[1024];
  private boolean[] hasUser = new boolean[1024];
  private int[] total = new int[1024];
  private int[] seriesStart = new int[1025];
  private int[] series = new int[8192];
  private int[] fieldStart = new int[1025];
  private int[] fieldIndex = new int[1024];
  private double[] fieldValue = new double[1024];

  RollupAccumulator(List<Tier> tiers, Catalog catalog, int finestFull, boolean[] derived) {
    this.tiers = tiers;
    this.catalog = catalog;
    this.finestFull = finestFull;
    this.derived = derived;
    this.tuple = new int[catalog.limits().maxDimensions() + 1];
    this.combination = new int[catalog.limits().maxDimensions() + 1];
  }

  /** The shard a series' rows live in. */
  static int shardOf(int series, int shards) {
    return series % shards;
  }

  /** The tiers (a bit per tier) whose retention covers {@code ts}. */
  static int covering(long ts, long[] cutoffs) {
    int covering = 0;
    for (int i = 0; i < cutoffs.length; i++) {
      if (ts >= cutoffs[i]) {
        covering |= 1 << i;
      }
    }
    return covering;
  }

  /**
   * Rows an event may add: its total in every covering tier; in full ones, a marginal per dimension
   * and a series per declared combination, at most.
   */
  int rowsNeeded(int covering, Event e) {
    int full = 2 + e.properties().size() + catalog.limits().combinations().size();
    int n = 0;
    for (int i = 0; i < tiers.size(); i++) {
      if ((covering & (1 << i)) != 0) {
        n += tiers.get(i).totalsOnly() ? 1 : full;
      }
    }
    return n;
  }

  /** Events noted since the last {@link #clear}. */
  int size() {
    return count;
  }

  /**
   * Resolves {@code e} and notes its row updates (none unless the outcome is AGGREGATED or LATE);
   * updates its type's statistics in the catalog.
   *
   * @param index its index in the batch, which {@link #applyTo} reports failures by
   * @param covering the tiers that cover its time ({@link #covering})
   * @param lateBefore event times below it are late (the watermark minus the lateness allowance)
   */
  Outcome add(int index, Event e, int covering, long lateBefore) {
    if (covering == 0) {
      return Outcome.EXPIRED;
    }
    EventSchema schema = catalog.schemaFor(e.eventType());
    if (schema == null
        || catalog.nextSeriesId() >= RowTable.MAX_SERIES - 2L * catalog.seriesIds().partitions()) {
      return Outcome.FAILED;
    }
    int i = count;
    ensureEvents(i + 2);
    int s0 = seriesStart[i];
    int s1 = seriesOf(schema, e, s0);
    int f1 = fieldsOf(schema, e.properties(), fieldStart[i]);
    long ts = e.timestamp();
    // Coarser full tiers are rolled up from the finest one at checkpoints; an event updates them
    // directly only when the finest one does not cover its time any more.
    boolean finestCovers = finestFull >= 0 && (covering & (1 << finestFull)) != 0;
    int mask = covering;
    for (int t = 0; t < tiers.size(); t++) {
      if (derived[t] && finestCovers) {
        mask &= ~(1 << t);
      }
    }
    batchIndex[i] = index;
    tierMask[i] = mask;
    time[i] = ts;
    hasUser[i] = e.userId() != null;
    user[i] = hasUser[i] ? Hashing.hash64(e.userId()) : 0;
    total[i] = schema.totalSeries;
    seriesStart[i + 1] = s1;
    fieldStart[i + 1] = f1;
    count = i + 1;
    schema.events++;
    schema.firstSeen = Math.min(schema.firstSeen, ts);
    schema.lastSeen = Math.max(schema.lastSeen, ts);
    catalog.touched(schema);
    return ts < lateBefore ? Outcome.LATE : Outcome.AGGREGATED;
  }

  /**
   * Applies the noted updates of shard {@code shard} of {@code shards} to {@code tables} (that
   * shard's table per tier). Returns the batch indexes of events whose update failed (a bug, logged
   * here), or null if none did.
   */
  int[] applyTo(RowTable[] tables, int shard, int shards) {
    int[] failed = null;
    int failures = 0;
    for (int i = 0; i < count; i++) {
      try {
        applyOne(tables, shard, shards, i);
      } catch (RuntimeException ex) {
        org.slf4j.LoggerFactory.getLogger(RollupAccumulator.class)
            .error("aggregating an event into shard {} failed", shard, ex);
        if (failed == null) {
          failed = new int[4];
        } else if (failures == failed.length) {
          failed = Arrays.copyOf(failed, failures * 2);
        }
        failed[failures++] = batchIndex[i];
      }
    }
    return failed == null ? null : Arrays.copyOf(failed, failures);
  }

  private void applyOne(RowTable[] tables, int shard, int shards, int i) {
    int mask = tierMask[i];
    long ts = time[i];
    boolean users = hasUser[i];
    long userHash = user[i];
    int f0 = fieldStart[i];
    int fields = fieldStart[i + 1] - f0;
    boolean ownsTotal = shardOf(total[i], shards) == shard;
    for (int t = 0; t < tables.length; t++) {
      if ((mask & (1 << t)) == 0) {
        continue;
      }
      Tier tier = tiers.get(t);
      long bucket = tier.resolution().bucketIndex(ts);
      RowTable table = tables[t];
      boolean sketches = !tier.totalsOnly();
      if (ownsTotal) {
        table
            .getOrCreate(RowTable.key(total[i], bucket))
            .add(fieldIndex, fieldValue, f0, fields, sketches, sketches && users, userHash);
      }
      if (sketches) {
        // Value sketches (percentiles) only in the total: a KLL update per field per row was the
        // largest per-event cost of the marginals (BENCHMARKS.md), and a filtered percentile is
        // exact from the raw events.
        for (int k = seriesStart[i], end = seriesStart[i + 1]; k < end; k++) {
          int s = series[k];
          if (shardOf(s, shards) == shard) {
            table
                .getOrCreate(RowTable.key(s, bucket))
                .add(fieldIndex, fieldValue, f0, fields, false, users, userHash);
          }
        }
      }
    }
  }

  /** Forgets the noted updates (after every shard has applied them). */
  void clear() {
    count = 0;
  }

  private void ensureEvents(int n) {
    if (n > tierMask.length) {
      int c = Math.max(n, tierMask.length * 2);
      batchIndex = Arrays.copyOf(batchIndex, c);
      tierMask = Arrays.copyOf(tierMask, c);
      time = Arrays.copyOf(time, c);
      user = Arrays.copyOf(user, c);
      hasUser = Arrays.copyOf(hasUser, c);
      total = Arrays.copyOf(total, c);
      seriesStart = Arrays.copyOf(seriesStart, c + 1);
      fieldStart = Arrays.copyOf(fieldStart, c + 1);
    }
  }

  /**
   * Notes, from {@code at} on, the series the event updates besides its type's total: the marginal
   * series of each dimension value it carries (its source and string/boolean properties) and the
   * series of each declared combination whose values it all carries; returns the end.
   */
  private int seriesOf(EventSchema schema, Event e, int at) {
    Arrays.fill(tuple, 0, tuple.length, EventSchema.ABSENT);
    int length = 0;
    int carried = 0;
    int d = catalog.dimension(schema, RollupEngine.SOURCE);
    if (d >= 0) {
      tuple[d] = catalog.valueCode(schema, d, e.source());
      length = Math.max(length, d + 1);
      carried++;
    }
    EventProperties p = e.properties();
    for (int i = 0; i < p.size(); i++) {
      PropertyKind kind = p.kind(i);
      if (kind == PropertyKind.NUMBER || p.key(i).equals(RollupEngine.SOURCE)) {
        continue; // numbers are fields; the event's own source shadows a property of that name
      }
      d = catalog.dimension(schema, p.key(i));
      if (d >= 0 && tuple[d] == EventSchema.ABSENT) { // a repeated key counts once
        tuple[d] = catalog.valueCode(schema, d, p.string(i));
        length = Math.max(length, d + 1);
        carried++;
      }
    }
    if (carried < schema.dimensions.size()) {
      for (int k = 0; k < schema.dimensions.size(); k++) {
        if (k >= length || tuple[k] == EventSchema.ABSENT) {
          catalog.markSparse(schema, k);
        }
      }
    }
    int n = at;
    for (int k = 0; k < length; k++) {
      if (tuple[k] > 0) { // code 0: past the dimension's cap, in no series
        n = push(n, Catalog.marginal(schema, k, tuple[k]));
      }
    }
    if (schema.combinationShapes.length > 0) {
      for (long shape : schema.combinationShapes) {
        int len = 64 - Long.numberOfLeadingZeros(shape);
        boolean complete = true;
        for (int k = 0; k < len; k++) {
          boolean in = (shape & (1L << k)) != 0;
          int code = in && k < length ? tuple[k] : EventSchema.ABSENT;
          if (in && code <= 0) {
            complete = false;
            break;
          }
          combination[k] = code;
        }
        int id = complete ? catalog.combination(schema, shape, combination, len) : -1;
        if (id >= 0) {
          n = push(n, id);
        }
      }
    }
    return n;
  }

  private int push(int n, int s) {
    if (n == series.length) {
      series = Arrays.copyOf(series, n * 2);
    }
    series[n] = s;
    return n + 1;
  }

  /** Notes, from {@code at} on, the event's numeric properties; returns the end. */
  private int fieldsOf(EventSchema schema, EventProperties p, int at) {
    int n = at;
    for (int i = 0; i < p.size(); i++) {
      if (p.kind(i) != PropertyKind.NUMBER) {
        continue;
      }
      int f = catalog.field(schema, p.key(i));
      if (f < 0) {
        continue;
      }
      if (n == fieldIndex.length) {
        fieldIndex = Arrays.copyOf(fieldIndex, n * 2);
        fieldValue = Arrays.copyOf(fieldValue, n * 2);
      }
      fieldIndex[n] = f;
      fieldValue[n] = p.number(i);
      n++;
    }
    return n;
  }
}
