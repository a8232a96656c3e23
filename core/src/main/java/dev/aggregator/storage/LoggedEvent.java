package dev.aggregator.storage;

import dev.aggregator.event.Event;

/**
 * An event as the log holds it.
 *
 * @param sequence its position in the log, unique and increasing
 * @param arrivalMillis when the server accepted it (drives the dedup window)
 * @param event the event
 * @param assignedId whether its id is one the server gave it (a UUIDv7), not the client's: only a
 *     client's id can come again in a retry, so only those go back into the dedup table
 */
public record LoggedEvent(long sequence, long arrivalMillis, Event event, boolean assignedId) {

  /** An event with the client's id, or none. */
  public LoggedEvent(long sequence, long arrivalMillis, Event event) {
    this(sequence, arrivalMillis, event, false);
  }
}
