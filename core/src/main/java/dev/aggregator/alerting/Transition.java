package dev.aggregator.alerting;

import java.util.Objects;

/**
 * One move of an alert from one status to another: the unit of an alert's history and of its
 * notifications, so it records who moved it, when, why and on what value.
 *
 * @param at when, epoch ms
 * @param value the evaluated value that caused it, or {@code null} for a human action
 * @param reason a short human sentence, e.g. {@code breached for 2m}
 * @param actor {@code evaluator} or the person acting through the API
 * @param comment the person's comment, or {@code null}
 */
public record Transition(
    AlertStatus from,
    AlertStatus to,
    long at,
    Double value,
    String reason,
    String actor,
    String comment) {

  public Transition {
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(actor, "actor");
  }
}
