package dev.aggregator.aggregation;

import java.util.List;

/** A consistent view of the rollups, valid only inside {@link RollupSource#read}. */
public interface RollupReader {
  Catalog catalog();

  List<Tier> tiers();

  /**
   * What of a row a query needs: a field ({@code -1} none, {@code -2} all), the distinct-users
   * sketch, the value sketches. Rows read from the store decode only that.
   */
  record RowNeeds(int field, boolean users, boolean values) {}

  /** Receives rows; a row is read-only and valid only during the call. */
  @FunctionalInterface
  interface RowSink {
    void accept(long bucket, RollupRow row);
  }

  /**
   * Hands {@code sink} every row of {@code series} in tier number {@code tier} with {@code
   * fromBucket <= bucket < toBucket}: rows from the store and from memory, possibly several per
   * bucket (they are deltas: merge them), in no particular order.
   */
  void readRows(int tier, int series, long fromBucket, long toBucket, RowNeeds needs, RowSink sink);
}
