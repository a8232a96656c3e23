package dev.aggregator.storage;

/**
 * What opening the log found.
 *
 * @param segments segment files read
 * @param records valid records read
 * @param replayed records handed to the consumer (those at or after the requested sequence)
 * @param bytes valid bytes read
 * @param truncatedBytes bytes cut off a torn or corrupt tail (0 after a clean shutdown)
 * @param quarantinedSegments segments after a corrupt record, renamed to {@code *.corrupt}
 * @param millis time taken
 */
public record RecoveryReport(
    int segments,
    long records,
    long replayed,
    long bytes,
    long truncatedBytes,
    int quarantinedSegments,
    long millis) {

  /** Whether a tail had to be cut. */
  public boolean truncated() {
    return truncatedBytes > 0 || quarantinedSegments > 0;
  }
}
