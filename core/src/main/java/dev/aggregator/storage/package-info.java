/**
 * Durable storage of events: the {@link dev.aggregator.storage.EventLog} seam, its embedded
 * implementation {@link dev.aggregator.storage.FileEventLog} (a segmented write-ahead log with a
 * CRC32C per record and group commit), the binary record format ({@link
 * dev.aggregator.storage.EventCodec}), and the bounded {@link
 * dev.aggregator.storage.DeadLetterLog}.
 *
 * <p>The log is the source of truth: everything in memory is rebuilt from it on start.
 *
 * <p>Durable storage of rollups and metadata: the {@link dev.aggregator.storage.RollupStore} seam
 * and its embedded implementation {@link dev.aggregator.storage.RocksRollupStore} (RocksDB, rows
 * keyed by tier, time partition, series and bucket; one fsynced batch per checkpoint).
 *
 * <p>Raw events in columnar form: {@link dev.aggregator.storage.ParquetEventStore} (Parquet files
 * by UTC day, written and queried with DuckDB, listed by an atomically replaced manifest), so any
 * filter can be answered exactly later; it may lose its unsealed tail, which the log replays.
 */
package dev.aggregator.storage;
