/**
 * The storage seams and the formats every runner shares: {@link dev.aggregator.storage.EventLog}
 * (where an acknowledged event becomes durable), {@link dev.aggregator.storage.RollupStore} (rollup
 * rows and metadata, one atomic batch per checkpoint, conditioned on the checkpoint it follows),
 * {@link dev.aggregator.storage.MetadataStore} (what alerts need: metadata alone), {@link
 * dev.aggregator.storage.RawEvents} (the raw events as a SQL relation, for exact answers past the
 * rollups), and the binary record format ({@link dev.aggregator.storage.EventCodec}).
 *
 * <p>Their embedded implementations live in the {@code embedded} module (a segmented write-ahead
 * log, RocksDB, Parquet files queried with DuckDB); this module names no storage engine. The log is
 * the source of truth: everything in memory is rebuilt from it on start.
 */
package dev.aggregator.storage;
