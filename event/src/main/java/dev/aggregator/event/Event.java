package dev.aggregator.event;

import java.util.Objects;

/**
 * One validated and cleaned event.
 *
 * @param id the client's idempotency key, or the UUIDv7 the server gave an event sent without one
 *     ({@link EventIds}); {@code null} only before the server has accepted it
 * @param eventType 1–128 characters of {@code [A-Za-z0-9_.:-]}
 * @param userId the user, or {@code null}; feeds distinct-user counts, never a dimension
 * @param timestamp event time in UTC epoch milliseconds
 * @param source where the event came from ({@code http} unless the client said otherwise)
 * @param properties flattened properties, nulls dropped, strings trimmed
 */
public record Event(
    String id,
    String eventType,
    String userId,
    long timestamp,
    String source,
    EventProperties properties) {

  public Event {
    Objects.requireNonNull(eventType, "eventType");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(properties, "properties");
  }
}
