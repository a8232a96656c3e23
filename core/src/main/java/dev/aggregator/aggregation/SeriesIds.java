package dev.aggregator.aggregation;

/**
 * Which series ids a {@link Catalog} hands out: {@code partition + k * partitions} for k = 0, 1, 2…
 * One engine owns every id ({@link #ALL}, the embedded mode). In cluster mode the event types are
 * partitioned (the Flink job keys by event type, and its key groups are the partitions): each
 * partition's engine is the one writer of its types' series, and allocating ids in its own residue
 * class keeps them apart from every other partition's without any coordination, so one reader can
 * replay every partition's catalog into one and read each series from the partition that owns it
 * ({@link #partitionOf}). The ids stay dense enough for the 27 bits a row key leaves them (16 M
 * series per partition with 8 partitions).
 *
 * @param partition this catalog's residue, {@code 0 <= partition < partitions}
 * @param partitions how many partitions share the id space; fixed for the life of the store
 */
public record SeriesIds(int partition, int partitions) {
  /** Every id to one catalog: the embedded engine. */
  public static final SeriesIds ALL = new SeriesIds(0, 1);

  /** Partitions at most: a partition's share of the 27-bit id space stays above 100,000 series. */
  public static final int MAX_PARTITIONS = 1024;

  public SeriesIds {
    if (partitions < 1 || partitions > MAX_PARTITIONS || partition < 0 || partition >= partitions) {
      throw new IllegalArgumentException(
          "series ids: partition " + partition + " of " + partitions + " (1 to 1024 partitions)");
    }
  }

  /** The k-th id this catalog hands out. */
  int id(int k) {
    return partition + k * partitions;
  }

  /** The partition whose catalog handed out {@code series}. */
  public int partitionOf(int series) {
    return series % partitions;
  }
}
