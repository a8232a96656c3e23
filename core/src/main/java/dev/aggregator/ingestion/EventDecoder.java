package dev.aggregator.ingestion;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.Timestamps;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Decodes request bodies into validated, cleaned {@link Event}s with Jackson's streaming parser,
 * applying every rule of the event contract (docs/DESIGN.md §3).
 *
 * <p>A record with errors is parsed to its end so that all its errors are reported at once, and the
 * records after it are still read: one bad event never costs the good ones. Only a body that cannot
 * be framed at all (broken JSON syntax outside an NDJSON line) is rejected as a whole.
 *
 * <pre>{@code
 * EventDecoder decoder = new EventDecoder(IngestLimits.defaults(), System::currentTimeMillis);
 * DecodedBatch batch = decoder.decodeBatch(body, BodyFormat.NDJSON, "http");
 * batch.events();     // the valid events, cleaned
 * batch.rejections(); // the rest, each with its field errors
 * }</pre>
 *
 * <p>Thread-safe: one instance serves every event loop.
 */
public final class EventDecoder {
  /** How much of a rejected record's JSON the dead-letter log keeps. */
  static final int MAX_RAW_CHARS = 2048;

  private static final JsonFactory JSON = new JsonFactory();
  private static final String NOT_UNICODE = "is not valid Unicode (an unpaired surrogate)";

  private final IngestLimits limits;
  private final EventTypeAdmission types;
  private final LongSupplier nowMillis;
  private final String futureSkewText;
  private final Privacy privacy;

  public EventDecoder(IngestLimits limits, LongSupplier nowMillis) {
    this(limits, nowMillis, EventTypeAdmission.unbounded());
  }

  /** As above; events of a type {@code types} does not admit are rejected, before any ack. */
  public EventDecoder(IngestLimits limits, LongSupplier nowMillis, EventTypeAdmission types) {
    this(limits, nowMillis, types, Privacy.none());
  }

  /** As above; user ids are pseudonymised and denied properties dropped by {@code privacy}. */
  public EventDecoder(
      IngestLimits limits, LongSupplier nowMillis, EventTypeAdmission types, Privacy privacy) {
    this.privacy = privacy;
    this.limits = limits;
    this.types = types;
    this.nowMillis = nowMillis;
    this.futureSkewText = describe(limits.maxFutureSkew());
  }

  /** The event types this decoder admits. */
  public EventTypeAdmission types() {
    return types;
  }

  public IngestLimits limits() {
    return limits;
  }

  /**
   * Decodes the body of {@code POST /api/events}: exactly one event object.
   *
   * @throws MalformedBodyException if the body is not a single JSON object
   */
  public DecodedBatch decodeOne(byte[] body, String defaultSource) throws MalformedBodyException {
    Collector out = new Collector(body, privacy);
    try (JsonParser p = utf8Parser(body, 0, body.length)) {
      JsonToken first = p.nextToken();
      if (first == JsonToken.START_ARRAY) {
        throw new MalformedBodyException(
            "this endpoint takes one event object; send arrays to /api/events/batch");
      }
      if (first != JsonToken.START_OBJECT) {
        throw new MalformedBodyException("expected one JSON event object");
      }
      decodeRecord(p, 0, defaultSource, out);
      if (p.nextToken() != null) {
        throw new MalformedBodyException("unexpected content after the event object");
      }
    } catch (JsonProcessingException e) {
      throw malformed(e);
    } catch (IOException e) {
      throw notUtf8(e);
    }
    return out.result(1);
  }

  /**
   * Decodes a batch body: a JSON array, {@code {"events": [...]}}, or NDJSON.
   *
   * @throws MalformedBodyException if a JSON body is not well-formed
   * @throws BatchTooLargeException if the body holds more than {@link
   *     IngestLimits#maxBatchEvents()} events
   */
  public DecodedBatch decodeBatch(byte[] body, BodyFormat format, String defaultSource)
      throws MalformedBodyException, BatchTooLargeException {
    return format == BodyFormat.NDJSON
        ? decodeNdjson(body, defaultSource)
        : decodeJsonBatch(body, defaultSource);
  }

