package dev.aggregator.storage;

/**
 * A snapshot of the log's counters.
 *
 * @param nextSequence the sequence number of the next record
 * @param records records appended since start
 * @param bytes bytes appended since start
 * @param syncs fsyncs since start (one covers many appends: group commit)
 * @param segments segment files on disk
 * @param diskBytes bytes of all segment files
 * @param truncatedRecoveries torn or corrupt tails cut off at start
 * @param failed whether the log has failed (an fsync or write error) and refuses appends
 */
public record LogStats(
    long nextSequence,
    long records,
    long bytes,
    long syncs,
    int segments,
    long diskBytes,
    long truncatedRecoveries,
    boolean failed) {}
