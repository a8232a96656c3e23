package dev.aggregator.alerting;

/**
 * The result of evaluating a rule's condition once. Three values rather than a boolean so that a
 * firing alert does not flap between resolved and triggered while the value hovers at the
 * threshold: it resolves only once the value has recovered past the rule's {@code
 * recoveryThreshold}.
 */
public enum Verdict {
  /** The condition holds. */
  BREACHED,
  /**
   * The condition does not hold, but the value has not yet recovered past the rule's {@code
   * recoveryThreshold} (the hysteresis band). A firing alert stays firing; for an alert that is not
   * firing this counts as not breached.
   */
  HOLDING,
  /** The condition does not hold and the value has recovered. */
  RECOVERED
}
