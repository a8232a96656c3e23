/**
 * Ingestion: turning request bodies into validated events and making them durable.
 *
 * <p>{@link dev.aggregator.ingestion.EventDecoder} parses JSON, JSON arrays and NDJSON with
 * Jackson's streaming parser and applies every rule of the event contract, collecting per-field
 * errors instead of stopping at the first. {@link dev.aggregator.ingestion.Deduplicator} drops
 * client ids seen within the dedup window. The embedded module's {@code IngestPipeline} then
 * appends the rest to the {@link dev.aggregator.storage.EventLog} and acknowledges only once the
 * log has fsynced them.
 */
package dev.aggregator.ingestion;
