package dev.aggregator.ingestion;

import java.time.Duration;

/**
 * The limits of the event contract (docs/DESIGN.md §3), all configurable.
 *
 * @param maxEventBytes one event's JSON, at most (default 32 KiB)
 * @param maxBatchEvents events in one batch, at most (default 10,000)
 * @param maxBatchBytes one batch body, at most (default 5 MiB)
 * @param maxFutureSkew how far ahead of the server's clock a timestamp may be (default 5 min)
 * @param maxErrorsPerEvent field errors reported per event; the rest are counted in one "… and N
 *     more" error (default {@value #MAX_ERRORS_PER_RECORD})
 * @param maxErrorsPerResponse field errors listed in one response; the rest are counted (default
 *     {@value #MAX_ERRORS_PER_RESPONSE})
 */
public record IngestLimits(
    int maxEventBytes,
    int maxBatchEvents,
    int maxBatchBytes,
    Duration maxFutureSkew,
    int maxErrorsPerEvent,
    int maxErrorsPerResponse) {

  public static final int MAX_EVENT_TYPE_CHARS = 128;
  public static final int MAX_USER_ID_CHARS = 256;
  public static final int MAX_ID_CHARS = 128;
  public static final int MAX_SOURCE_CHARS = 128;
  public static final int MAX_PROPERTIES = 100;

  /**
   * Field errors reported per record by default; the rest are counted in one "… and N more" error.
   * A 5 MiB body of one event with a million bad keys was answered with 83 MB and kept ~53 MB of
   * heap.
   */
  public static final int MAX_ERRORS_PER_RECORD = 10;

  /**
   * Field errors listed in one response by default; the rest are counted ("… and N more") — see
   * dead letters.
   */
  public static final int MAX_ERRORS_PER_RESPONSE = 100;

  public static final int MAX_PROPERTY_KEY_CHARS = 128;
  public static final int MAX_PROPERTY_STRING_BYTES = 1024;
  public static final int MAX_PROPERTY_DEPTH = 3;

  public static IngestLimits defaults() {
    return new IngestLimits(32 * 1024, 10_000, 5 * 1024 * 1024, Duration.ofMinutes(5));
  }

  /** With the default error caps. */
  public IngestLimits(
      int maxEventBytes, int maxBatchEvents, int maxBatchBytes, Duration maxFutureSkew) {
    this(
        maxEventBytes,
        maxBatchEvents,
        maxBatchBytes,
        maxFutureSkew,
        MAX_ERRORS_PER_RECORD,
        MAX_ERRORS_PER_RESPONSE);
  }

  public IngestLimits {
    if (maxEventBytes <= 0 || maxBatchEvents <= 0 || maxBatchBytes <= 0) {
      throw new IllegalArgumentException("limits must be positive");
    }
    if (maxErrorsPerEvent < 1 || maxErrorsPerResponse < 1) {
      throw new IllegalArgumentException("error caps must be at least 1");
    }
    if (maxFutureSkew.isNegative()) {
      throw new IllegalArgumentException("maxFutureSkew must not be negative");
    }
  }
}
