package dev.aggregator.aggregation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.agrona.collections.Object2IntHashMap;

/**
 * What the catalog knows of one event type: its dimensions and their values, its numeric fields,
 * and its series — a total, a <em>marginal</em> series per dimension value, and a series per
 * combination of values of each declared combination of keys.
 *
 * <p>Dimension values are coded as small ints per dimension (code 0 stands for values past the
 * dimension's cap, which have no series); a series is the tuple of its codes, one per dimension in
 * the order the dimensions were first seen, with -1 for the dimensions it does not break down and
 * trailing -1s dropped. The set of dimensions a series breaks down is its <em>shape</em> (a bit
 * mask): a marginal series has one bit, a combination's series one per key. A query reads the
 * series of exactly one shape — the one of the keys it filters and groups by — so no event is
 * counted twice; an inverted index (dimension, code) → series answers its filters.
 *
 * <p>Not thread-safe: {@link RollupEngine} writes it under its write lock; queries read it under
 * the read lock.
 */
public final class EventSchema {
  /** A tuple entry for a dimension the series' events did not carry. */
  static final int ABSENT = -1;

  final String name;
  final int totalSeries;
  final List<Dimension> dimensions = new ArrayList<>();
  // Open addressing without boxing: these are looked up for every property of every event.
  final Object2IntHashMap<String> dimensionIndex = new Object2IntHashMap<>(-1);
  final List<String> fields = new ArrayList<>();
  final Object2IntHashMap<String> fieldIndex = new Object2IntHashMap<>(-1);
  final TupleIndex tuples = new TupleIndex();

  /** By local series index: the global series id and the tuple. */
  final List<int[]> seriesTuples = new ArrayList<>();

  int[] seriesIds = new int[16];

  /** By shape: the local series of that shape, ascending (growable: sizes in shapeSizes). */
  final org.agrona.collections.Long2ObjectHashMap<int[]> shapes =
      new org.agrona.collections.Long2ObjectHashMap<>();

  final org.agrona.collections.Long2LongHashMap shapeSizes =
      new org.agrona.collections.Long2LongHashMap(0);

  /**
   * Declared combinations registered for this type, by shape: the event time from which the
   * combination's series hold every event ({@link Long#MIN_VALUE} when they always did; later when
   * the combination was declared after events with all its keys had arrived).
   */
  final org.agrona.collections.Long2LongHashMap combinations =
      new org.agrona.collections.Long2LongHashMap(Long.MAX_VALUE);

  /** The keys of {@link #combinations}, for the per-event loop. */
  long[] combinationShapes = new long[0];

  void combinationsChanged() {
    combinationShapes = new long[combinations.size()];
    int i = 0;
    for (long shape : combinations.keySet()) {
      combinationShapes[i++] = shape;
    }
    Arrays.sort(combinationShapes);
  }

  /**
   * The event time from which the marginal series hold every event: later than the first event for
   * a type carried over from a store written before marginal series existed.
   */
  long marginalsSince = Long.MIN_VALUE;

  /** Shapes of combinations that reached maxSeries: their series miss later combinations. */
  final java.util.Set<Long> cappedShapes = new java.util.HashSet<>();

  boolean dimensionsCapped;
  boolean fieldsCapped;
  long events;
  long firstSeen = Long.MAX_VALUE;
  long lastSeen = Long.MIN_VALUE;

  /** One dimension of an event type: its value dictionary and which series carry each value. */
  static final class Dimension {
    final String key;
    final Object2IntHashMap<String> codes = new Object2IntHashMap<>(-1);
    final List<String> values = new ArrayList<>(List.of(Catalog.OTHER));

    /** By code: local indexes of the series carrying it, ascending. */
    final List<int[]> postings = new ArrayList<>(List.of(new int[0]));

    final List<Integer> postingSizes = new ArrayList<>(List.of(0));

    /** By code: the local index of the value's marginal series (code 0 has none). */
    int[] marginal = new int[] {-1};

    /** UTF-8 bytes of the values kept. */
    long valueBytes;

    /** Whether values past a cap were seen (they are in no series of this dimension). */
    boolean capped;

    /** Whether some events of the type do not carry this dimension (a groupBy needs raw events). */
    boolean sparse;

    Dimension(String key) {
      this.key = key;
    }

    int cardinality() {
      return values.size() - 1;
    }

    void post(int code, int localSeries) {
      int[] list = postings.get(code);
      int n = postingSizes.get(code);
      if (n == list.length) {
        list = Arrays.copyOf(list, Math.max(4, n * 2));
        postings.set(code, list);
      }
      list[n] = localSeries;
      postingSizes.set(code, n + 1);
    }

    /** The local series carrying {@code code}, ascending. */
    int[] seriesWith(int code) {
      return Arrays.copyOf(postings.get(code), postingSizes.get(code));
    }
  }

  EventSchema(String name, int totalSeries) {
    this.name = name;
    this.totalSeries = totalSeries;
  }

  public String name() {
    return name;
  }

  /** The series holding every event of this type, whatever its dimensions. */
  public int totalSeries() {
    return totalSeries;
  }

  public long events() {
    return events;
  }

  public long firstSeen() {
    return firstSeen;
  }

  public long lastSeen() {
    return lastSeen;
  }

