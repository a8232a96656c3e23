package dev.aggregator.aggregation;

/**
 * What one bucket knows of one numeric field: exact count, sum, min and max, and (in tiers that
 * keep sketches) the distribution for percentiles. Mutable; merged bucket by bucket.
 */
public final class FieldSummary {
  long count;
  double sum;
  double min = Double.POSITIVE_INFINITY;
  double max = Double.NEGATIVE_INFINITY;
  ValueSketch values;

  public long count() {
    return count;
  }

  public double sum() {
    return sum;
  }

  public double min() {
    return min;
  }

  public double max() {
    return max;
  }

  /** The distribution, or null where the tier keeps no sketches. */
  public ValueSketch values() {
    return values;
  }

  void add(double v, boolean sketch) {
    count++;
    sum += v;
    if (v < min) {
      min = v;
    }
    if (v > max) {
      max = v;
    }
    if (sketch) {
      if (values == null) {
        values = new ValueSketch();
      }
      values.add(v);
    }
  }

  /** Merges {@code other} in; never changes it. */
  public void merge(FieldSummary other) {
    count += other.count;
    sum += other.sum;
    min = Math.min(min, other.min);
    max = Math.max(max, other.max);
    if (other.values != null) {
      if (values == null) {
        values = new ValueSketch();
      }
      values.merge(other.values);
    }
  }
}
