package dev.aggregator.alerting;

import static dev.aggregator.alerting.AlertStatus.ACKNOWLEDGED;
import static dev.aggregator.alerting.AlertStatus.ACTIVE;
import static dev.aggregator.alerting.AlertStatus.EVALUATING;
import static dev.aggregator.alerting.AlertStatus.NORMAL;
import static dev.aggregator.alerting.AlertStatus.RESOLVED;
import static dev.aggregator.alerting.AlertStatus.TRIGGERED;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The alert lifecycle: how an alert's {@link AlertState} changes when the evaluator judges its rule
 * ({@link #evaluate}) and when a person acts through the API ({@link #request}).
 *
 * <p>Pure functions with no clock of their own, so the evaluator, the API and the tests all get the
 * same answer for the same input, and a step can be stored before anyone is notified. One step may
 * walk several edges (e.g. active, evaluating, triggered for a rule without a {@code for}
 * duration); every transition is an edge of {@link AlertStatus#next()}, and they chain from the
 * input status.
 */
public final class AlertStateMachine {
  /** The actor of every transition the evaluator makes. */
  public static final String EVALUATOR = "evaluator";

  private AlertStateMachine() {}

  /**
   * The outcome of one evaluation or request.
   *
   * @param state the state after it
   * @param transitions the transitions made, in order; empty if the status did not change
   */
  public record Step(AlertState state, List<Transition> transitions) {
    public Step {
      Objects.requireNonNull(state, "state");
      transitions = List.copyOf(transitions);
    }
  }

  /**
   * Applies one evaluation of the alert's rule.
   *
   * @param verdict what the condition evaluated to
   * @param value the evaluated value, recorded on the transitions (may be {@code null})
   * @param now when the evaluation happened, epoch ms
   * @param forMillis how long the condition must stay breached before the alert triggers; 0
   *     triggers on the first breach
   */
  public static Step evaluate(
      AlertState s, Verdict verdict, Double value, long now, long forMillis) {
    Objects.requireNonNull(verdict, "verdict");
    if (forMillis < 0) {
      throw new IllegalArgumentException("forMillis must be >= 0, got " + forMillis);
    }
    Walk w = new Walk(s, now, value, EVALUATOR, null);
    boolean breached = verdict == Verdict.BREACHED;
    switch (s.status()) {
      case ACTIVE -> {
        if (breached) {
          startBreach(w, forMillis);
        } else {
          w.move(EVALUATING, "evaluated");
          w.move(NORMAL, "condition not breached");
          w.pendingSince = -1;
        }
      }
      case EVALUATING -> {
        if (breached) {
          if (w.pendingSince < 0) {
            w.pendingSince = now; // not expected, but a breach cannot be pending from nowhere
          }
          triggerIfDue(w, forMillis);
        } else {
          w.move(NORMAL, "condition no longer breached");
          w.pendingSince = -1;
        }
      }
      case NORMAL -> {
        if (breached) {
          w.move(ACTIVE, "re-armed");
          startBreach(w, forMillis);
        }
      }
      case TRIGGERED -> {
        if (verdict == Verdict.RECOVERED) {
          w.move(RESOLVED, "recovered");
          w.rearmAfterRecovery = false;
          w.pendingSince = -1;
        }
      }
      case ACKNOWLEDGED -> {
        if (verdict == Verdict.RECOVERED) {
          w.move(RESOLVED, "recovered");
          w.rearmAfterRecovery = false;
          w.ackUntil = -1;
          w.pendingSince = -1;
        } else if (w.ackUntil >= 0 && now >= w.ackUntil) {
          w.move(TRIGGERED, "acknowledgement expired");
          w.ackUntil = -1;
        }
      }
      case RESOLVED -> {
        if (w.rearmAfterRecovery) {
          // Resolved by hand while still breached: wait for one recovery before firing again.
          if (verdict == Verdict.RECOVERED) {
            w.rearmAfterRecovery = false;
          }
        } else if (breached) {
          w.move(ACTIVE, "re-armed");
          startBreach(w, forMillis);
        }
      }
    }
    return w.step();
  }

  /** From ACTIVE: the breach starts now, and triggers at once if the rule has no {@code for}. */
  private static void startBreach(Walk w, long forMillis) {
    w.move(EVALUATING, "condition breached");
    w.pendingSince = w.now;
    triggerIfDue(w, forMillis);
  }

  private static void triggerIfDue(Walk w, long forMillis) {
    long breachedFor = w.now - w.pendingSince;
    if (breachedFor >= forMillis) {
      w.move(
          TRIGGERED,
          breachedFor <= 0 ? "condition breached" : "breached for " + formatMillis(breachedFor));
    }
  }

  /**
   * Applies a person's request to move the alert to {@code target}.
   *
   * @param actor who asked, recorded on the transition
   * @param comment their comment, or {@code null}
   * @param ackForMillis for {@link AlertStatus#ACKNOWLEDGED} only: how long the acknowledgement
   *     lasts before the alert fires again, or -1 for no expiry
   * @throws IllegalTransitionException if {@code target} is not in {@link #requestable} from the
   *     current status (including when it is the current status)
   */
  public static Step request(
      AlertState s, AlertStatus target, String actor, String comment, long now, long ackForMillis) {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(actor, "actor");
    List<AlertStatus> allowed = requestable(s.status());
    if (!allowed.contains(target)) {
      throw new IllegalTransitionException(s.status(), target, allowed);
    }
    Walk w = new Walk(s, now, null, actor, comment);
    switch (target) {
      case ACKNOWLEDGED -> {
        w.ackUntil = ackForMillis < 0 ? -1 : now + ackForMillis;
        w.move(
            ACKNOWLEDGED,
            ackForMillis < 0 ? "acknowledged" : "acknowledged for " + formatMillis(ackForMillis));
      }
      case RESOLVED -> {
        w.move(RESOLVED, "resolved by hand");
        w.rearmAfterRecovery = true;
        w.ackUntil = -1;
        w.pendingSince = -1;
      }
      case TRIGGERED -> {
        w.move(TRIGGERED, "reopened");
        w.ackUntil = -1;
      }
      case ACTIVE -> {
        w.move(ACTIVE, "re-armed by hand");
        w.rearmAfterRecovery = false;
        w.pendingSince = -1;
      }
      default -> throw new AssertionError("requestable let through " + target);
    }
    return w.step();
  }

  /**
   * The targets {@link #request} accepts from {@code from}, in enum order. Never {@link
   * AlertStatus#EVALUATING} or {@link AlertStatus#NORMAL}: only the evaluator decides those.
   */
  public static List<AlertStatus> requestable(AlertStatus from) {
    return switch (from) {
      case TRIGGERED -> List.of(ACKNOWLEDGED, RESOLVED);
      case ACKNOWLEDGED -> List.of(TRIGGERED, RESOLVED);
      case NORMAL, RESOLVED -> List.of(ACTIVE);
      case ACTIVE, EVALUATING -> List.of();
    };
  }

  /**
   * Millis as a short duration for reasons: {@code 1h}, {@code 2m}, {@code 90s}, {@code 1500ms}.
   */
  static String formatMillis(long millis) {
    if (millis != 0 && millis % 3_600_000 == 0) {
      return millis / 3_600_000 + "h";
    }
    if (millis != 0 && millis % 60_000 == 0) {
      return millis / 60_000 + "m";
    }
    if (millis % 1000 == 0) {
      return millis / 1000 + "s";
    }
    return millis + "ms";
  }

  /** The state being changed by one step, and the transitions made so far. */
  private static final class Walk {
    final long now;
    final Double value;
    final String actor;
    final String comment;
    final AlertState start;
    AlertStatus status;
    long since;
    long pendingSince;
    boolean rearmAfterRecovery;
    long ackUntil;
    final List<Transition> transitions = new ArrayList<>();

    Walk(AlertState s, long now, Double value, String actor, String comment) {
      this.start = s;
      this.now = now;
      this.value = value;
      this.actor = actor;
      this.comment = comment;
      this.status = s.status();
      this.since = s.since();
      this.pendingSince = s.pendingSince();
      this.rearmAfterRecovery = s.rearmAfterRecovery();
      this.ackUntil = s.ackUntil();
    }

    void move(AlertStatus to, String reason) {
      if (!status.next().contains(to)) {
        throw new IllegalStateException("not an edge of the lifecycle: " + status + " -> " + to);
      }
      transitions.add(new Transition(status, to, now, value, reason, actor, comment));
      status = to;
      since = now;
    }

    Step step() {
      AlertState end = new AlertState(status, since, pendingSince, rearmAfterRecovery, ackUntil);
      return new Step(end.equals(start) ? start : end, transitions);
    }
  }
}
