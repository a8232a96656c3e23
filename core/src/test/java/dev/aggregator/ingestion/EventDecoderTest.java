package dev.aggregator.ingestion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.PropertyKind;
import dev.aggregator.event.Timestamps;
import dev.aggregator.testing.TestEvents;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** The event contract of docs/DESIGN.md §3, one test per rule and per limit. */
class EventDecoderTest {
  /** The server's clock in every test: later than the seed sample, so it is historical. */
  private static final long NOW = millis("2024-06-01T12:00:00Z");

  private static final long SAMPLE_TIME = millis("2024-01-15T10:30:00Z");

  /** A valid record's mandatory fields, to which a test appends the fields it is about. */
  private static final String VALID = "\"eventType\":\"page_view\",\"timestamp\":0";

  private final EventDecoder decoder = new EventDecoder(IngestLimits.defaults(), () -> NOW);

  // ---------------------------------------------------------------- the seed sample

  @Test
  void bytesJacksonTakesForUtf32AreMalformedJsonNotAServerError() throws Exception {
    // Found by HostileInputFuzzTest: leading zero bytes made Jackson read UTF-32 and then throw
    // an I/O error the decoder reported as a bug (a 500).
    EventDecoder d = new EventDecoder(IngestLimits.defaults(), () -> 1705314600000L);
    byte[] body = {0, 0, 0, '{', 0}; // UTF-32 by its zeros, cut inside its second character
    assertThatThrownBy(() -> d.decodeOne(body, "http"))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageContaining("not UTF-8");
    assertThatThrownBy(() -> d.decodeBatch(body, BodyFormat.JSON, "http"))
        .isInstanceOf(MalformedBodyException.class);
    DecodedBatch lines = d.decodeBatch(body, BodyFormat.NDJSON, "http");
    assertThat(lines.received()).isEqualTo(1);
    assertThat(lines.rejections()).hasSize(1);
    // UTF-16 by its zeros: Jackson parsed characters, byte offsets were -1, and cutting the
    // rejected record's text threw (found by the fuzzer too).
    byte[] utf16 = {'{', 0, '}', 0};
    assertThatThrownBy(() -> d.decodeOne(utf16, "http"))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageContaining("not UTF-8");
    byte[] bom = {(byte) 0xFF, (byte) 0xFE, '{', 0, '}', 0};
    assertThatThrownBy(() -> d.decodeBatch(bom, BodyFormat.JSON, "http"))
        .isInstanceOf(MalformedBodyException.class);
    DecodedBatch mixed =
        d.decodeBatch(
            ("{\"eventType\":\"a\",\"timestamp\":1705314600000}\n{\u0000}\n")
                .getBytes(StandardCharsets.UTF_8),
            BodyFormat.NDJSON,
            "http");
    assertThat(mixed.events()).hasSize(1);
    assertThat(mixed.rejections()).hasSize(1);
  }

  @Test
  void decodesTheSeedSample() throws Exception {
    Event event = accepted(TestEvents.SEED_SAMPLE);

    assertThat(event)
        .isEqualTo(
            TestEvents.event("page_view")
                .user("user123")
                .at("2024-01-15T10:30:00Z")
                .prop("page", "/products")
                .prop("category", "electronics")
                .prop("value", 99.99)
                .build());
  }

  // ---------------------------------------------------------------- eventType

  @Test
  void rejectsEventWithoutEventType() throws Exception {
    assertSingleError(rejected("{\"timestamp\":0}"), "eventType", "is required");
  }

  @Test
  void rejectsNullEventType() throws Exception {
    assertSingleError(
        rejected("{\"eventType\":null,\"timestamp\":0}"),
        "eventType",
        "must be a string, got null");
  }

