/**
 * Ingestion: turning request bodies into validated events and making them durable.
 *
 * <p>{@link dev.aggregator.ingestion.EventDecoder} parses JSON, JSON arrays and NDJSON with
 * Jackson's streaming parser and applies every rule of the event contract, collecting per-field
 * errors instead of stopping at the first. {@link dev.aggregator.ingestion.IngestPipeline} then
 * drops duplicates ({@link dev.aggregator.ingestion.Deduplicator}), appends the rest to the {@link
 * dev.aggregator.storage.EventLog}, and acknowledges only once the log has fsynced them. Its
 * in-flight bound is the one place that says "429": memory never grows with load.
 */
package dev.aggregator.ingestion;
