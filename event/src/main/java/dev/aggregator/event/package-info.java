/**
 * The event model: what one validated, cleaned event is ({@link dev.aggregator.event.Event}) and
 * its flattened properties ({@link dev.aggregator.event.EventProperties}).
 *
 * <p>Everything downstream of validation — the write-ahead log, the rollups, the dead-letter log —
 * sees only these immutable values, never raw JSON.
 */
package dev.aggregator.event;