  @Test
  void rejectsEventTypeThatIsNotAString() throws Exception {
    assertSingleError(
        rejected("{\"eventType\":42,\"timestamp\":0}"),
        "eventType",
        "must be a string, got a number");
    assertSingleError(
        rejected("{\"eventType\":[\"page_view\"],\"timestamp\":0}"),
        "eventType",
        "must be a string, got an array");
    assertSingleError(
        rejected("{\"eventType\":{\"name\":\"page_view\"},\"timestamp\":0}"),
        "eventType",
        "must be a string, got an object");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "   "})
  void rejectsEmptyEventType(String type) throws Exception {
    assertSingleError(
        rejected("{\"eventType\":\"" + type + "\",\"timestamp\":0}"),
        "eventType",
        "must not be empty");
  }

  @Test
  void acceptsEventTypeOf128Characters() throws Exception {
    String type = "a".repeat(128);

    assertThat(accepted("{\"eventType\":\"" + type + "\",\"timestamp\":0}").eventType())
        .isEqualTo(type);
  }

  @Test
  void rejectsEventTypeLongerThan128Characters() throws Exception {
    assertSingleError(
        rejected("{\"eventType\":\"" + "a".repeat(129) + "\",\"timestamp\":0}"),
        "eventType",
        "is 129 characters; at most 128");
  }

  @Test
  void acceptsEveryAllowedEventTypeCharacter() throws Exception {
    String type = "AZaz09_.:-Page.View:v2-beta_1";

    assertThat(accepted("{\"eventType\":\"" + type + "\",\"timestamp\":0}").eventType())
        .isEqualTo(type);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {"page view|' '", "page/view|/", "café|é", "a\\\"b|'\"'", "a*|*", "ta\\tb|'\t'"})
  void rejectsEventTypeWithCharactersOutsideTheAllowedSet(String type, String offending)
      throws Exception {
    FieldError error = rejectedWith("{\"eventType\":\"" + type + "\",\"timestamp\":0}");

    assertError(error, "eventType", "has '" + offending + "';");
    assertThat(error.message()).contains("allowed are A-Z a-z 0-9 _ . : -");
  }

  @Test
  void trimsEventType() throws Exception {
    assertThat(accepted("{\"eventType\":\"  page_view \",\"timestamp\":0}").eventType())
        .isEqualTo("page_view");
  }

  // ---------------------------------------------------------------- timestamp

  @Test
  void rejectsEventWithoutTimestamp() throws Exception {
    assertSingleError(rejected("{\"eventType\":\"page_view\"}"), "timestamp", "is required");
  }

  @Test
  void acceptsRfc3339TimestampInUtc() throws Exception {
    assertThat(timestampOf("\"2024-01-15T10:30:00Z\"")).isEqualTo(SAMPLE_TIME);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2024-01-15T12:30:00+02:00",
        "2024-01-15T05:00:00-05:30",
        "2024-01-15T10:30:00+00:00",
        "2024-01-15T10:30:00-00:00",
        "2024-01-16T00:30:00+14:00"
      })
  void convertsTimestampWithOffsetToUtc(String timestamp) throws Exception {
    assertThat(timestampOf("\"" + timestamp + "\""))
        .as("%s in UTC", timestamp)
        .isEqualTo(SAMPLE_TIME);
  }

  @ParameterizedTest
  @CsvSource({
    "2024-01-15T10:30:00.1Z, 100",
    "2024-01-15T10:30:00.12Z, 120",
    "2024-01-15T10:30:00.123Z, 123",
    "2024-01-15T10:30:00.123999999Z, 123",
    "2024-01-15T12:30:00.000000001+02:00, 0"
  })
  void truncatesFractionalSecondsToMilliseconds(String timestamp, long extraMillis)
      throws Exception {
    assertThat(timestampOf("\"" + timestamp + "\"")).isEqualTo(SAMPLE_TIME + extraMillis);
  }

  @Test
  void acceptsEpochMillisecondsAsNumber() throws Exception {
    assertThat(timestampOf(Long.toString(SAMPLE_TIME))).isEqualTo(SAMPLE_TIME);
  }

  @Test
  void acceptsEpochZero() throws Exception {
    assertThat(timestampOf("0")).isZero();
    assertThat(timestampOf("\"1970-01-01T00:00:00Z\"")).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"1705314600000.5", "1705314600000.0", "1.7053146E12"})
  void rejectsFractionalNumberTimestamp(String number) throws Exception {
    assertSingleError(
        rejected("{\"eventType\":\"page_view\",\"timestamp\":" + number + "}"),
        "timestamp",
        "must be an RFC 3339 string or integer epoch milliseconds, got a number");
  }

  @Test
  void rejectsTimestampOfAnotherType() throws Exception {
    assertSingleError(
        rejected("{\"eventType\":\"page_view\",\"timestamp\":true}"), "timestamp", "got a boolean");
    assertSingleError(
        rejected("{\"eventType\":\"page_view\",\"timestamp\":{\"ms\":0}}"),
        "timestamp",
        "got an object");
    assertSingleError(
        rejected("{\"eventType\":\"page_view\",\"timestamp\":null}"), "timestamp", "got null");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "yesterday",
        "",
        "2024-01-15",
        "2024-01-15T10:30:00",
        "2024-01-15 10:30",
        "2024-13-15T10:30:00Z",
        "1705314600000"
      })
  void rejectsTimestampStringThatIsNotAnRfc3339DateTime(String text) throws Exception {
    assertSingleError(
        rejected("{\"eventType\":\"page_view\",\"timestamp\":\"" + text + "\"}"),
        "timestamp",
        "\"" + text + "\" is not an RFC 3339 date-time");
  }

  @Test
  void rejectsTimestampOutOfRangeForEpochMilliseconds() throws Exception {
    assertSingleError(
        rejected("{\"eventType\":\"page_view\",\"timestamp\":99999999999999999999}"),
        "timestamp",
        "out of range");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1", "\"1969-12-31T23:59:59.999Z\"", "\"1970-01-01T00:30:00+01:00\""})
  void rejectsTimestampBefore1970(String timestamp) throws Exception {
    assertSingleError(
        rejected("{\"eventType\":\"page_view\",\"timestamp\":" + timestamp + "}"),
        "timestamp",
        "is before 1970-01-01T00:00:00Z");
  }

  @Test
  void rejectsTimestampMoreThanMaxFutureSkewAhead() throws Exception {
    long tooLate = NOW + Duration.ofMinutes(5).toMillis() + 1;

    assertSingleError(
        rejected("{\"eventType\":\"page_view\",\"timestamp\":" + tooLate + "}"),
        "timestamp",
        Timestamps.format(tooLate) + " is more than 5m ahead of the server's clock");
  }

  @Test
  void acceptsTimestampExactlyAtTheFutureSkewBoundary() throws Exception {
    long latest = NOW + Duration.ofMinutes(5).toMillis();

    assertThat(timestampOf(Long.toString(latest))).isEqualTo(latest);
    assertThat(timestampOf("\"2024-06-01T12:05:00Z\"")).isEqualTo(latest);
  }

  @Test
  void futureSkewFollowsTheConfiguredLimitAndTheClock() throws Exception {
    long[] clock = {NOW};
    EventDecoder strict =
        new EventDecoder(new IngestLimits(32 * 1024, 10, 1024, Duration.ZERO), () -> clock[0]);
    byte[] body = bytes("{\"eventType\":\"page_view\",\"timestamp\":" + (NOW + 1) + "}");

    assertThat(strict.decodeOne(body, "http").errors())
        .singleElement()
        .satisfies(e -> assertError(e, "timestamp", "is more than 0s ahead"));

    clock[0] = NOW + 1;
    assertThat(strict.decodeOne(body, "http").events()).hasSize(1);
  }

  // ---------------------------------------------------------------- userId

  @Test
  void userIdIsOptional() throws Exception {
    assertThat(accepted("{" + VALID + "}").userId()).isNull();
    assertThat(accepted("{" + VALID + ",\"userId\":null}").userId()).isNull();
  }

  @Test
  void acceptsUserIdOf256Characters() throws Exception {
    String user = "u".repeat(256);

    assertThat(accepted("{" + VALID + ",\"userId\":\"" + user + "\"}").userId()).isEqualTo(user);
  }

  @Test
  void rejectsUserIdLongerThan256Characters() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"userId\":\"" + "u".repeat(257) + "\"}"),
        "userId",
        "is 257 characters; at most 256");
  }

  @Test
  void acceptsNumericUserIdAsItsDecimalText() throws Exception {
    assertThat(accepted("{" + VALID + ",\"userId\":1234567890123}").userId())
        .isEqualTo("1234567890123");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  "})
  void emptyUserIdBecomesNull(String user) throws Exception {
    assertThat(accepted("{" + VALID + ",\"userId\":\"" + user + "\"}").userId()).isNull();
  }

  @Test
  void trimsUserId() throws Exception {
    assertThat(accepted("{" + VALID + ",\"userId\":\" user123 \"}").userId()).isEqualTo("user123");
  }

  @Test
  void rejectsUserIdThatIsNotAStringOrInteger() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"userId\":1.5}"), "userId", "must be a string, got a number");
    assertSingleError(
        rejected("{" + VALID + ",\"userId\":true}"), "userId", "must be a string, got a boolean");
    assertSingleError(
        rejected("{" + VALID + ",\"userId\":{\"id\":1}}"),
        "userId",
        "must be a string, got an object");
  }

  // ---------------------------------------------------------------- id

  @Test
  void idIsOptional() throws Exception {
    assertThat(accepted("{" + VALID + "}").id()).isNull();
    assertThat(accepted("{" + VALID + ",\"id\":null}").id()).isNull();
  }

  @Test
  void keepsTheClientsId() throws Exception {
    assertThat(accepted("{" + VALID + ",\"id\":\"evt-1\"}").id()).isEqualTo("evt-1");
    assertThat(accepted("{" + VALID + ",\"id\":42}").id()).isEqualTo("42");
  }

  @Test
  void acceptsIdOf128Characters() throws Exception {
    String id = "i".repeat(128);

    assertThat(accepted("{" + VALID + ",\"id\":\"" + id + "\"}").id()).isEqualTo(id);
  }

  @Test
  void rejectsIdLongerThan128Characters() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"id\":\"" + "i".repeat(129) + "\"}"),
        "id",
        "is 129 characters; at most 128");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "   "})
  void rejectsEmptyId(String id) throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"id\":\"" + id + "\"}"),
        "id",
        "must not be empty; omit it to let the server assign one");
  }

  @Test
  void rejectsIdThatIsNotAStringOrInteger() throws Exception {
    assertSingleError(rejected("{" + VALID + ",\"id\":false}"), "id", "got a boolean");
    assertSingleError(rejected("{" + VALID + ",\"id\":[1]}"), "id", "got an array");
  }

  // ---------------------------------------------------------------- source

  @Test
  void sourceDefaultsToTheIngestionChannel() throws Exception {
    assertThat(accepted("{" + VALID + "}").source()).isEqualTo("http");
    assertThat(decoder.decodeOne(bytes("{" + VALID + "}"), "kafka").events())
        .singleElement()
        .extracting(Event::source)
        .isEqualTo("kafka");
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"\"", "\"   \"", "null"})
  void emptySourceFallsBackToTheChannel(String source) throws Exception {
    assertThat(accepted("{" + VALID + ",\"source\":" + source + "}").source()).isEqualTo("http");
  }

  @Test
  void trimsSource() throws Exception {
    assertThat(accepted("{" + VALID + ",\"source\":\"  web \"}").source()).isEqualTo("web");
  }

  @Test
  void acceptsSourceOf128Characters() throws Exception {
    String source = "s".repeat(128);

    assertThat(accepted("{" + VALID + ",\"source\":\"" + source + "\"}").source())
        .isEqualTo(source);
  }

  @Test
  void rejectsSourceLongerThan128Characters() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"source\":\"" + "s".repeat(129) + "\"}"),
        "source",
        "is 129 characters; at most 128");
  }

  @Test
  void rejectsSourceThatIsNotAString() throws Exception {
    assertSingleError(rejected("{" + VALID + ",\"source\":7}"), "source", "got a number");
    assertSingleError(rejected("{" + VALID + ",\"source\":{}}"), "source", "got an object");
  }

  // ---------------------------------------------------------------- properties

  @Test
  void keepsStringNumberAndBooleanPropertiesWithTheirKinds() throws Exception {
    EventProperties props =
        propertiesOf("{\"page\":\"/p\",\"value\":99.99,\"count\":3,\"new\":true,\"old\":false}");

    assertThat(kinds(props))
        .containsExactly(
            Map.entry("page", PropertyKind.STRING),
            Map.entry("value", PropertyKind.NUMBER),
            Map.entry("count", PropertyKind.NUMBER),
            Map.entry("new", PropertyKind.BOOLEAN),
            Map.entry("old", PropertyKind.BOOLEAN));
    assertThat(props.toMap())
        .containsExactly(
            Map.entry("page", "/p"),
            Map.entry("value", 99.99),
            Map.entry("count", 3.0),
            Map.entry("new", true),
            Map.entry("old", false));
    assertThat(props.string(props.indexOf("new"))).isEqualTo("true");
  }

  @Test
  void propertiesAreOptional() throws Exception {
    assertThat(accepted("{" + VALID + "}").properties()).isEqualTo(EventProperties.empty());
    assertThat(propertiesOf("null").size()).isZero();
    assertThat(propertiesOf("{}").size()).isZero();
  }

  @Test
  void dropsNullProperties() throws Exception {
    assertThat(propertiesOf("{\"a\":null,\"b\":1,\"c\":{\"d\":null}}").toMap())
        .containsExactly(Map.entry("b", 1.0));
  }

  @Test
  void trimsPropertyStrings() throws Exception {
    assertThat(propertiesOf("{\"page\":\"  /products\\t \"}").toMap())
        .containsExactly(Map.entry("page", "/products"));
  }

  @Test
  void flattensNestedObjectsWithDotsUpToDepthThree() throws Exception {
    EventProperties props =
        propertiesOf(
            "{\"device\":{\"os\":\"ios\",\"screen\":{\"w\":390,\"retina\":true}},\"page\":\"/\"}");

    assertThat(props.toMap())
        .containsExactly(
            Map.entry("device.os", "ios"),
            Map.entry("device.screen.w", 390.0),
            Map.entry("device.screen.retina", true),
            Map.entry("page", "/"));
  }

  @Test
  void rejectsPropertiesNestedFourLevelsDeep() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}}}"),
        "properties.a.b.c",
        "objects nest at most 3 levels deep");
  }

  @Test
  void rejectsArrayProperty() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"tags\":[\"a\",\"b\"]}}"),
        "properties.tags",
        "arrays are not supported");
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"device\":{\"ids\":[]}}}"),
        "properties.device.ids",
        "arrays are not supported");
  }

  @Test
  void acceptsOneHundredProperties() throws Exception {
    assertThat(propertiesOf(numberedProperties(100)).size()).isEqualTo(100);
  }

  @Test
  void rejectsMoreThanOneHundredPropertiesOnce() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":" + numberedProperties(102) + "}"),
        "properties",
        "more than 100 properties");
  }

  @Test
  void nullPropertiesDoNotCountTowardsTheLimit() throws Exception {
    String props = numberedProperties(100).replace("}", ",\"x\":null,\"y\":null}");

    assertThat(propertiesOf(props).size()).isEqualTo(100);
  }

  @Test
  void acceptsPropertyKeyOf128Characters() throws Exception {
    String key = "k".repeat(64) + "." + "k".repeat(63);

    assertThat(propertiesOf("{\"" + key + "\":1}").indexOf(key)).isZero();
    assertThat(
            propertiesOf("{\"" + "k".repeat(64) + "\":{\"" + "k".repeat(63) + "\":1}}")
                .indexOf(key))
        .isZero();
  }

  @Test
  void rejectsPropertyKeyLongerThan128Characters() throws Exception {
    FieldError flat =
        rejectedWith("{" + VALID + ",\"properties\":{\"" + "k".repeat(129) + "\":1}}");
    FieldError nested =
        rejectedWith(
            "{"
                + VALID
                + ",\"properties\":{\"device\":{\""
                + "k".repeat(122)
                + "\":1}}}"); // "device." + 122 = 129

    assertError(flat, "properties." + "k".repeat(61) + "...", "key is 129 characters; at most 128");
    assertError(nested, "properties.device." + "k".repeat(54) + "...", "key is 129 characters");
  }

  @Test
  void rejectsEmptyPropertyKey() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"\":1}}"),
        "properties.",
        "a property key must not be empty");
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"device\":{\"\":\"x\"}}}"),
        "properties.device.",
        "a property key must not be empty");
  }

  @Test
  void acceptsPropertyStringOfOneKibibyte() throws Exception {
    String ascii = "a".repeat(1024);
    String twoByte = "é".repeat(512);
    String fourByte = "\uD83D\uDE00".repeat(256); // 😀, 4 bytes in UTF-8

    assertThat(propertiesOf("{\"s\":\"" + ascii + "\"}").string(0)).isEqualTo(ascii);
    assertThat(propertiesOf("{\"s\":\"" + twoByte + "\"}").string(0)).isEqualTo(twoByte);
    assertThat(propertiesOf("{\"s\":\"" + fourByte + "\"}").string(0)).isEqualTo(fourByte);
  }

  @Test
  void rejectsPropertyStringLongerThanOneKibibyteInUtf8() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"s\":\"" + "a".repeat(1025) + "\"}}"),
        "properties.s",
        "string is 1025 bytes; at most 1024");
    // 513 characters but 1026 bytes: the limit is on bytes, not characters
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"s\":\"" + "é".repeat(513) + "\"}}"),
        "properties.s",
        "string is 1026 bytes; at most 1024");
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"s\":\"" + "€".repeat(342) + "\"}}"),
        "properties.s",
        "string is 1026 bytes; at most 1024");
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"s\":\"" + "\uD83D\uDE00".repeat(257) + "\"}}"),
        "properties.s",
        "string is 1028 bytes; at most 1024");
  }

  @Test
  void measuresPropertyStringsAfterTrimming() throws Exception {
    String padded = "  " + "a".repeat(1024) + "  ";

    assertThat(propertiesOf("{\"s\":\"" + padded + "\"}").string(0)).isEqualTo(padded.strip());
  }

  @ParameterizedTest
  @ValueSource(strings = {"1e400", "-1e400", "1" + "0000000000" + "0000000000" + "E330"})
  void rejectsNonFiniteNumberProperty(String number) throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"big\":" + number + "}}"),
        "properties.big",
        "number " + number + " is not finite");
  }

  @Test
  void rejectsDuplicatePropertyKey() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"a\":1,\"a\":2}}"),
        "properties.a",
        "appears twice");
  }

  @Test
  void rejectsPropertyKeyThatCollidesAfterFlattening() throws Exception {
    assertSingleError(
        rejected(
            "{" + VALID + ",\"properties\":{\"device.os\":\"ios\",\"device\":{\"os\":\"x\"}}}"),
        "properties.device.os",
        "appears twice");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {"[]|an array", "\"page\"|a string", "5|a number", "true|a boolean"})
  void rejectsPropertiesThatAreNotAnObject(String properties, String got) throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":" + properties + "}"),
        "properties",
        "must be an object, got " + got);
  }

  // ---------------------------------------------------------------- the record as a whole

  @Test
  void ignoresUnknownTopLevelFields() throws Exception {
    Event event =
        accepted(
            "{\"version\":2,\"eventType\":\"page_view\",\"extra\":{\"nested\":[1,{\"a\":[]}]},"
                + "\"timestamp\":0,\"tags\":[\"x\"],\"flag\":null}");

    assertThat(event).isEqualTo(TestEvents.event("page_view").at(0).build());
  }

  @ParameterizedTest
  @ValueSource(strings = {"eventType", "timestamp", "userId", "id", "source"})
  void rejectsDuplicateTopLevelField(String field) throws Exception {
    String once = "\"" + field + "\":" + (field.equals("timestamp") ? "1" : "\"x\"");
    // VALID already holds eventType and timestamp once
    String twice = VALID.contains(field) ? once : once + "," + once;

    assertSingleError(rejected("{" + VALID + "," + twice + "}"), field, "appears twice");
  }

  @Test
  void rejectsDuplicatePropertiesObject() throws Exception {
    assertSingleError(
        rejected("{" + VALID + ",\"properties\":{\"a\":1},\"properties\":{\"b\":2}}"),
        "properties",
        "appears twice");
  }

  @Test
  void reportsEveryErrorOfARecord() throws Exception {
    DecodedBatch batch =
        decode(
            "{\"timestamp\":\"soon\",\"userId\":true,\"id\":\"\","
                + "\"properties\":{\"tags\":[1],\"ok\":1,\"deep\":{\"a\":{\"b\":{}}}}}");

    assertThat(batch.events()).isEmpty();
    assertThat(batch.errors())
        .extracting(FieldError::index, FieldError::field)
        .containsExactly(
            tuple(0, "timestamp"),
            tuple(0, "userId"),
            tuple(0, "id"),
            tuple(0, "properties.tags"),
            tuple(0, "properties.deep.a.b"),
            tuple(0, "eventType"));
    assertThat(batch.errors().get(5).message()).isEqualTo("is required");
  }

  @Test
  void aMillionBadKeysInOneEventGiveTenErrorsAndACountNotAMillionErrors() throws Exception {
    // The attack that filled the heap: one event, ~5 MiB of over-long keys, each one an error.
    EventDecoder big = new EventDecoder(limits(5 * 1024 * 1024, 10), () -> NOW);
    StringBuilder json = new StringBuilder("{" + VALID + ",\"properties\":{");
    String longKey = "k".repeat(IngestLimits.MAX_PROPERTY_KEY_CHARS + 1);
    int keys = 0;
    while (json.length() < 5 * 1024 * 1024 - 200) {
      json.append(keys == 0 ? "" : ",").append('"').append(longKey).append(keys++).append("\":1");
    }
    json.append("}}");

    DecodedBatch batch = big.decodeOne(bytes(json.toString()), "http");

    List<FieldError> errors = batch.errors();
    assertThat(errors).hasSize(IngestLimits.MAX_ERRORS_PER_RECORD + 1);
    assertThat(errors.get(errors.size() - 1).message())
        .isEqualTo(
            "… and " + (keys - IngestLimits.MAX_ERRORS_PER_RECORD) + " more errors in this event");
  }

  @Test
  void aResponseListsAHundredErrorsAndCountsTheRest() throws Exception {
    EventDecoder many = new EventDecoder(limits(32 * 1024, 10_000), () -> NOW);
    StringBuilder body = new StringBuilder();
    for (int i = 0; i < 1_000; i++) {
      body.append("{\"timestamp\":\"2024-01-15T10:30:00Z\"}\n"); // eventType missing
    }

    DecodedBatch batch = many.decodeBatch(bytes(body.toString()), BodyFormat.NDJSON, "http");

    assertThat(batch.rejections()).hasSize(1_000);
    List<FieldError> errors = batch.errors();
    assertThat(errors).hasSize(IngestLimits.MAX_ERRORS_PER_RESPONSE + 1);
    assertThat(errors.get(100).index()).isEqualTo(100);
    assertThat(errors.get(100).message())
        .isEqualTo(
            "… and 900 more errors from this event on (1000 events rejected in all;"
                + " GET /api/events/deadletters lists them)");
  }

  @Test
  void theErrorCapsAreSettings() throws Exception {
    EventDecoder capped =
        new EventDecoder(
            new IngestLimits(32 * 1024, 10_000, 5 * 1024 * 1024, Duration.ofMinutes(5), 2, 3),
            () -> NOW);
    StringBuilder body = new StringBuilder();
    for (int i = 0; i < 5; i++) { // each: timestamp, userId, id, eventType wrong
      body.append("{\"timestamp\":\"soon\",\"userId\":true,\"id\":\"\"}\n");
    }

    DecodedBatch batch = capped.decodeBatch(bytes(body.toString()), BodyFormat.NDJSON, "http");

    assertThat(batch.rejections().get(0).errors())
        .extracting(FieldError::message)
        .hasSize(3)
        .last()
        .isEqualTo("… and 2 more errors in this event");
    List<FieldError> errors = batch.errors(capped.limits().maxErrorsPerResponse());
    assertThat(errors).hasSize(4);
    assertThat(errors.get(3).message()).startsWith("… and 12 more errors from this event on");
    assertThatThrownBy(() -> new IngestLimits(1024, 10, 1024, Duration.ZERO, 0, 100))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void acceptsEventOfExactlyMaxEventBytes() throws Exception {
    EventDecoder small = new EventDecoder(limits(100, 10), () -> NOW);
    String json = padTo("{" + VALID + ",\"properties\":{\"s\":\"", "\"}}", 100);

    assertThat(small.decodeOne(bytes(json), "http").events()).hasSize(1);
  }

  @Test
  void rejectsEventLargerThanMaxEventBytes() throws Exception {
    EventDecoder small = new EventDecoder(limits(100, 10), () -> NOW);
    String json = padTo("{" + VALID + ",\"properties\":{\"s\":\"", "\"}}", 101);

    DecodedBatch batch = small.decodeOne(bytes(json), "http");

    assertThat(batch.events()).isEmpty();
    assertThat(batch.errors())
        .singleElement()
        .satisfies(e -> assertError(e, null, "event is 101 bytes; at most 100 allowed"));
  }

  @Test
  void measuresEventSizeInUtf8Bytes() throws Exception {
    EventDecoder small = new EventDecoder(limits(100, 10), () -> NOW);
    String multiByte =
        padTo("{" + VALID + ",\"properties\":{\"s\":\"", "\"}}", 99)
            .replaceFirst("x", "é"); // 99 characters, 100 bytes

    assertThat(small.decodeOne(bytes(multiByte), "http").events()).hasSize(1);
    assertThat(small.decodeOne(bytes(multiByte.replaceFirst("x", "é")), "http").errors())
        .singleElement()
        .satisfies(e -> assertError(e, null, "event is 101 bytes"));
  }

  @Test
  void errorsOfASingleEventHaveIndexZero() throws Exception {
    DecodedBatch batch = decode("{\"eventType\":\"page_view\"}");

    assertThat(batch.rejections())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.index()).isZero();
              assertThat(r.raw()).isEqualTo("{\"eventType\":\"page_view\"}");
            });
    assertThat(batch.received()).isEqualTo(1);
  }

  // ---------------------------------------------------------------- decodeOne framing

  @Test
  void decodeOneRejectsAnArray() {
    assertThatThrownBy(() -> decode("[{" + VALID + "}]"))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageContaining("send arrays to /api/events/batch");
  }

  @ParameterizedTest
  @ValueSource(strings = {"42", "\"event\"", "null", "true", "", "   "})
  void decodeOneRejectsWhatIsNotAnObject(String body) {
    assertThatThrownBy(() -> decode(body))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageContaining("expected one JSON event object");
  }

  @Test
  void decodeOneRejectsMalformedJson() {
    assertThatThrownBy(() -> decode("{\"eventType\":\"page_view\",\"timestamp\":"))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageStartingWith("malformed JSON at line 1");
    assertThatThrownBy(() -> decode("{\"eventType\":page_view}"))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageStartingWith("malformed JSON at line 1, column ");
  }

  @Test
  void decodeOneRejectsContentAfterTheObject() {
    assertThatThrownBy(() -> decode("{" + VALID + "} {" + VALID + "}"))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageContaining("unexpected content after the event object");
    assertThatThrownBy(() -> decode("{" + VALID + "} trailing"))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageStartingWith("malformed JSON");
  }

  // ---------------------------------------------------------------- batches

  @Test
  void decodesJsonArrayBatch() throws Exception {
    DecodedBatch batch =
        batch(
            "[{\"eventType\":\"a\",\"timestamp\":1},\n {\"eventType\":\"b\",\"timestamp\":2}]",
            BodyFormat.JSON);

    assertThat(batch.events()).extracting(Event::eventType).containsExactly("a", "b");
    assertThat(batch.indexes()).containsExactly(0, 1);
    assertThat(batch.rejections()).isEmpty();
    assertThat(batch.received()).isEqualTo(2);
  }

  @Test
  void decodesEmptyJsonArray() throws Exception {
    DecodedBatch batch = batch("[]", BodyFormat.JSON);

    assertThat(batch.events()).isEmpty();
    assertThat(batch.received()).isZero();
  }

  @Test
  void decodesEventsWrapperObject() throws Exception {
    DecodedBatch batch =
        batch(
            "{\"meta\":{\"sdk\":[1,2]},\"events\":[{\"eventType\":\"a\",\"timestamp\":1},"
                + "{\"eventType\":\"b\",\"timestamp\":2}],\"more\":true}",
            BodyFormat.JSON);

    assertThat(batch.events()).extracting(Event::eventType).containsExactly("a", "b");
    assertThat(batch.indexes()).containsExactly(0, 1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"{}", "{\"events\":{}}", "{\"data\":[]}", "42", "\"x\"", ""})
  void rejectsJsonBatchThatIsNeitherArrayNorEventsWrapper(String body) {
    assertThatThrownBy(() -> batch(body, BodyFormat.JSON))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageContaining("expected a JSON array of events or an object {\"events\": [...]}");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "[{\"eventType\":\"a\",\"timestamp\":1},",
        "[{\"eventType\":\"a\",\"timestamp\":1}",
        "[{\"eventType\":\"a\",\"timestamp\":1} {\"eventType\":\"b\",\"timestamp\":1}]",
        "[{\"eventType\":\"a\",\"timestamp\":}]",
        "{\"events\":[{\"eventType\":\"a\" \"timestamp\":1}]}"
      })
  void rejectsMalformedJsonBatchAsAWhole(String body) {
    assertThatThrownBy(() -> batch(body, BodyFormat.JSON))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageContaining("malformed JSON");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "[{\"eventType\":\"a\",\"timestamp\":1}] [{\"eventType\":\"b\",\"timestamp\":1}]",
        "{\"events\":[{\"eventType\":\"a\",\"timestamp\":1}]} {}",
        "{\"events\":[{\"eventType\":\"a\",\"timestamp\":1}],\"more\":1} 42"
      })
  void rejectsJsonBatchWithAnotherValueAfterTheEvents(String body) {
    assertThatThrownBy(() -> batch(body, BodyFormat.JSON))
        .as("events after the first value would be lost without a word")
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageContaining("unexpected content after the events");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "[{\"eventType\":\"a\",\"timestamp\":1}] oops",
        "{\"events\":[{\"eventType\":\"a\",\"timestamp\":1}],\"meta\":",
        "{\"events\":[{\"eventType\":\"a\",\"timestamp\":1}],\"meta\":[}",
        "{\"events\":[{\"eventType\":\"a\",\"timestamp\":1}]"
      })
  void rejectsJsonBatchWithBrokenSyntaxAfterTheEvents(String body) {
    assertThatThrownBy(() -> batch(body, BodyFormat.JSON))
        .isInstanceOf(MalformedBodyException.class)
        .hasMessageStartingWith("malformed JSON");
  }

  @Test
  void acceptsWhitespaceAfterTheJsonBatch() throws Exception {
    assertThat(batch("[{" + VALID + "}]\r\n \n", BodyFormat.JSON).events()).hasSize(1);
    assertThat(batch("{\"events\":[{" + VALID + "}]}\n", BodyFormat.JSON).events()).hasSize(1);
  }

  @Test
  void nonObjectArrayElementIsAPerRecordError() throws Exception {
    DecodedBatch batch =
        batch(
            "[{\"eventType\":\"a\",\"timestamp\":1}, 42, \"x\", [1, [2]], null,"
                + " {\"eventType\":\"b\",\"timestamp\":2}]",
            BodyFormat.JSON);

    assertThat(batch.events()).extracting(Event::eventType).containsExactly("a", "b");
    assertThat(batch.indexes()).containsExactly(0, 5);
    assertThat(batch.rejections())
        .extracting(Rejection::index, Rejection::raw)
        .containsExactly(tuple(1, "42"), tuple(2, "\"x\""), tuple(3, "[1, [2]]"), tuple(4, "null"));
    assertThat(batch.errors())
        .allSatisfy(e -> assertError(e, null, "an event must be a JSON object"));
    assertThat(batch.received()).isEqualTo(6);
  }

  @Test
  void mixedBatchKeepsTheValidEventsWithTheirRequestIndexes() throws Exception {
    String body =
        "["
            + "{\"eventType\":\"a\",\"timestamp\":1},"
            + "{\"eventType\":\"b\"},"
            + "{\"eventType\":\"c\",\"timestamp\":3},"
            + "{\"eventType\":\"bad type\",\"timestamp\":4,\"properties\":{\"t\":[]}},"
            + "{\"eventType\":\"e\",\"timestamp\":5}"
            + "]";

    DecodedBatch batch = batch(body, BodyFormat.JSON);

    assertThat(batch.events()).extracting(Event::eventType).containsExactly("a", "c", "e");
    assertThat(batch.indexes()).as("indexes of a, c, e").containsExactly(0, 2, 4);
    assertThat(batch.rejections()).extracting(Rejection::index).containsExactly(1, 3);
    assertThat(batch.errors())
        .extracting(FieldError::index, FieldError::field)
        .containsExactly(tuple(1, "timestamp"), tuple(3, "eventType"), tuple(3, "properties.t"));
    assertThat(batch.received()).isEqualTo(5);
  }

  @Test
  void rejectedPropertiesDoNotLeakIntoTheNextEvent() throws Exception {
    DecodedBatch batch =
        batch(
            "[{\"eventType\":\"a\",\"properties\":{\"leak\":1}},"
                + "{\"eventType\":\"b\",\"timestamp\":1,\"properties\":{\"own\":2}}]",
            BodyFormat.JSON);

    assertThat(batch.events())
        .singleElement()
        .satisfies(e -> assertThat(e.properties().toMap()).containsOnlyKeys("own"));
  }

  @Test
  void rejectionRawHoldsTheRecordsJson() throws Exception {
    String bad = "{\"eventType\":\"b\", \"properties\":{\"s\":\"é\"}}";
    DecodedBatch batch =
        batch(
            "[{\"eventType\":\"é\",\"timestamp\":1}, "
                + bad
                + " ,{\"eventType\":\"c\",\"timestamp\":1}]",
            BodyFormat.JSON);

    assertThat(batch.rejections())
        .extracting(Rejection::index, Rejection::raw)
        .containsExactly(tuple(0, "{\"eventType\":\"é\",\"timestamp\":1}"), tuple(1, bad));
  }

  @Test
  void rejectionRawIsBounded() throws Exception {
    String json = "{\"properties\":{\"s\":\"" + "x".repeat(5000) + "\"}}";

    Rejection rejection = decode(json).rejections().get(0);

    assertThat(rejection.raw()).hasSize(EventDecoder.MAX_RAW_CHARS);
    assertThat(json).startsWith(rejection.raw());
  }

  @Test
  void decodesNdjsonSkippingBlankLines() throws Exception {
    String body =
        "\n"
            + "{\"eventType\":\"a\",\"timestamp\":1}\n"
            + "\n"
            + "  \t \r\n"
            + "{\"eventType\":\"b\",\"timestamp\":2}\r\n"
            + "{\"eventType\":\"c\",\"timestamp\":3}"; // no final newline

    DecodedBatch batch = batch(body, BodyFormat.NDJSON);

    assertThat(batch.events()).extracting(Event::eventType).containsExactly("a", "b", "c");
    assertThat(batch.indexes()).as("blank lines are not records").containsExactly(0, 1, 2);
    assertThat(batch.received()).isEqualTo(3);
  }

  @Test
  void malformedNdjsonLineIsAPerRecordError() throws Exception {
    String body =
        "{\"eventType\":\"a\",\"timestamp\":1}\n"
            + "\n"
            + "{\"eventType\":\"b\",\"timestamp\n"
            + "{\"eventType\":\"c\",\"timestamp\":3}\n";

    DecodedBatch batch = batch(body, BodyFormat.NDJSON);

    assertThat(batch.events()).extracting(Event::eventType).containsExactly("a", "c");
    assertThat(batch.indexes()).containsExactly(0, 2);
    assertThat(batch.rejections())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.index()).isEqualTo(1);
              assertThat(r.raw()).isEqualTo("{\"eventType\":\"b\",\"timestamp");
              assertThat(r.errors())
                  .singleElement()
                  .satisfies(e -> assertError(e, null, "malformed JSON at line 1"));
            });
    assertThat(batch.received()).isEqualTo(3);
  }

  @Test
  void ndjsonLineThatIsNotAnObjectIsAPerRecordError() throws Exception {
    DecodedBatch batch =
        batch(
            "[{\"eventType\":\"a\",\"timestamp\":1}]\n{\"eventType\":\"b\",\"timestamp\":2}\n42",
            BodyFormat.NDJSON);

    assertThat(batch.indexes()).containsExactly(1);
    assertThat(batch.errors())
        .extracting(FieldError::index, FieldError::field, FieldError::message)
        .containsExactly(
            tuple(0, null, "an event must be a JSON object"),
            tuple(2, null, "an event must be a JSON object"));
    assertThat(batch.rejections()).extracting(Rejection::raw).element(1).isEqualTo("42");
  }

  @Test
  void ndjsonLineWithTwoEventsIsRejectedWhole() throws Exception {
    String line = "{\"eventType\":\"a\",\"timestamp\":1} {\"eventType\":\"b\",\"timestamp\":2}";

    DecodedBatch batch = batch(line + "\n{\"eventType\":\"c\",\"timestamp\":3}", BodyFormat.NDJSON);

    assertThat(batch.events()).extracting(Event::eventType).containsExactly("c");
    assertThat(batch.indexes()).containsExactly(1);
    assertThat(batch.rejections())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.raw()).isEqualTo(line);
              assertThat(r.errors())
                  .singleElement()
                  .satisfies(
                      e -> assertError(e, null, "unexpected content after the event on its line"));
            });
  }

  @Test
  void ndjsonLineWithGarbageAfterTheEventIsRejectedNotAlsoAccepted() throws Exception {
    String line = "{\"eventType\":\"a\",\"timestamp\":1} oops";

    DecodedBatch batch = batch(line + "\n{\"eventType\":\"c\",\"timestamp\":3}", BodyFormat.NDJSON);

    assertThat(batch.events())
        .as("an event is either accepted or rejected, never both")
        .extracting(Event::eventType)
        .containsExactly("c");
    assertThat(batch.indexes()).containsExactly(1);
    assertThat(batch.rejections())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.index()).isZero();
              assertThat(r.raw()).isEqualTo(line);
              assertThat(r.errors())
                  .singleElement()
                  .satisfies(e -> assertError(e, null, "malformed JSON"));
            });
  }

  @Test
  void rejectionRawOfAnNdjsonLineInTheMiddleOfTheBodyIsThatLine() throws Exception {
    // multi-byte characters before the line: offsets are bytes, not characters
    String first = "{\"eventType\":\"a\",\"timestamp\":1,\"properties\":{\"city\":\"Zürich\"}}";
    String bad = "{\"eventType\":\"b\",\"userId\":\"jörg\",\"properties\":{\"tags\":[\"x\"]}}";
    String last = "{\"eventType\":\"c\",\"timestamp\":3}";

    DecodedBatch batch = batch(first + "\n\n" + bad + "\r\n" + last + "\n", BodyFormat.NDJSON);

    assertThat(batch.indexes()).containsExactly(0, 2);
    assertThat(batch.rejections())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.index()).isEqualTo(1);
              assertThat(r.raw()).as("raw of record 1").isEqualTo(bad);
              assertThat(r.errors())
                  .extracting(FieldError::index, FieldError::field)
                  .containsExactly(tuple(1, "properties.tags"), tuple(1, "timestamp"));
            });
  }

  @Test
  void ndjsonEventSizeIsMeasuredPerLine() throws Exception {
    EventDecoder small = new EventDecoder(limits(100, 10), () -> NOW);
    String fits = padTo("{" + VALID + ",\"properties\":{\"s\":\"", "\"}}", 100);
    String tooBig = padTo("{" + VALID + ",\"properties\":{\"s\":\"", "\"}}", 101);

    DecodedBatch batch =
        small.decodeBatch(bytes(fits + "\n" + tooBig + "\n" + fits), BodyFormat.NDJSON, "http");

    assertThat(batch.indexes()).containsExactly(0, 2);
    assertThat(batch.errors())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.index()).isEqualTo(1);
              assertError(e, null, "event is 101 bytes; at most 100 allowed");
            });
    assertThat(batch.rejections().get(0).raw()).isEqualTo(tooBig);
  }

  @Test
  void acceptsBatchOfExactlyMaxBatchEvents() throws Exception {
    EventDecoder small = new EventDecoder(limits(32 * 1024, 3), () -> NOW);

    assertThat(small.decodeBatch(bytes(jsonArray(3)), BodyFormat.JSON, "http").events()).hasSize(3);
    assertThat(small.decodeBatch(bytes(ndjson(3)), BodyFormat.NDJSON, "http").events()).hasSize(3);
  }

  @Test
  void rejectsJsonBatchOfMoreThanMaxBatchEvents() {
    EventDecoder small = new EventDecoder(limits(32 * 1024, 3), () -> NOW);

    assertThatThrownBy(() -> small.decodeBatch(bytes(jsonArray(4)), BodyFormat.JSON, "http"))
        .isInstanceOf(BatchTooLargeException.class)
        .hasMessage("a batch holds at most 3 events");
  }

  @Test
  void rejectsNdjsonBatchOfMoreThanMaxBatchEvents() {
    EventDecoder small = new EventDecoder(limits(32 * 1024, 3), () -> NOW);

    assertThatThrownBy(() -> small.decodeBatch(bytes(ndjson(4)), BodyFormat.NDJSON, "http"))
        .isInstanceOf(BatchTooLargeException.class)
        .hasMessage("a batch holds at most 3 events");
  }

  @Test
  void blankNdjsonLinesDoNotCountTowardsMaxBatchEvents() throws Exception {
    EventDecoder small = new EventDecoder(limits(32 * 1024, 3), () -> NOW);

    assertThat(
            small
                .decodeBatch(bytes("\n\n" + ndjson(3) + "\n\n\n"), BodyFormat.NDJSON, "http")
                .received())
        .isEqualTo(3);
  }

  @Test
  void batchEventsGetTheChannelAsDefaultSource() throws Exception {
    DecodedBatch batch =
        decoder.decodeBatch(
            bytes("[{" + VALID + "},{" + VALID + ",\"source\":\"web\"}]"), BodyFormat.JSON, "grpc");

    assertThat(batch.events()).extracting(Event::source).containsExactly("grpc", "web");
  }

  @ParameterizedTest
  @CsvSource({"0, 1, 1", "1, 0, 1", "1, 1, 0", "-1, 1, 1"})
  void limitsMustBePositive(int maxEventBytes, int maxBatchEvents, int maxBatchBytes) {
    assertThatThrownBy(
            () ->
                new IngestLimits(
                    maxEventBytes, maxBatchEvents, maxBatchBytes, Duration.ofMinutes(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("limits must be positive");
  }

  @Test
  void maxFutureSkewMustNotBeNegative() {
    assertThatThrownBy(() -> new IngestLimits(1, 1, 1, Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxFutureSkew must not be negative");
  }

  @Test
  void defaultLimitsAreThoseOfTheContract() {
    assertThat(IngestLimits.defaults())
        .isEqualTo(new IngestLimits(32 * 1024, 10_000, 5 * 1024 * 1024, Duration.ofMinutes(5)));
  }

  // ---------------------------------------------------------------- BodyFormat

  @ParameterizedTest
  @CsvSource(
      nullValues = "NULL",
      value = {
        "application/json, JSON",
        "application/json; charset=utf-8, JSON",
        "Application/JSON;charset=UTF-8, JSON",
        "text/json, JSON",
        "application/x-ndjson, NDJSON",
        "application/x-ndjson; charset=utf-8, NDJSON",
        "application/ndjson, NDJSON",
        "application/jsonlines, NDJSON",
        "application/x-jsonlines, NDJSON",
        "'  application/x-ndjson  ', NDJSON",
        "text/plain, NULL",
        "application/xml, NULL",
        "multipart/form-data; boundary=x, NULL"
      })
  void bodyFormatFollowsTheContentType(String contentType, BodyFormat expected) {
    assertThat(BodyFormat.ofContentType(contentType))
        .as("format of %s", contentType)
        .isEqualTo(expected);
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"  "})
  void missingContentTypeIsRefused(String contentType) {
    assertThat(BodyFormat.ofContentType(contentType)).isNull();
  }

  // ---------------------------------------------------------------- helpers

  private static long millis(String rfc3339) {
    return Instant.parse(rfc3339).toEpochMilli();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static IngestLimits limits(int maxEventBytes, int maxBatchEvents) {
    return new IngestLimits(maxEventBytes, maxBatchEvents, 5 * 1024 * 1024, Duration.ofMinutes(5));
  }

  private DecodedBatch decode(String json) throws MalformedBodyException {
    return decoder.decodeOne(bytes(json), "http");
  }

  private DecodedBatch batch(String body, BodyFormat format)
      throws MalformedBodyException, BatchTooLargeException {
    return decoder.decodeBatch(bytes(body), format, "http");
  }

  /** The one event of a single-event body that must be valid. */
  private Event accepted(String json) throws MalformedBodyException {
    DecodedBatch batch = decode(json);
    assertThat(batch.errors()).as("errors of %s", json).isEmpty();
    assertThat(batch.events()).as("events of %s", json).hasSize(1);
    assertThat(batch.indexes()).containsExactly(0);
    return batch.events().get(0);
  }

  /** The errors of a single-event body that must be invalid. */
  private List<FieldError> rejected(String json) throws MalformedBodyException {
    DecodedBatch batch = decode(json);
    assertThat(batch.events()).as("events decoded from invalid %s", json).isEmpty();
    assertThat(batch.indexes()).isEmpty();
    assertThat(batch.rejections()).as("rejections of %s", json).hasSize(1);
    assertThat(batch.rejections().get(0).raw()).isEqualTo(json);
    return batch.errors();
  }

  /** The only error of a single-event body that must be invalid for exactly one reason. */
  private FieldError rejectedWith(String json) throws MalformedBodyException {
    List<FieldError> errors = rejected(json);
    assertThat(errors).as("errors of %s", json).hasSize(1);
    return errors.get(0);
  }

  private long timestampOf(String timestampJson) throws MalformedBodyException {
    return accepted("{\"eventType\":\"page_view\",\"timestamp\":" + timestampJson + "}")
        .timestamp();
  }

  private EventProperties propertiesOf(String propertiesJson) throws MalformedBodyException {
    return accepted("{" + VALID + ",\"properties\":" + propertiesJson + "}").properties();
  }

  private static void assertSingleError(List<FieldError> errors, String field, String message) {
    assertThat(errors).as("errors").hasSize(1);
    assertError(errors.get(0), field, message);
  }

  private static void assertError(FieldError error, String field, String message) {
    assertThat(error.field())
        .as("field of %s: got %s, want %s", error, error.field(), field)
        .isEqualTo(field);
    assertThat(error.message()).as("message of %s", error).contains(message);
  }

  private static Map<String, PropertyKind> kinds(EventProperties props) {
    return IntStream.range(0, props.size())
        .boxed()
        .collect(
            Collectors.toMap(
                props::key,
                props::kind,
                (a, b) -> {
                  throw new AssertionError("duplicate key");
                },
                LinkedHashMap::new));
  }

  private static String numberedProperties(int n) {
    return IntStream.range(0, n)
        .mapToObj(i -> "\"p" + i + "\":" + i)
        .collect(Collectors.joining(",", "{", "}"));
  }

  /** {@code prefix + "x"... + suffix}, padded to exactly {@code length} bytes of ASCII. */
  private static String padTo(String prefix, String suffix, int length) {
    int pad = length - prefix.length() - suffix.length();
    assertThat(pad).as("padding").isPositive();
    return prefix + "x".repeat(pad) + suffix;
  }

  private static String jsonArray(int n) {
    return IntStream.range(0, n)
        .mapToObj(i -> "{\"eventType\":\"e" + i + "\",\"timestamp\":" + i + "}")
        .collect(Collectors.joining(",", "[", "]"));
  }

  private static String ndjson(int n) {
    return IntStream.range(0, n)
        .mapToObj(i -> "{\"eventType\":\"e" + i + "\",\"timestamp\":" + i + "}")
        .collect(Collectors.joining("\n"));
  }

  @Test
  void rejectsTextWithAnUnpairedSurrogate() throws Exception {
    DecodedBatch batch =
        decoder.decodeOne(
            bytes(
                "{\"eventType\":\"x\",\"timestamp\":0,\"userId\":\"a\\ud800\",\"properties\":{\"s\":\"\\udc00b\",\"ok\":\"\\ud83d\\ude00\"}}"),
            "http");

    assertThat(batch.events()).isEmpty();
    assertThat(batch.errors())
        .extracting(FieldError::field)
        .containsExactly("userId", "properties.s");
    assertThat(batch.errors().get(0).message()).contains("unpaired surrogate");
  }
}
