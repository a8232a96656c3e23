package dev.aggregator.testing;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventJson;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.Timestamps;

/**
 * Builds events for tests, as {@link Event}s or as the JSON a client would send.
 *
 * <pre>{@code
 * Event e = TestEvents.event("page_view").at("2024-01-15T10:30:00Z").user("u1").prop("value", 9.5).build();
 * String json = TestEvents.event("page_view").at(0).json();
 * }</pre>
 */
public final class TestEvents {
  /** The seed's sample event. */
  public static final String SEED_SAMPLE =
      "{\"eventType\":\"page_view\",\"userId\":\"user123\",\"timestamp\":\"2024-01-15T10:30:00Z\","
          + "\"properties\":{\"page\":\"/products\",\"category\":\"electronics\",\"value\":99.99}}";

  private TestEvents() {}

  public static Builder event(String eventType) {
    return new Builder(eventType);
  }

  /** A fluent event under construction; defaults: timestamp 2024-01-15T10:30:00Z, source http. */
  public static final class Builder {
    private final String eventType;
    private String id;
    private String userId;
    private long timestamp = Timestamps.parseRfc3339("2024-01-15T10:30:00Z");
    private String source = "http";
    private final EventProperties.Builder props = EventProperties.builder();

    private Builder(String eventType) {
      this.eventType = eventType;
    }

    public Builder id(String id) {
      this.id = id;
      return this;
    }

    public Builder user(String userId) {
      this.userId = userId;
      return this;
    }

    public Builder at(long epochMillis) {
      this.timestamp = epochMillis;
      return this;
    }

    public Builder at(String rfc3339) {
      this.timestamp = Timestamps.parseRfc3339(rfc3339);
      if (timestamp == Timestamps.INVALID) {
        throw new IllegalArgumentException("not RFC 3339: " + rfc3339);
      }
      return this;
    }

    public Builder source(String source) {
      this.source = source;
      return this;
    }

    public Builder prop(String key, String value) {
      props.string(key, value);
      return this;
    }

    public Builder prop(String key, double value) {
      props.number(key, value);
      return this;
    }

    public Builder prop(String key, boolean value) {
      props.bool(key, value);
      return this;
    }

    public Event build() {
      return new Event(id, eventType, userId, timestamp, source, props.build());
    }

    /** The event as a client would send it. */
    public String json() {
      return EventJson.toJson(build());
    }
  }
}
