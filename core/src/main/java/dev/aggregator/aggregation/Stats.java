package dev.aggregator.aggregation;

/**
 * The exact summary of a set of values: count, sum, min, max (avg derived). Mutable, merged bucket
 * by bucket when a query spans many of them.
 */
public final class Stats {
  long count;
  double sum;
  double min = Double.POSITIVE_INFINITY;
  double max = Double.NEGATIVE_INFINITY;

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

  public double avg() {
    return count == 0 ? Double.NaN : sum / count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  public void add(double value) {
    count++;
    sum += value;
    min = Math.min(min, value);
    max = Math.max(max, value);
  }

  public void merge(long count, double sum, double min, double max) {
    this.count += count;
    this.sum += sum;
    this.min = Math.min(this.min, min);
    this.max = Math.max(this.max, max);
  }

  public void merge(Stats other) {
    merge(other.count, other.sum, other.min, other.max);
  }

  public void clear() {
    count = 0;
    sum = 0;
    min = Double.POSITIVE_INFINITY;
    max = Double.NEGATIVE_INFINITY;
  }
}
