package dev.aggregator.ingestion;

import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The event types ingestion accepts: those already known, and new ones while there is room under
 * {@code maxEventTypes}. Checked while an event is validated, before it is acknowledged: once
 * 10,000 junk types had filled the catalog, a new real type was answered {@code 202} and then
 * dead-lettered as failed. Thread-safe; known types are a lock-free lookup.
 */
public final class EventTypeAdmission {
  private final Set<String> admitted = ConcurrentHashMap.newKeySet();
  private final int max;

  /**
   * @param known the types the catalog already has (they stay accepted)
   * @param max event types at most
   */
  public EventTypeAdmission(Collection<String> known, int max) {
    admitted.addAll(known);
    this.max = max;
  }

  /** Accepts everything (tests, and decoders with no catalog behind them). */
  public static EventTypeAdmission unbounded() {
    return new EventTypeAdmission(Set.of(), Integer.MAX_VALUE);
  }

  /** Whether events of {@code type} are accepted, taking a place for a new type if there is one. */
  public boolean admit(String type) {
    if (admitted.contains(type)) {
      return true;
    }
    synchronized (this) {
      if (admitted.size() >= max) {
        return admitted.contains(type);
      }
      admitted.add(type);
      return true;
    }
  }

  public int max() {
    return max;
  }

  /** True once no new type can be admitted. */
  public boolean full() {
    return admitted.size() >= max;
  }
}
