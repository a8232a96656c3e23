package dev.aggregator.aggregation;

import static org.apache.datasketches.quantilescommon.QuantileSearchCriteria.INCLUSIVE;

import dev.aggregator.storage.Varint;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.apache.datasketches.common.SketchesException;
import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.datasketches.kll.KllSketch;
import org.apache.datasketches.memory.Memory;
import org.apache.datasketches.quantilescommon.QuantilesUtil;

/**
 * The quantiles (p50, p90, p95, p99) of a numeric field in one rollup row: exact while it holds at
 * most {@value #EXACT_LIMIT} values, then a DataSketches KLL sketch (k = {@value #K}) whose ranks
 * are within {@link #normalizedRankError()}.
 *
 * <pre>{@code
 * ValueSketch row = new ValueSketch();
 * row.add(120.0);
 * row.add(80.0);
 * row.add(95.0);
 * ValueSketch total = new ValueSketch();
 * total.merge(row);
 * total.quantile(0.5); // 95.0, exact
 * }</pre>
 *
 * <p>Both modes answer with DataSketches' {@code INCLUSIVE} rule: the smallest value {@code v} such
 * that the fraction of values {@code <= v} is at least the rank. NaN is ignored, as {@code
 * KllDoublesSketch.update} ignores it.
 *
 * <p>Heap per instance, measured by creating 100,000 of them (5,000–20,000 in sketch mode) and
 * dividing the growth of {@link Runtime} used memory after {@code System.gc()}: 24 bytes empty, 72
 * with 1–4 values, 104 with 5–8, 168 with 9–16, 296 with 17–32; as a sketch ~1.7 KB from 33 to 200
 * values (KLL allocates k = 200 items at once), ~3.5 KB at 1,000, ~4.4 KB at 5,000 and ~4.9 KB at
 * 100,000. Serialized: 2 + 8 bytes per value when exact, ~300 bytes just past the switch, ~4.7 KB
 * at 100,000 values.
 *
 * <p>Merging reads the argument and never changes it. Not thread-safe: a quantile read of a sketch
 * caches a sorted view inside it.
 */
public final class ValueSketch {
  /**
   * Values kept exactly. At 32 the exact row (296 bytes on the heap) is a sixth of the smallest KLL
   * sketch (~1.7 KB: it allocates k items up front), a sorted insert moves at most 31 doubles, and
   * merging two small rows is one pass over at most 64.
   */
  public static final int EXACT_LIMIT = 32;

  /**
   * DataSketches' default k: normalized rank error ~1.33 % for a single quantile (99 % confidence)
   * in ~4–5 KB, and exact up to 200 values.
   */
  public static final int K = 200;

  private static final double RANK_ERROR = KllSketch.getNormalizedRankError(K, false);
  private static final byte EXACT = 0;
  private static final byte SKETCH = 1;
  private static final double[] EMPTY = {};

  /** Exact mode: the values, ascending, in {@code values[0..size)}; null in sketch mode. */
  private double[] values = EMPTY;

  private int size;
  private KllDoublesSketch kll;

  /** Approximate heap bytes: the exact values' array or the KLL sketch's items, plus headers. */
  public long heapBytes() {
    long n = 32;
    if (values != null && values.length > 0) { // null in sketch mode
      n += 16 + 8L * values.length;
    }
    if (kll != null) {
      n += 96 + kll.getSerializedSizeBytes();
    }
    return n;
  }

  /**
   * The error of {@link #quantile} in sketch mode, as a fraction of the count: the returned value's
   * true rank is within this of the requested rank with 99 % confidence. ~0.0133.
   */
  public static double normalizedRankError() {
    return RANK_ERROR;
  }

  /** Adds one value; NaN is ignored. */
  public void add(double value) {
    if (Double.isNaN(value)) {
      return;
    }
    if (values == null) {
      kll.update(value);
      return;
    }
    if (size == EXACT_LIMIT) {
      toSketch();
      kll.update(value);
      return;
    }
    int insert = upperBound(values, size, value);
    if (size == values.length) {
      values = Arrays.copyOf(values, capacity(size + 1));
    }
    System.arraycopy(values, insert, values, insert + 1, size - insert);
    values[insert] = value;
    size++;
  }

  /** Adds the values of {@code other}; {@code other} is not changed. */
  public void merge(ValueSketch other) {
    if (other.values != null) {
      if (values == null) {
        kll.update(other.values, 0, other.size);
      } else if (size + other.size <= EXACT_LIMIT) {
        mergeExact(other.values, other.size);
      } else {
        double[] theirs = other.values;
        int theirSize = other.size;
        toSketch();
        kll.update(theirs, 0, theirSize);
      }
      return;
    }
    // KllDoublesSketch.merge throws "A sketch cannot merge with itself": give it a copy.
    KllDoublesSketch theirs = other == this ? copy(kll) : other.kll;
    if (values != null) {
      double[] mine = values;
      int mySize = size;
      kll = KllDoublesSketch.newHeapInstance(K);
      kll.merge(theirs);
      kll.update(mine, 0, mySize);
      values = null;
      size = 0;
    } else {
      kll.merge(theirs);
    }
  }

