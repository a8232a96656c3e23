/**
 * Event-time rollups: each event adds O(1) work to the buckets of every {@link
 * dev.aggregator.aggregation.Tier} whose retention still covers its timestamp.
 *
 * <p>{@link dev.aggregator.aggregation.RollupEngine} is the write path (mutable, single writer);
 * queries read it under a read lock through {@link dev.aggregator.aggregation.RollupEngine#read}.
 * {@link dev.aggregator.aggregation.MetricCatalog} names series: {@code <eventType>} (alias {@code
 * <eventType>_count}) counts events, {@code <eventType>_<field>} summarizes a numeric property.
 */
package dev.aggregator.aggregation;
