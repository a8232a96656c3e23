package dev.aggregator.storage;

import java.util.List;

/**
 * An event that was not aggregated, and why.
 *
 * @param time when it was dead-lettered, epoch ms
 * @param reason {@code invalid}, {@code expired} or {@code failed}
 * @param sequence its log sequence number for events that reached the log, else {@code null}
 * @param problems what was wrong, field by field where known
 * @param event the event's JSON as received (invalid) or as cleaned (expired, failed), bounded
 */
public record DeadLetter(
    long time, String reason, Long sequence, List<Problem> problems, String event) {

  /**
   * @param field the field at fault, or {@code null}
   */
  public record Problem(String field, String message) {}

  public static final String INVALID = "invalid";
  public static final String EXPIRED = "expired";
  public static final String FAILED = "failed";
}
