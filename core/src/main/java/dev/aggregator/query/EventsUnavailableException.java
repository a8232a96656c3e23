package dev.aggregator.query;

/**
 * A query needs the raw events and the event store cannot show all of them now (its writer stopped
 * on a full disk, or it fell behind the rollups): answered 503 rather than with an answer that
 * silently misses the newest events.
 */
public final class EventsUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public EventsUnavailableException(String message) {
    super(message);
  }
}