  /** Numeric fields, in the order first seen (a field's index is its position). */
  public List<String> fields() {
    return List.copyOf(fields);
  }

  /** The index of numeric field {@code field}, or -1. */
  public int fieldIndex(String field) {
    return fieldIndex.getValue(field);
  }

  /** Dimension keys, in the order first seen. */
  public List<String> dimensionKeys() {
    List<String> keys = new ArrayList<>(dimensions.size());
    for (Dimension d : dimensions) {
      keys.add(d.key);
    }
    return keys;
  }

  /** The distinct values of dimension {@code key} (capped), or -1 if it is not a dimension. */
  public int cardinality(String key) {
    int i = dimensionIndex.getValue(key);
    return i < 0 ? -1 : dimensions.get(i).cardinality();
  }

  /** Whether dimension {@code key} reached its value cap, folding later values into __other__. */
  public boolean isCapped(String key) {
    int i = dimensionIndex.getValue(key);
    return i >= 0 && dimensions.get(i).capped;
  }

  /**
   * Whether some events of the type lack dimension {@code key}: a breakdown by it would have a
   * group without a value, which the marginal series do not hold.
   */
  public boolean isSparse(String key) {
    int i = dimensionIndex.getValue(key);
    return i >= 0 && dimensions.get(i).sparse;
  }

  /** The shape (bit mask of dimension indexes) of {@code keys}, or -1 if one is not a dimension. */
  public long shapeOf(java.util.Collection<String> keys) {
    long mask = 0;
    for (String key : keys) {
      int d = dimensionIndex.getValue(key);
      if (d < 0 || d >= 64) {
        return -1;
      }
      mask |= 1L << d;
    }
    return mask;
  }

  /**
   * For a shape of two or more dimensions: the event time from which its series hold every event
   * that carries all its keys, or {@link Long#MAX_VALUE} when it is not a declared combination or
   * reached its cap of series; for a marginal shape (one dimension), from when marginals exist.
   */
  public long combinationSince(long shape) {
    if (shape == 0) {
      return Long.MIN_VALUE;
    }
    if (Long.bitCount(shape) == 1) {
      return marginalsSince;
    }
    return cappedShapes.contains(shape) ? Long.MAX_VALUE : combinations.get(shape);
  }

  /** Whether any declared combination of the type reached maxSeries. */
  public boolean combinationsCapped() {
    return !cappedShapes.isEmpty();
  }

  /** The local series of {@code shape}, ascending. */
  public int[] seriesOfShape(long shape) {
    int[] list = shapes.get(shape);
    return list == null ? new int[0] : Arrays.copyOf(list, (int) shapeSizes.get(shape));
  }

  /** The code of {@code value} in dimension {@code key}: -1 if unknown, 0 for none. */
  public int codeOf(String key, String value) {
    int d = dimensionIndex.getValue(key);
    return d < 0 ? -1 : dimensions.get(d).codes.getValue(value);
  }

  /** Whether further dimension keys or numeric fields were ignored at their caps. */
  public boolean dimensionsCapped() {
    return dimensionsCapped;
  }

  public boolean fieldsCapped() {
    return fieldsCapped;
  }

  /** Series of dimension combinations (not counting the total). */
  public int seriesCount() {
    return seriesTuples.size();
  }

  /** The global id of local series {@code local}. */
  public int seriesId(int local) {
    return seriesIds[local];
  }

  /**
   * The value of dimension {@code key} in local series {@code local}, or null if the series does
   * not break it down.
   */
  public String valueOf(int local, String key) {
    int d = dimensionIndex.getValue(key);
    if (d < 0) {
      return null;
    }
    int[] tuple = seriesTuples.get(local);
    int code = d < tuple.length ? tuple[d] : ABSENT;
    return code == ABSENT ? null : dimensions.get(d).values.get(code);
  }

  /** The local series whose dimension {@code key} has one of {@code values}, ascending. */
  public int[] seriesMatching(String key, List<String> values) {
    int d = dimensionIndex.getValue(key);
    if (d < 0) {
      return new int[0];
    }
    Dimension dim = dimensions.get(d);
    int[] result = new int[0];
    for (String value : values) {
      int code = dim.codes.getValue(value);
      if (code > 0) {
        result = union(result, dim.seriesWith(code));
      }
    }
    return result;
  }

  static int[] union(int[] a, int[] b) {
    int[] out = new int[a.length + b.length];
    int i = 0;
    int j = 0;
    int n = 0;
    while (i < a.length || j < b.length) {
      int next;
      if (j >= b.length || (i < a.length && a[i] < b[j])) {
        next = a[i++];
      } else if (i >= a.length || b[j] < a[i]) {
        next = b[j++];
      } else {
        next = a[i++];
        j++;
      }
      out[n++] = next;
    }
    return Arrays.copyOf(out, n);
  }

  /** Series in both, ascending. */
  public static int[] intersect(int[] a, int[] b) {
    int[] out = new int[Math.min(a.length, b.length)];
    int i = 0;
    int j = 0;
    int n = 0;
    while (i < a.length && j < b.length) {
      if (a[i] < b[j]) {
        i++;
      } else if (b[j] < a[i]) {
        j++;
      } else {
        out[n++] = a[i];
        i++;
        j++;
      }
    }
    return Arrays.copyOf(out, n);
  }
}
