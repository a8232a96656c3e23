package dev.aggregator.ingestion;

/** A batch holds more events than {@link IngestLimits#maxBatchEvents()}; nothing is kept. */
public final class BatchTooLargeException extends Exception {
  private static final long serialVersionUID = 1L;

  public BatchTooLargeException(String message) {
    super(message, null, false, false);
  }
}
