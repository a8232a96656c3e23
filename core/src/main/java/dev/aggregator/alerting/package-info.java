/**
 * Alerting: alert rules, their lifecycle state machine, evaluation and notification.
 *
 * <p>{@link dev.aggregator.alerting.AlertStateMachine} is the single place that decides how an
 * alert moves between {@link dev.aggregator.alerting.AlertStatus statuses}, both when the evaluator
 * judges a rule's condition ({@link dev.aggregator.alerting.Verdict}) and when a person acts
 * through the API. It is pure, so callers own the clock, the storage and the notifications.
 */
package dev.aggregator.alerting;