  private DecodedBatch decodeJsonBatch(byte[] body, String defaultSource)
      throws MalformedBodyException, BatchTooLargeException {
    Collector out = new Collector(body, privacy);
    int count = 0;
    try (JsonParser p = utf8Parser(body, 0, body.length)) {
      JsonToken first = p.nextToken();
      if (first == JsonToken.START_OBJECT) {
        if (!seekEventsArray(p)) {
          throw new MalformedBodyException(
              "expected a JSON array of events or an object {\"events\": [...]}");
        }
      } else if (first != JsonToken.START_ARRAY) {
        throw new MalformedBodyException(
            "expected a JSON array of events or an object {\"events\": [...]}");
      }
      JsonToken t;
      while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
        if (t == null) {
          throw new MalformedBodyException("the events array is not closed");
        }
        checkBatchSize(++count);
        if (t == JsonToken.START_OBJECT) {
          decodeRecord(p, count - 1, defaultSource, out);
        } else {
          int start = (int) p.currentTokenLocation().getByteOffset();
          p.finishToken(); // strings are read lazily: without this, the raw text would end at '"'
          p.skipChildren();
          out.reject(
              count - 1,
              List.of(new FieldError(count - 1, null, "an event must be a JSON object")),
              start,
              (int) p.currentLocation().getByteOffset());
        }
      }
      // Read to the end: a second value or broken syntax after the events would otherwise be
      // dropped without a word while the events before it are acknowledged.
      if (first == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          p.nextToken();
          p.skipChildren(); // the wrapper's other fields are ignored, as before the events
        }
      }
      if (p.nextToken() != null) {
        throw new MalformedBodyException("unexpected content after the events");
      }
    } catch (JsonProcessingException e) {
      throw malformed(e);
    } catch (IOException e) {
      throw notUtf8(e);
    }
    return out.result(count);
  }

  /** Moves the parser into the array of field "events"; other fields of the wrapper are ignored. */
  private static boolean seekEventsArray(JsonParser p) throws IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      if ("events".equals(name) && value == JsonToken.START_ARRAY) {
        return true;
      }
      p.skipChildren();
    }
    return false;
  }

  private DecodedBatch decodeNdjson(byte[] body, String defaultSource)
      throws BatchTooLargeException {
    DecodedBatch fast = decodeNdjsonWithOneParser(body, defaultSource);
    return fast != null ? fast : decodeNdjsonLineByLine(body, defaultSource);
  }

  /**
   * The common case, every non-blank line one well-formed object, read with one parser over the
   * whole body: a parser per line costs ~40 % more time and ~800 bytes per event. Returns null when
   * some line needs the line-by-line path (broken syntax, a value that is not an object, two values
   * on one line, an object across lines), which then reports errors line by line.
   */
  private DecodedBatch decodeNdjsonWithOneParser(byte[] body, String defaultSource)
      throws BatchTooLargeException {
    Collector out = new Collector(body, privacy);
    int count = 0;
    int previousEndLine = 0; // Jackson counts lines from 1
    try (JsonParser p = utf8Parser(body, 0, body.length)) {
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        // Line numbers come free with the parser; scanning the bytes for '\n' cost 5 % of ingest.
        int startLine = p.currentTokenLocation().getLineNr();
        if (t != JsonToken.START_OBJECT || startLine == previousEndLine) {
          return null;
        }
        checkBatchSize(++count);
        decodeRecord(p, count - 1, defaultSource, out, 0);
        previousEndLine = p.currentLocation().getLineNr();
        if (previousEndLine != startLine) {
          return null;
        }
      }
    } catch (IOException | MalformedBodyException e) {
      return null; // malformed or not UTF-8: line by line says which line
    }
    return out.result(count);
  }

  DecodedBatch decodeNdjsonLineByLine(byte[] body, String defaultSource)
      throws BatchTooLargeException {
    Collector out = new Collector(body, privacy);
    int count = 0;
    int lineStart = 0;
    while (lineStart < body.length) {
      int lineEnd = lineStart;
      while (lineEnd < body.length && body[lineEnd] != '\n') {
        lineEnd++;
      }
      if (!isBlank(body, lineStart, lineEnd)) {
        checkBatchSize(++count);
        decodeLine(body, lineStart, lineEnd - lineStart, count - 1, defaultSource, out);
      }
      lineStart = lineEnd + 1;
    }
    return out.result(count);
  }

  private void decodeLine(
      byte[] body, int offset, int length, int index, String defaultSource, Collector out) {
    // Taken before parsing: a syntax error after the event (`{...} oops`) surfaces only once the
    // event was accepted, and must then take it back.
    int rejectedBefore = out.rejections.size();
    int acceptedBefore = out.events.size();
    if (!looksUtf8(body, offset, length)) {
      out.reject(index, List.of(new FieldError(index, null, NOT_UTF8)), offset, offset + length);
      return;
    }
    try (JsonParser p = JSON.createParser(body, offset, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        out.reject(
            index,
            List.of(new FieldError(index, null, "an event must be a JSON object")),
            offset,
            offset + length);
        return;
      }
      decodeRecord(p, index, defaultSource, out, offset);
      if (p.nextToken() != null) {
        out.undo(acceptedBefore, rejectedBefore);
        out.reject(
            index,
            List.of(new FieldError(index, null, "unexpected content after the event on its line")),
            offset,
            offset + length);
      }
    } catch (JsonProcessingException e) {
      out.undo(acceptedBefore, rejectedBefore);
      out.reject(
          index,
          List.of(new FieldError(index, null, malformedMessage(e))),
          offset,
          offset + length);
    } catch (IOException e) {
      out.undo(acceptedBefore, rejectedBefore);
      out.reject(
          index,
          List.of(new FieldError(index, null, notUtf8(e).getMessage())),
          offset,
          offset + length);
    }
  }

  private void checkBatchSize(int count) throws BatchTooLargeException {
    if (count > limits.maxBatchEvents()) {
      throw new BatchTooLargeException(
          "a batch holds at most " + limits.maxBatchEvents() + " events");
    }
  }

  private void decodeRecord(JsonParser p, int index, String defaultSource, Collector out)
      throws IOException {
    decodeRecord(p, index, defaultSource, out, 0);
  }

  /**
   * Reads one event object; the parser stands on its START_OBJECT and is left on its END_OBJECT.
   * {@code base} is the offset of the parser's input within the body.
   */
  private void decodeRecord(JsonParser p, int index, String defaultSource, Collector out, int base)
      throws IOException {
    int start = base + (int) p.currentTokenLocation().getByteOffset();
    RecordReader r = new RecordReader(index, out.properties, limits.maxErrorsPerEvent());
    r.privacy = privacy;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      p.nextToken();
      switch (name) {
        case "id" -> {
          if (r.first(name, p)) {
            r.id = readText(p, r, ID);
          }
        }
        case "eventType" -> {
          if (r.first(name, p)) {
            r.eventType = readEventType(p, r);
          }
        }
        case "userId" -> {
          if (r.first(name, p)) {
            r.userId = readText(p, r, USER_ID);
          }
        }
        case "timestamp" -> {
          if (r.first(name, p)) {
            r.timestamp = readTimestamp(p, r);
          }
        }
        case "source" -> {
          if (r.first(name, p)) {
            r.source = readText(p, r, SOURCE);
          }
        }
        case "properties" -> {
          if (r.first(name, p)) {
            readProperties(p, r);
          }
        }
        default -> p.skipChildren(); // unknown top-level fields are ignored, not errors
      }
    }
    if (t != JsonToken.END_OBJECT) {
      throw new IllegalStateException("parser left an object without END_OBJECT: " + t);
    }
    int end = base + (int) p.currentLocation().getByteOffset();
    if (r.eventType == null && !r.seen("eventType")) {
      r.error("eventType", "is required");
    }
    if (r.timestamp == null && !r.seen("timestamp")) {
      r.error("timestamp", "is required");
    }
    if (end - start > limits.maxEventBytes()) {
      r.error(
          null,
          "event is " + (end - start) + " bytes; at most " + limits.maxEventBytes() + " allowed");
    }
    if (r.errors == null && r.eventType != null && !types.admit(r.eventType)) {
      r.error(
          "eventType",
          "a new event type, and "
              + types.max()
              + " exist (maxEventTypes): events of further types cannot be aggregated");
    }
    if (r.errors != null) {
      r.properties.clear();
      out.reject(index, r.reported(), start, end);
      return;
    }
    out.accept(
        index,
        new Event(
            r.id,
            r.eventType,
            privacy.pseudonym(r.userId),
            r.timestamp,
            r.source == null ? defaultSource : r.source,
            r.properties.build()));
  }

  /**
   * The rule of a free-text top-level field: a string (stripped), or an integer kept as its decimal
   * text where SDKs send numbers; null or absent means none; never a lone surrogate; at most {@code
   * maxChars} characters.
   *
   * @param emptyError the error for an empty string, or null if empty means none
   */
  private record TextField(String name, boolean integers, int maxChars, String emptyError) {}

  private static final TextField ID =
      new TextField(
          "id",
          true,
          IngestLimits.MAX_ID_CHARS,
          "must not be empty; omit it to let the server assign one");

  /** Numeric user ids are common in SDKs; they are kept as their decimal text. */
  private static final TextField USER_ID =
      new TextField("userId", true, IngestLimits.MAX_USER_ID_CHARS, null);

  private static final TextField SOURCE =
      new TextField("source", false, IngestLimits.MAX_SOURCE_CHARS, null);

  private static String readText(JsonParser p, RecordReader r, TextField f) throws IOException {
    String text;
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_STRING) {
      text = p.getText().strip();
    } else if (t == JsonToken.VALUE_NUMBER_INT && f.integers()) {
      text = p.getText();
    } else if (t == JsonToken.VALUE_NULL) {
      return null;
    } else {
      return r.error(f.name(), "must be a string, got " + describeAndSkip(p));
    }
    if (text.isEmpty()) {
      return f.emptyError() == null ? null : r.error(f.name(), f.emptyError());
    }
    if (hasLoneSurrogate(text)) {
      return r.error(f.name(), NOT_UNICODE);
    }
    if (text.length() > f.maxChars()) {
      return r.error(f.name(), "is " + text.length() + " characters; at most " + f.maxChars());
    }
    return text;
  }

  private static String readEventType(JsonParser p, RecordReader r) throws IOException {
    if (p.currentToken() != JsonToken.VALUE_STRING) {
      return r.error("eventType", "must be a string, got " + describeAndSkip(p));
    }
    String type = p.getText().strip();
    if (type.isEmpty()) {
      return r.error("eventType", "must not be empty");
    }
    if (type.length() > IngestLimits.MAX_EVENT_TYPE_CHARS) {
      return r.error(
          "eventType",
          "is " + type.length() + " characters; at most " + IngestLimits.MAX_EVENT_TYPE_CHARS);
    }
    for (int i = 0; i < type.length(); i++) {
      if (!isEventTypeChar(type.charAt(i))) {
        return r.error(
            "eventType",
            "\""
                + abbreviate(type)
                + "\" has '"
                + type.charAt(i)
                + "'; allowed are A-Z a-z 0-9 _ . : -");
      }
    }
    return type;
  }

  /** Whether {@code c} may appear in an event type: {@code [A-Za-z0-9_.:-]}. */
  public static boolean isEventTypeChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '_'
        || c == '.'
        || c == ':'
        || c == '-';
  }

  private Long readTimestamp(JsonParser p, RecordReader r) throws IOException {
    long millis;
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_STRING) {
      String text = p.getText();
      millis = Timestamps.parseRfc3339(text.strip());
      if (millis == Timestamps.INVALID) {
        return r.error(
            "timestamp",
            "\""
                + abbreviate(text)
                + "\" is not an RFC 3339 date-time such as 2024-01-15T10:30:00Z");
      }
    } else if (t == JsonToken.VALUE_NUMBER_INT) {
      try {
        millis = p.getLongValue();
      } catch (InputCoercionException e) {
        return r.error("timestamp", "is out of range for epoch milliseconds");
      }
    } else {
      p.skipChildren();
      return r.error(
          "timestamp",
          "must be an RFC 3339 string or integer epoch milliseconds, got " + describe(t));
    }
    if (millis < 0) {
      return r.error("timestamp", "is before 1970-01-01T00:00:00Z");
    }
    long latest = nowMillis.getAsLong() + limits.maxFutureSkew().toMillis();
    if (millis > latest) {
      return r.error(
          "timestamp",
          Timestamps.format(millis)
              + " is more than "
              + futureSkewText
              + " ahead of the server's clock");
    }
    return millis;
  }

  private static void readProperties(JsonParser p, RecordReader r) throws IOException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_NULL) {
      return;
    }
    if (t != JsonToken.START_OBJECT) {
      r.error("properties", "must be an object, got " + describeAndSkip(p));
      return;
    }
    flatten(p, "", 1, r);
  }

  /** The error path of a property; built only when there is an error to report. */
  private static String fieldOf(String key) {
    return "properties." + key;
  }

  /** Reads an object of properties into the builder, flattening nested objects with dots. */
  private static void flatten(JsonParser p, String prefix, int depth, RecordReader r)
      throws IOException {
    EventProperties.Builder props = r.properties;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      String key = prefix.isEmpty() ? name : prefix + "." + name;
      JsonToken value = p.nextToken();
      if (hasLoneSurrogate(name)) {
        p.skipChildren();
        r.error("properties", "a key " + NOT_UNICODE);
        continue;
      }
      if (name.isEmpty()) {
        p.skipChildren();
        r.error(fieldOf(key), "a property key must not be empty");
        continue;
      }
      if (r.privacy.denies(key)) {
        p.skipChildren(); // never kept, so never an error either
        continue;
      }
      if (key.length() > IngestLimits.MAX_PROPERTY_KEY_CHARS) {
        p.skipChildren();
        r.error(
            "properties." + abbreviate(key),
            "key is "
                + key.length()
                + " characters; at most "
                + IngestLimits.MAX_PROPERTY_KEY_CHARS);
        continue;
      }
      switch (value) {
        case START_OBJECT -> {
          if (depth >= IngestLimits.MAX_PROPERTY_DEPTH) {
            p.skipChildren();
            r.error(
                fieldOf(key),
                "objects nest at most " + IngestLimits.MAX_PROPERTY_DEPTH + " levels deep");
          } else {
            flatten(p, key, depth + 1, r);
          }
          continue;
        }
        case START_ARRAY -> {
          p.skipChildren();
          r.error(fieldOf(key), "arrays are not supported; send one property per element");
          continue;
        }
        case VALUE_NULL -> {
          continue; // cleaning: nulls carry nothing
        }
        default -> {}
      }
      if (props.contains(key)) {
        r.error(fieldOf(key), "appears twice");
        continue;
      }
      if (props.size() >= IngestLimits.MAX_PROPERTIES) {
        r.tooManyProperties();
        continue;
      }
      switch (value) {
        case VALUE_STRING -> {
          String s = p.getText().strip();
          int bytes = utf8Length(s);
          if (hasLoneSurrogate(s)) {
            r.error(fieldOf(key), NOT_UNICODE);
          } else if (bytes > IngestLimits.MAX_PROPERTY_STRING_BYTES) {
            r.error(
                fieldOf(key),
                "string is " + bytes + " bytes; at most " + IngestLimits.MAX_PROPERTY_STRING_BYTES);
          } else {
            props.string(key, s);
          }
        }
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
          double d = p.getDoubleValue();
          if (Double.isFinite(d)) {
            props.number(key, d);
          } else {
            r.error(fieldOf(key), "number " + abbreviate(p.getText()) + " is not finite");
          }
        }
        case VALUE_TRUE -> props.bool(key, true);
        case VALUE_FALSE -> props.bool(key, false);
        default -> r.error(fieldOf(key), "unsupported value " + describe(value));
      }
    }
  }

  /**
   * Whether {@code s} holds half of a surrogate pair ({@code "\\ud800"} is valid JSON but not
   * Unicode). Such text cannot survive UTF-8 in the log, so a replayed event would differ from the
   * one counted live.
   */
  static boolean hasLoneSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c)
            && i + 1 < s.length()
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          return true;
        }
      }
    }
    return false;
  }

  /** UTF-8 byte length, without encoding; short strings (the common case) return at once. */
  static int utf8Length(String s) {
    int n = s.length();
    if (n * 3 <= IngestLimits.MAX_PROPERTY_STRING_BYTES) {
      return n; // cannot exceed the limit, exact length not needed
    }
    int bytes = 0;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  private static boolean isBlank(byte[] body, int from, int to) {
    for (int i = from; i < to; i++) {
      byte b = body[i];
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return true;
  }

  private static final String NOT_UTF8 = "malformed JSON: not UTF-8 text";

  /**
   * A parser over UTF-8 JSON. Jackson would take input starting with a zero byte or a UTF-16 byte
   * order mark for UTF-16 or UTF-32 and then parse characters, not bytes, where byte offsets are
   * unknown (-1): the fuzzer found both a 500 and a crash cutting a rejected record's text that
   * way. JSON exchanged between systems is UTF-8 (RFC 8259 §8.1), so anything else is refused here.
   */
  private static JsonParser utf8Parser(byte[] body, int offset, int length)
      throws IOException, MalformedBodyException {
    if (!looksUtf8(body, offset, length)) {
      throw new MalformedBodyException(NOT_UTF8);
    }
    return JSON.createParser(body, offset, length);
  }

  /** False for what Jackson would detect as UTF-16 or UTF-32 (RFC 4627 §3). */
  private static boolean looksUtf8(byte[] b, int offset, int length) {
    for (int i = offset; i < offset + Math.min(length, 4); i++) {
      if (b[i] == 0) {
        return false;
      }
    }
    return length < 2
        || !((b[offset] == (byte) 0xFE && b[offset + 1] == (byte) 0xFF)
            || (b[offset] == (byte) 0xFF && b[offset + 1] == (byte) 0xFE));
  }

  /**
   * Reading bytes in memory fails only on an encoding error: Jackson takes a body starting with
   * zero bytes for UTF-16 or UTF-32 (as JSON's old auto-detection allowed) and then finds it is
   * not. The fuzzer found this, as a 500. JSON is UTF-8 (RFC 8259).
   */
  private static MalformedBodyException notUtf8(IOException e) {
    return new MalformedBodyException("malformed JSON: not UTF-8 text (" + e.getMessage() + ")");
  }

  private static MalformedBodyException malformed(JsonProcessingException e) {
    return new MalformedBodyException(malformedMessage(e));
  }

  private static String malformedMessage(JsonProcessingException e) {
    JsonLocation at = e.getLocation();
    String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    return "malformed JSON" + where + ": " + e.getOriginalMessage();
  }

  /**
   * Describes the current value and skips it; in this order, as skipping an object or array leaves
   * the parser on its closing token.
   */
  private static String describeAndSkip(JsonParser p) throws IOException {
    String described = describe(p.currentToken());
    p.skipChildren();
    return described;
  }

  private static String describe(JsonToken t) {
    if (t == null) {
      return "nothing";
    }
    return switch (t) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> t.asString() == null ? t.name() : t.asString();
    };
  }

  private static String describe(Duration d) {
    return d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 61) + "...";
  }

  /** Per-record parsing state: what has been read and what went wrong. */
  private static final class RecordReader {
    final int index;
    final EventProperties.Builder properties;
    Privacy privacy = Privacy.none();
    List<FieldError> errors;
    String id;
    String eventType;
    String userId;
    Long timestamp;
    String source;
    private int seenFields;
    private boolean reportedTooMany;
    private long moreErrors;
    private final int maxErrors;

    RecordReader(int index, EventProperties.Builder properties, int maxErrors) {
      this.index = index;
      this.maxErrors = maxErrors;
      this.properties = properties;
      properties.clear();
    }

    <T> T error(String field, String message) {
      if (errors == null) {
        errors = new ArrayList<>(2);
      }
      if (errors.size() < maxErrors) {
        errors.add(new FieldError(index, field, message));
      } else {
        moreErrors++; // counted, not kept: errors must not cost more than the body did
      }
      return null;
    }

    /** The kept errors, with one counting those past {@link IngestLimits#maxErrorsPerEvent()}. */
    List<FieldError> reported() {
      if (moreErrors == 0) {
        return errors;
      }
      List<FieldError> out = new ArrayList<>(errors);
      out.add(new FieldError(index, null, "… and " + moreErrors + " more errors in this event"));
      return out;
    }

    void tooManyProperties() {
      if (!reportedTooMany) {
        reportedTooMany = true;
        error("properties", "more than " + IngestLimits.MAX_PROPERTIES + " properties");
      }
    }

    boolean seen(String field) {
      return (seenFields & bit(field)) != 0;
    }

    /**
     * Whether this is the first occurrence of top-level {@code field}; a second one is reported and
     * skipped instead of silently replacing the first.
     */
    boolean first(String field, JsonParser p) throws IOException {
      int bit = bit(field);
      if ((seenFields & bit) != 0) {
        p.skipChildren();
        error(field, "appears twice");
        return false;
      }
      seenFields |= bit;
      return true;
    }

    private static int bit(String field) {
      return switch (field) {
        case "id" -> 1;
        case "eventType" -> 2;
        case "userId" -> 4;
        case "timestamp" -> 8;
        case "source" -> 16;
        default -> 32;
      };
    }
  }

  /** Gathers the outcome of a body, keeping the request index of every record. */
  private static final class Collector {
    final byte[] body;
    final List<Event> events = new ArrayList<>();
    final List<Rejection> rejections = new ArrayList<>(0);
    final EventProperties.Builder properties = EventProperties.builder();
    final Privacy privacy;
    int[] indexes = new int[16];

    Collector(byte[] body, Privacy privacy) {
      this.body = body;
      this.privacy = privacy;
    }

    void accept(int index, Event event) {
      if (events.size() == indexes.length) {
        indexes = java.util.Arrays.copyOf(indexes, indexes.length * 2);
      }
      indexes[events.size()] = index;
      events.add(event);
    }

    void reject(int index, List<FieldError> errors, int start, int end) {
      start = Math.max(0, Math.min(start, body.length));
      int length = Math.max(0, Math.min(Math.min(end, body.length) - start, MAX_RAW_CHARS));
      // A rejected record is kept as sent, which would keep what privacy settings remove.
      String raw =
          privacy.removesAnything()
              ? Privacy.WITHHELD
              : new String(body, start, length, StandardCharsets.UTF_8);
      rejections.add(new Rejection(index, List.copyOf(errors), raw));
    }

    /** Forgets what the current record added, when a later check rejects it after all. */
    void undo(int acceptedBefore, int rejectedBefore) {
      while (events.size() > acceptedBefore) {
        events.remove(events.size() - 1);
      }
      while (rejections.size() > rejectedBefore) {
        rejections.remove(rejections.size() - 1);
      }
    }

    DecodedBatch result(int received) {
      return new DecodedBatch(
          events, java.util.Arrays.copyOf(indexes, events.size()), rejections, received);
    }
  }
}