  /** The number of values added (NaN excluded). */
  public long count() {
    return values != null ? size : kll.getN();
  }

  /** Whether {@link #quantile} returns exact quantiles. */
  public boolean isExact() {
    return values != null;
  }

  /**
   * The smallest value {@code v} such that the fraction of values {@code <= v} is at least {@code
   * rank} (DataSketches' {@code INCLUSIVE} search); NaN if there are no values.
   *
   * @param rank in [0, 1]: 0.5 is the median, 1 the maximum
   */
  public double quantile(double rank) {
    if (!(rank >= 0 && rank <= 1)) {
      throw new IllegalArgumentException("rank must be in [0, 1], got " + rank);
    }
    if (count() == 0) {
      return Double.NaN;
    }
    if (values == null) {
      return kll.getQuantile(rank, INCLUSIVE);
    }
    // ceil(rank * n) values are <= the answer. Through DataSketches' own rounding (rank * n to
    // 7 decimals first, so 0.28 * 25 = 7.000000000000001 counts as 7), so both modes agree.
    int atLeast = (int) QuantilesUtil.getNaturalRank(rank, size, INCLUSIVE);
    return values[Math.max(0, Math.min(size - 1, atLeast - 1))];
  }

  /**
   * Bytes {@link #writeTo} writes: a mode byte, then a varint count and the values (exact), or a
   * varint length and the KLL sketch's DataSketches image.
   */
  public int serializedSize() {
    if (values != null) {
      return 1 + Varint.size(size) + size * Double.BYTES;
    }
    int bytes = kll.getSerializedSizeBytes();
    return 1 + Varint.size(bytes) + bytes;
  }

  /** Writes this sketch at {@code out}'s position (values in {@code out}'s byte order). */
  public void writeTo(ByteBuffer out) {
    if (values != null) {
      out.put(EXACT);
      Varint.put(out, size);
      for (int i = 0; i < size; i++) {
        out.putDouble(values[i]);
      }
      return;
    }
    byte[] image = kll.toByteArray();
    out.put(SKETCH);
    Varint.put(out, image.length);
    out.put(image);
  }

  /**
   * Reads what {@link #writeTo} wrote, advancing {@code in} past it.
   *
   * @throws IllegalArgumentException if the bytes are not a sketch {@link #writeTo} wrote
   */
  public static ValueSketch readFrom(ByteBuffer in) {
    try {
      byte mode = in.get();
      if (mode != EXACT && mode != SKETCH) {
        throw new IllegalArgumentException("unknown value sketch mode " + mode);
      }
      int count = Varint.get(in);
      ValueSketch s = new ValueSketch();
      if (mode == EXACT) {
        if (count > EXACT_LIMIT) {
          throw new IllegalArgumentException(
              "exact value sketch of " + count + " values, at most " + EXACT_LIMIT);
        }
        s.values = count == 0 ? EMPTY : new double[capacity(count)];
        for (int i = 0; i < count; i++) {
          double v = in.getDouble();
          if (Double.isNaN(v) || (i > 0 && Double.compare(v, s.values[i - 1]) < 0)) {
            throw new IllegalArgumentException("exact value sketch not ascending at " + i);
          }
          s.values[i] = v;
        }
        s.size = count;
      } else {
        if (count > in.remaining()) {
          throw new IllegalArgumentException(
              "value sketch of " + count + " bytes, " + in.remaining() + " left");
        }
        byte[] image = new byte[count];
        in.get(image);
        s.values = null;
        s.kll = KllDoublesSketch.heapify(Memory.wrap(image));
        if (s.kll.getK() != K) {
          throw new IllegalArgumentException("value sketch with k " + s.kll.getK() + ", want " + K);
        }
      }
      return s;
    } catch (BufferUnderflowException | SketchesException e) {
      throw new IllegalArgumentException("undecodable value sketch: " + e, e);
    }
  }

  private void mergeExact(double[] theirs, int theirSize) {
    double[] merged = new double[capacity(size + theirSize)];
    int i = 0;
    int j = 0;
    int n = 0;
    while (i < size && j < theirSize) {
      merged[n++] = Double.compare(values[i], theirs[j]) <= 0 ? values[i++] : theirs[j++];
    }
    while (i < size) {
      merged[n++] = values[i++];
    }
    while (j < theirSize) {
      merged[n++] = theirs[j++];
    }
    values = n == 0 ? EMPTY : merged;
    size = n;
  }

  private void toSketch() {
    kll = KllDoublesSketch.newHeapInstance(K);
    kll.update(values, 0, size);
    values = null;
    size = 0;
  }

  private static KllDoublesSketch copy(KllDoublesSketch sketch) {
    return KllDoublesSketch.heapify(Memory.wrap(sketch.toByteArray()));
  }

  /** The index after the last value {@code <= value} (in {@link Double#compare} order). */
  private static int upperBound(double[] sorted, int n, double value) {
    int lo = 0;
    int hi = n;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Double.compare(sorted[mid], value) <= 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** Array length for {@code n} values: doubling from 4, so a row with 1 value holds 4 slots. */
  private static int capacity(int n) {
    return Math.min(EXACT_LIMIT, Math.max(4, Integer.highestOneBit(n - 1) << 1));
  }
}
