package dev.aggregator.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/** Writes an event back as the JSON of the event contract, in its cleaned form. */
public final class EventJson {
  private static final JsonFactory JSON = new JsonFactory();

  private EventJson() {}

  public static String toJson(Event e) {
    StringWriter out = new StringWriter(128);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      write(e, g);
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    return out.toString();
  }

  public static void write(Event e, JsonGenerator g) throws IOException {
    g.writeStartObject();
    if (e.id() != null) {
      g.writeStringField("id", e.id());
    }
    g.writeStringField("eventType", e.eventType());
    if (e.userId() != null) {
      g.writeStringField("userId", e.userId());
    }
    g.writeStringField("timestamp", Timestamps.format(e.timestamp()));
    g.writeStringField("source", e.source());
    g.writeObjectFieldStart("properties");
    EventProperties p = e.properties();
    for (int i = 0; i < p.size(); i++) {
      switch (p.kind(i)) {
        case NUMBER -> g.writeNumberField(p.key(i), p.number(i));
        case BOOLEAN -> g.writeBooleanField(p.key(i), Boolean.parseBoolean(p.string(i)));
        case STRING -> g.writeStringField(p.key(i), p.string(i));
      }
    }
    g.writeEndObject();
    g.writeEndObject();
  }
}
