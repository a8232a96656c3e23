/**
 * Queries: {@link dev.aggregator.query.QueryParser} turns request parameters into a {@link
 * dev.aggregator.query.Query} with clear errors; {@link dev.aggregator.query.QueryEngine} is the
 * planner: it answers from the rollups where they are exact — for each output bucket the coarsest
 * tier that divides the granularity and still holds that time — and otherwise from the raw events
 * of the columnar event store, through {@code EventQueries} (SQL in DuckDB with the same bucket,
 * fill and top-N rules). Each {@link dev.aggregator.query.QueryResult} says which it used. Results
 * are immutable records.
 */
package dev.aggregator.query;
