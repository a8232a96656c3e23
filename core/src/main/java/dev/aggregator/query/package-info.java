/**
 * Queries: {@link dev.aggregator.query.QueryParser} turns request parameters into a {@link
 * dev.aggregator.query.Query} with clear errors; {@link dev.aggregator.query.QueryEngine} picks,
 * for each output bucket, the coarsest tier that divides the granularity and still holds that time,
 * and merges its buckets. Results are immutable records.
 */
package dev.aggregator.query;
