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

  /** Problems kept per dead letter; a last one counts the rest. */
  public static final int MAX_PROBLEMS = 12;

  /** Characters kept of a problem's field and message, and of the event. */
  public static final int MAX_TEXT_CHARS = 512;

  public static final int MAX_EVENT_CHARS = 8_192;

  /**
   * This dead letter within its byte budget (at most ~15 KiB as JSON): whatever a client sends, a
   * dead letter cannot cost more than that in memory, on disk or in an answer.
   */
  public DeadLetter bounded() {
    boolean ok =
        problems.size() <= MAX_PROBLEMS && (event == null || event.length() <= MAX_EVENT_CHARS);
    for (int i = 0; ok && i < problems.size(); i++) {
      Problem p = problems.get(i);
      ok = cut(p.field()) == p.field() && cut(p.message()) == p.message();
    }
    if (ok) {
      return this;
    }
    java.util.List<Problem> kept = new java.util.ArrayList<>();
    for (int i = 0; i < problems.size() && kept.size() < MAX_PROBLEMS - 1; i++) {
      kept.add(new Problem(cut(problems.get(i).field()), cut(problems.get(i).message())));
    }
    if (problems.size() > kept.size()) {
      kept.add(new Problem(null, "… and " + (problems.size() - kept.size()) + " more problems"));
    }
    String e =
        event == null || event.length() <= MAX_EVENT_CHARS
            ? event
            : event.substring(0, MAX_EVENT_CHARS) + "…";
    return new DeadLetter(time, reason, sequence, List.copyOf(kept), e);
  }

  private static String cut(String s) {
    return s == null || s.length() <= MAX_TEXT_CHARS ? s : s.substring(0, MAX_TEXT_CHARS) + "…";
  }

  public static final String INVALID = "invalid";
  public static final String EXPIRED = "expired";
  public static final String FAILED = "failed";
}
