package dev.aggregator.aggregation;

import java.util.List;

/** A consistent view of the rollups, valid only inside {@link RollupEngine#read}. */
public interface RollupReader {
  MetricCatalog catalog();

  List<Tier> tiers();

  /**
   * Merges bucket {@code bucketIndex} of {@code series} in tier number {@code tier} into {@code
   * into}; returns false if that bucket holds nothing.
   */
  boolean read(int tier, int series, long bucketIndex, Stats into);
}
