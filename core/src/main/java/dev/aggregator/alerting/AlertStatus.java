package dev.aggregator.alerting;

import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Where an alert is in its lifecycle. The edges of {@link #next()} are the seed's lifecycle graph;
 * {@link AlertStateMachine} never produces a transition outside it, so stored histories and
 * notifications can rely on it.
 */
public enum AlertStatus {
  /** Armed, waiting for its first evaluation. */
  ACTIVE,
  /** The condition is breached, but not yet for the rule's {@code for} duration. */
  EVALUATING,
  /** Firing: the condition has held for the rule's {@code for} duration. */
  TRIGGERED,
  /** Evaluated and not breached. */
  NORMAL,
  /** Firing, and a person has said they are on it (possibly until a deadline). */
  ACKNOWLEDGED,
  /** No longer firing, by recovery or by hand. */
  RESOLVED;

  private static final Map<AlertStatus, Set<AlertStatus>> NEXT = seedGraph();

  private static Map<AlertStatus, Set<AlertStatus>> seedGraph() {
    Map<AlertStatus, Set<AlertStatus>> g = new EnumMap<>(AlertStatus.class);
    g.put(ACTIVE, EnumSet.of(EVALUATING));
    g.put(EVALUATING, EnumSet.of(TRIGGERED, NORMAL));
    g.put(TRIGGERED, EnumSet.of(ACKNOWLEDGED, RESOLVED));
    g.put(NORMAL, EnumSet.of(ACTIVE));
    g.put(ACKNOWLEDGED, EnumSet.of(TRIGGERED, RESOLVED));
    g.put(RESOLVED, EnumSet.of(ACTIVE));
    g.replaceAll((from, to) -> Collections.unmodifiableSet(to));
    return g;
  }

  /** The lowercase name, as the API and the store spell it. */
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The status with this {@link #wire()} name, ignoring case.
   *
   * @throws IllegalArgumentException naming the accepted values, so API errors can echo it
   */
  public static AlertStatus parse(String label) {
    if (label != null) {
      for (AlertStatus s : values()) {
        if (s.wire().equalsIgnoreCase(label)) {
          return s;
        }
      }
    }
    String accepted =
        Arrays.stream(values()).map(AlertStatus::wire).collect(Collectors.joining(", "));
    throw new IllegalArgumentException(
        "unknown alert status '" + label + "'; expected one of: " + accepted);
  }

  /** The statuses an alert may move to directly from this one (unmodifiable, in enum order). */
  public Set<AlertStatus> next() {
    return NEXT.get(this);
  }

  /** Whether the alert is firing: someone should be (or has been) told. */
  public boolean isFiring() {
    return this == TRIGGERED || this == ACKNOWLEDGED;
  }
}
