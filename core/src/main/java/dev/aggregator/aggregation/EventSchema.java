package dev.aggregator.aggregation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.agrona.collections.Object2IntHashMap;

/**
 * What the catalog knows of one event type: its dimensions and their values, its numeric fields,
 * and its series — one per combination of dimension values seen, plus a total.
 *
 * <p>Dimension values are coded as small ints per dimension (code 0 is {@value Catalog#OTHER}, used
 * once a dimension reaches its value cap); a series is the tuple of its codes, one per dimension in
 * the order the dimensions were first seen, with -1 where the event did not carry that dimension
 * and trailing -1s dropped (so series made before a dimension first appeared keep matching events
 * without it). An inverted index (dimension, code) → series answers filters.
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
  int overflowSeries = -1;
  long overflowEvents;
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
    boolean capped;

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

  /** Whether the type reached its series cap (combinations beyond it share the overflow series). */
  public boolean seriesCapped() {
    return overflowSeries >= 0;
  }

  /** Whether further dimension keys or numeric fields were ignored at their caps. */
  public boolean dimensionsCapped() {
    return dimensionsCapped;
  }

  public boolean fieldsCapped() {
    return fieldsCapped;
  }

  /** Events counted in the overflow series. */
  public long overflowEvents() {
    return overflowEvents;
  }

  /** Series of dimension combinations (not counting the total). */
  public int seriesCount() {
    return seriesTuples.size();
  }

  /** The global id of local series {@code local}. */
  public int seriesId(int local) {
    return seriesIds[local];
  }

  /** Local index of the overflow series, or -1. */
  public int overflowLocal() {
    return overflowSeries;
  }

  /**
   * The value of dimension {@code key} in local series {@code local}: its value, {@value
   * Catalog#OTHER} for the overflow series or a capped value, or null if the series' events did not
   * carry it.
   */
  public String valueOf(int local, String key) {
    int d = dimensionIndex.getValue(key);
    if (d < 0) {
      return null;
    }
    if (local == overflowSeries) {
      return Catalog.OTHER;
    }
    int[] tuple = seriesTuples.get(local);
    int code = d < tuple.length ? tuple[d] : ABSENT;
    return code == ABSENT ? null : dimensions.get(d).values.get(code);
  }

  /**
   * The local series whose dimension {@code key} has one of {@code values}, ascending; the overflow
   * series matches {@value Catalog#OTHER}.
   */
  public int[] seriesMatching(String key, List<String> values) {
    int d = dimensionIndex.getValue(key);
    if (d < 0) {
      return new int[0];
    }
    Dimension dim = dimensions.get(d);
    int[] result = new int[0];
    for (String value : values) {
      int code = value.equals(Catalog.OTHER) ? 0 : dim.codes.getValue(value);
      if (code >= 0) {
        result = union(result, dim.seriesWith(code));
      }
      if (value.equals(Catalog.OTHER) && overflowSeries >= 0) {
        result = union(result, new int[] {overflowSeries});
      }
    }
    return result;
  }

  /** Every local series, ascending. */
  public int[] allSeries() {
    int[] all = new int[seriesTuples.size()];
    for (int i = 0; i < all.length; i++) {
      all[i] = i;
    }
    return all;
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
