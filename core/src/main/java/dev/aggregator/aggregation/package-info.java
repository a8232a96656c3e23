/**
 * Event-time rollups: each event adds O(1) work to the buckets of every {@link
 * dev.aggregator.aggregation.Tier} whose retention still covers its timestamp.
 *
 * <p>{@link dev.aggregator.aggregation.RollupEngine} is the write path (mutable, single writer);
 * queries read it under a read lock through {@link dev.aggregator.aggregation.RollupEngine#read}.
 * {@link dev.aggregator.aggregation.Catalog} names metrics, dimensions and series: {@code
 * <eventType>} (alias {@code <eventType>_count}) counts events, {@code <eventType>_<field>}
 * summarizes a numeric property.
 *
 * <p>Beside the exact count, sum, min and max of each field ({@link
 * dev.aggregator.aggregation.FieldSummary}), a row can carry two mergeable summaries: {@link
 * dev.aggregator.aggregation.UserSketch} (distinct users, {@code unique_users}) and {@link
 * dev.aggregator.aggregation.ValueSketch} (p50 to p99). Each is exact while it holds at most 32
 * entries, as most rows do, and a DataSketches sketch (HLL, KLL) beyond.
 */
package dev.aggregator.aggregation;
