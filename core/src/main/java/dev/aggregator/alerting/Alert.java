package dev.aggregator.alerting;

/**
 * One alert: its rule and where it is in its lifecycle. Immutable; a change makes a new one.
 *
 * <p>Times are epoch milliseconds, -1 for "never".
 *
 * @param triggeredAt when it last entered {@code triggered}
 * @param resolvedAt when it last entered {@code resolved}
 * @param acknowledgedBy who acknowledged the current firing, or null
 * @param comment the comment of the last action taken through the API, or null
 * @param value the value of the last evaluation (the percent change for rate_of_change), or null
 * @param evaluatedAt when it was last evaluated
 * @param transitions how many transitions it has made: the next one's sequence number
 */
public record Alert(
    String id,
    AlertRule rule,
    long createdAt,
    long updatedAt,
    AlertState state,
    long triggeredAt,
    long resolvedAt,
    String acknowledgedBy,
    long acknowledgedAt,
    String comment,
    Double value,
    long evaluatedAt,
    long transitions) {

  /** A new rule, {@code active} and never evaluated. */
  public static Alert created(String id, AlertRule rule, long now) {
    return new Alert(
        id, rule, now, now, AlertState.created(now), -1, -1, null, -1, null, null, -1, 0);
  }

  public AlertStatus status() {
    return state.status();
  }

  /** The same alert watching {@code newRule}: its state carries on. */
  public Alert withRule(AlertRule newRule, long now) {
    return new Alert(
        id,
        newRule,
        createdAt,
        now,
        state,
        triggeredAt,
        resolvedAt,
        acknowledgedBy,
        acknowledgedAt,
        comment,
        value,
        evaluatedAt,
        transitions);
  }

  /**
   * The alert after a step of its state machine.
   *
   * @param actor who asked (for an API action), or null for an evaluation
   * @param actionComment the API action's comment, or null
   */
  public Alert after(
      AlertStateMachine.Step step, String actor, String actionComment, Double newValue, long now) {
    long triggered = triggeredAt;
    long resolved = resolvedAt;
    String ackBy = acknowledgedBy;
    long ackAt = acknowledgedAt;
    for (Transition t : step.transitions()) {
      switch (t.to()) {
        case TRIGGERED -> {
          if (t.from() != AlertStatus.ACKNOWLEDGED || triggered < 0) {
            triggered = t.at(); // a reopened acknowledgement continues the same firing
          }
          ackBy = null;
          ackAt = -1;
        }
        case ACKNOWLEDGED -> {
          ackBy = t.actor();
          ackAt = t.at();
        }
        case RESOLVED -> resolved = t.at();
        default -> {}
      }
    }
    boolean action = actor != null;
    return new Alert(
        id,
        rule,
        createdAt,
        step.transitions().isEmpty() ? updatedAt : now,
        step.state(),
        triggered,
        resolved,
        ackBy,
        ackAt,
        action ? actionComment : comment,
        action ? value : newValue,
        action ? evaluatedAt : now,
        transitions + step.transitions().size());
  }
}
