package dev.aggregator.alerting;

import java.util.Objects;

/**
 * Everything the state machine needs to remember about one alert between steps; immutable so a step
 * can be computed, then stored, then published, without anyone seeing it half-done.
 *
 * @param status the current status
 * @param since when {@code status} was entered, epoch ms
 * @param pendingSince when the current breach began, epoch ms, or -1 if none; the {@code for}
 *     duration is measured from here
 * @param rearmAfterRecovery set when resolved by hand: the alert re-arms only after its condition
 *     has recovered once, so it does not re-fire at the next evaluation
 * @param ackUntil when an acknowledgement expires, epoch ms, or -1 if it never does (or there is
 *     none)
 */
public record AlertState(
    AlertStatus status, long since, long pendingSince, boolean rearmAfterRecovery, long ackUntil) {

  public AlertState {
    Objects.requireNonNull(status, "status");
  }

  /** A new alert: armed, waiting for its first evaluation. */
  public static AlertState created(long now) {
    return new AlertState(AlertStatus.ACTIVE, now, -1, false, -1);
  }
}
