/**
 * Event-time rollups: each event adds O(1) work to the buckets of every {@link
 * dev.aggregator.aggregation.Tier} whose retention still covers its timestamp.
 *
 * <p>{@link dev.aggregator.aggregation.RollupAccumulator} is the per-event work (resolve an event
 * against the {@link dev.aggregator.aggregation.Catalog}, note its row updates, apply a shard's
 * share) with no lock, store, clock or thread. {@link dev.aggregator.aggregation.RollupEngine}
 * wraps it: the write path (one writer, rows in shards updated in parallel), checkpoints into a
 * {@code RollupStore} (with {@link dev.aggregator.aggregation.StoredCheckpoint}'s record) and the
 * read gateway. Queries see a {@link dev.aggregator.aggregation.RollupSource}: the engine (store +
 * rows in memory), or {@link dev.aggregator.aggregation.StoredRollups} (the store alone, for a
 * process that does not aggregate). The catalog names metrics, dimensions and series: {@code
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
