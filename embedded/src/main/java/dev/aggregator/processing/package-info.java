/**
 * Processing: the thread that applies acknowledged events to the rollups ({@link
 * dev.aggregator.processing.AggregationRunner}) and the counts of the event lifecycle ({@link
 * dev.aggregator.processing.Lifecycle}) that health and {@code /metrics} show.
 */
package dev.aggregator.processing;
