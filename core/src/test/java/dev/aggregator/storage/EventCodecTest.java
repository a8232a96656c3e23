package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventIds;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.Hashing;
import dev.aggregator.event.PropertyKind;
import dev.aggregator.testing.EventArbitraries;
import dev.aggregator.testing.TestEvents;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class EventCodecTest {
  private static final long ARRIVAL = 1_705_314_600_123L;

  @Test
  void anEventWithEveryPropertyKindSurvivesARoundTrip() {
    Event want =
        TestEvents.event("page_view")
            .id("evt-1")
            .user("user123")
            .source("sdk-web")
            .prop("page", "/products")
            .prop("value", 99.99)
            .prop("premium", true)
            .prop("beta", false)
            .prop("count", -3.0)
            .build();

    LoggedEvent got = roundTrip(want, ARRIVAL);

    assertThat(got.event()).withFailMessage("got %s, want %s", got.event(), want).isEqualTo(want);
    assertThat(got.arrivalMillis())
        .withFailMessage("got arrival %d, want %d", got.arrivalMillis(), ARRIVAL)
        .isEqualTo(ARRIVAL);
    EventProperties props = got.event().properties();
    List<PropertyKind> kinds = new ArrayList<>();
    for (int i = 0; i < props.size(); i++) {
      kinds.add(props.kind(i));
    }
    assertThat(kinds)
        .as("property kinds in order")
        .containsExactly(
            PropertyKind.STRING,
            PropertyKind.NUMBER,
            PropertyKind.BOOLEAN,
            PropertyKind.BOOLEAN,
            PropertyKind.NUMBER);
    assertThat(props.toMap())
        .as("property values")
        .containsEntry("premium", true)
        .containsEntry("beta", false)
        .containsEntry("value", 99.99);
  }

  @Test
  void anEventWithoutIdOrUserComesBackWithoutThem() {
    Event want = TestEvents.event("click").prop("x", 1.0).build();

    LoggedEvent got = roundTrip(want, ARRIVAL);

    assertThat(got.event().id()).withFailMessage("got id %s, want null", got.event().id()).isNull();
    assertThat(got.event().userId())
        .withFailMessage("got userId %s, want null", got.event().userId())
        .isNull();
    assertThat(got.event()).withFailMessage("got %s, want %s", got.event(), want).isEqualTo(want);
  }

  @Test
  void anIdTheServerAssignedComesBackAsSuchIn16BytesAndIsNotOneToDedup() {
    UUID assigned = EventIds.newId(ARRIVAL);
    Event event = TestEvents.event("click").id(assigned.toString()).user("u-1").build();
    RecordBuffer buffer = new RecordBuffer(64);
    EventCodec.encode(event, assigned, ARRIVAL, buffer);
    ByteBuffer payload = payloads(buffer.array(), buffer.length()).get(0);
    RecordBuffer asText = new RecordBuffer(64);
    EventCodec.encode(event, ARRIVAL, asText);

    assertThat(asText.length() - buffer.length())
        .as("bytes saved over the id as text")
        .isEqualTo(21);
    LoggedEvent got = EventCodec.decode(0, payload.duplicate(), EventProperties.builder());
    assertThat(got.event()).isEqualTo(event);
    assertThat(got.assignedId()).isTrue();
    assertThat(roundTrip(event, ARRIVAL).assignedId()).as("the same text from a client").isFalse();
    boolean[] hasId = {true};
    EventCodec.readIdAndArrival(
        0, payload.duplicate(), (seq, arrival, has, hash) -> hasId[0] = has);
    assertThat(hasId[0]).as("no client can retry an id it never sent").isFalse();
  }

  @Test
  void anEventWithOnlyAUserOrOnlyAnIdKeepsWhichIsWhich() {
    Event onlyUser = TestEvents.event("click").user("u-1").build();
    Event onlyId = TestEvents.event("click").id("id-1").build();

    assertThat(roundTrip(onlyUser, 1).event()).isEqualTo(onlyUser);
    assertThat(roundTrip(onlyId, 1).event()).isEqualTo(onlyId);
  }

  @Test
  void anEventWithNoPropertiesAndEmptyStringsSurvivesARoundTrip() {
    Event want = new Event("", "e", "", 0, "", EventProperties.empty());

    Event got = roundTrip(want, 0).event();

    assertThat(got).withFailMessage("got %s, want %s", got, want).isEqualTo(want);
  }

  @Test
  void unicodeTextSurvivesARoundTripInEveryField() {
    String accented = "Grüße, café, naïve — ½ € ñ";
    String cjk = "東京都渋谷区の商品ページ";
    String emoji = "🎉🚀👩‍💻 party 🇩🇪";
    String longAscii = "a".repeat(200); // > 127 bytes: a two-byte varint length
    String longUnicode = "é".repeat(130) + "🚀".repeat(40); // > 127 chars and non-ASCII
    String exactly127 = "b".repeat(127);
    String exactly128 = "c".repeat(128);
    String asciiThenUnicode = "x".repeat(100) + "ü"; // starts on the ASCII fast path, leaves it
    Event want =
        TestEvents.event("page_view")
            .id(emoji)
            .user(cjk)
            .source(accented)
            .prop(emoji, longUnicode)
            .prop(cjk, 1.0)
            .prop("long", longAscii)
            .prop("edge127", exactly127)
            .prop("edge128", exactly128)
            .prop("mixed", asciiThenUnicode)
            .prop(longUnicode, true)
            .build();

    Event got = roundTrip(want, ARRIVAL).event();

    assertThat(got).withFailMessage("got %s, want %s", got, want).isEqualTo(want);
    assertThat(got.id()).isEqualTo(emoji);
    assertThat(got.userId()).isEqualTo(cjk);
    assertThat(got.source()).isEqualTo(accented);
  }

  @Test
  void specialNumbersKeepTheirExactBits() {
    double[] values = {
      Double.NaN,
      -0.0,
      0.0,
      Double.POSITIVE_INFINITY,
      Double.NEGATIVE_INFINITY,
      Double.MIN_VALUE,
      Double.MAX_VALUE,
      Math.nextDown(1.0)
    };
    EventProperties.Builder props = EventProperties.builder();
    for (int i = 0; i < values.length; i++) {
      props.number("n" + i, values[i]);
    }
    Event want = new Event(null, "m", null, Long.MIN_VALUE, "http", props.build());

    Event got = roundTrip(want, Long.MAX_VALUE).event();

    for (int i = 0; i < values.length; i++) {
      long gotBits = Double.doubleToRawLongBits(got.properties().number(i));
      long wantBits = Double.doubleToRawLongBits(values[i]);
      assertThat(gotBits)
          .withFailMessage("n%d: got bits %x, want %x", i, gotBits, wantBits)
          .isEqualTo(wantBits);
    }
    assertThat(got.timestamp()).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void recordsAreFramedWithTheirLengthAndChecksum() {
    RecordBuffer buffer = new RecordBuffer(16); // tiny, so encoding has to grow it
    List<Event> want = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      Event e =
          TestEvents.event("t" + i)
              .id(i % 2 == 0 ? "id-" + i : null)
              .prop("text", "ü".repeat(i * 3))
              .prop("n", i)
              .build();
      want.add(e);
      EventCodec.encode(e, ARRIVAL + i, buffer);
    }

    assertThat(buffer.records()).as("records in the buffer").isEqualTo(50);
    List<ByteBuffer> payloads = payloads(buffer.array(), buffer.length());
    assertThat(payloads).as("frames found").hasSize(50);
    for (int i = 0; i < payloads.size(); i++) {
      LoggedEvent got = EventCodec.decode(i, payloads.get(i), EventProperties.builder());
      assertThat(got.sequence()).isEqualTo(i);
      assertThat(got.arrivalMillis()).isEqualTo(ARRIVAL + i);
      assertThat(got.event())
          .withFailMessage("record %d: got %s, want %s", i, got.event(), want.get(i))
          .isEqualTo(want.get(i));
    }
  }

  @Test
  void clearingTheBufferStartsAfresh() {
    RecordBuffer buffer = new RecordBuffer(64);
    EventCodec.encode(TestEvents.event("a").build(), 1, buffer);
    buffer.clear();
    Event want = TestEvents.event("b").user("u").build();
    EventCodec.encode(want, 2, buffer);

    assertThat(buffer.records()).isEqualTo(1);
    List<ByteBuffer> payloads = payloads(buffer.array(), buffer.length());
    assertThat(payloads).hasSize(1);
    assertThat(EventCodec.decode(0, payloads.get(0), EventProperties.builder()).event())
        .isEqualTo(want);
  }

  @Test
  void decodingReadsHeapBuffersAtAnOffsetAndDirectBuffersAlike() {
    Event want =
        TestEvents.event("page_view").id("ü-1").user("🚀").prop("k", "日本").prop("v", 2).build();
    RecordBuffer buffer = new RecordBuffer(64);
    EventCodec.encode(TestEvents.event("filler").build(), 0, buffer);
    EventCodec.encode(want, ARRIVAL, buffer);
    ByteBuffer heap = payloads(buffer.array(), buffer.length()).get(1);
    ByteBuffer slice = heap.slice(); // arrayOffset() != 0
    ByteBuffer direct = ByteBuffer.allocateDirect(heap.remaining());
    direct.put(heap.duplicate()).flip();

    for (ByteBuffer in : List.of(heap, slice, direct)) {
      Event got = EventCodec.decode(7, in, EventProperties.builder()).event();
      assertThat(got).withFailMessage("%s: got %s, want %s", in, got, want).isEqualTo(want);
    }
  }

  @Test
  void theIdOnlyReadHashesTheIdAsDedupDoesFromHeapAndDirectBuffers() {
    String longId = "x".repeat(300) + "é"; // longer than the first scratch buffer
    for (String id : List.of("e1", "ü-1 🚀", longId)) {
      RecordBuffer buffer = new RecordBuffer(64);
      EventCodec.encode(TestEvents.event("filler").build(), 0, buffer);
      EventCodec.encode(TestEvents.event("page_view").id(id).user("u").build(), ARRIVAL, buffer);
      ByteBuffer heap = payloads(buffer.array(), buffer.length()).get(1);
      ByteBuffer direct = ByteBuffer.allocateDirect(heap.remaining());
      direct.put(heap.duplicate()).flip();
      for (ByteBuffer in : List.of(heap.slice(), direct)) {
        long[] seen = new long[3];
        EventCodec.readIdAndArrival(
            9,
            in,
            (sequence, arrival, hasId, hash) -> {
              seen[0] = hasId ? 1 : 0;
              seen[1] = hash;
              seen[2] = arrival;
            });
        assertThat(seen).containsExactly(1, Hashing.hash64(id), ARRIVAL);
      }
    }
    ByteBuffer noId = payloadOf(TestEvents.event("a").build());
    EventCodec.readIdAndArrival(
        1, noId, (sequence, arrival, hasId, hash) -> assertThat(hasId).isFalse());
  }

  @Test
  void theScratchBuilderCanBeReusedAcrossRecords() {
    EventProperties.Builder scratch = EventProperties.builder();
    Event first = TestEvents.event("a").prop("x", 1).prop("y", "two").build();
    Event second = TestEvents.event("b").prop("z", true).build();

    Event gotFirst = roundTrip(first, 1, scratch).event();
    Event gotSecond = roundTrip(second, 2, scratch).event();

    assertThat(gotFirst).isEqualTo(first);
    assertThat(gotSecond).isEqualTo(second);
  }

  @Test
  void anUnknownVersionIsRejected() {
    ByteBuffer payload = payloadOf(TestEvents.event("a").build());
    payload.put(payload.position(), (byte) 2);

    assertThatThrownBy(() -> EventCodec.decode(5, payload, EventProperties.builder()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("version");
  }

  @Test
  void trailingBytesAreRejected() {
    ByteBuffer payload = payloadOf(TestEvents.event("a").build());
    ByteBuffer longer = ByteBuffer.allocate(payload.remaining() + 1);
    longer.put(payload).put((byte) 0).flip();

    assertThatThrownBy(() -> EventCodec.decode(5, longer, EventProperties.builder()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trailing");
  }

  @Test
  void everyTruncationOfAPayloadIsRejectedAsIllegalArgument() {
    ByteBuffer payload =
        payloadOf(TestEvents.event("a").id("i").user("u").prop("s", "v").prop("n", 1).build());
    for (int length = 0; length < payload.remaining(); length++) {
      ByteBuffer cut = payload.duplicate();
      cut.limit(cut.position() + length);
      int at = length;
      assertThatThrownBy(() -> EventCodec.decode(5, cut, EventProperties.builder()))
          .as("payload cut to %d bytes", at)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Property(tries = 300)
  void encodingThenDecodingGivesBackAnEqualEventAndTheSameArrival(
      @ForAll("events") Event want, @ForAll("arrivals") long arrival) {
    RecordBuffer buffer = new RecordBuffer(32);
    EventCodec.encode(want, arrival, buffer);
    List<ByteBuffer> payloads = payloads(buffer.array(), buffer.length());
    assertThat(payloads).hasSize(1);
    ByteBuffer direct = ByteBuffer.allocateDirect(payloads.get(0).remaining());
    direct.put(payloads.get(0).duplicate()).flip();

    for (ByteBuffer in : List.of(payloads.get(0), direct)) {
      LoggedEvent got = EventCodec.decode(42, in, EventProperties.builder());
      assertThat(got.event()).withFailMessage("got %s, want %s", got.event(), want).isEqualTo(want);
      assertThat(got.arrivalMillis())
          .withFailMessage("got arrival %d, want %d", got.arrivalMillis(), arrival)
          .isEqualTo(arrival);
      assertThat(got.sequence()).isEqualTo(42);
    }
  }

  @Provide
  Arbitrary<Event> events() {
    return EventArbitraries.events();
  }

  @Provide
  Arbitrary<Long> arrivals() {
    return EventArbitraries.arrivals();
  }

  private static LoggedEvent roundTrip(Event event, long arrival) {
    return roundTrip(event, arrival, EventProperties.builder());
  }

  private static LoggedEvent roundTrip(Event event, long arrival, EventProperties.Builder scratch) {
    RecordBuffer buffer = new RecordBuffer(64);
    EventCodec.encode(event, arrival, buffer);
    List<ByteBuffer> payloads = payloads(buffer.array(), buffer.length());
    assertThat(payloads).as("frames").hasSize(1);
    return EventCodec.decode(0, payloads.get(0), scratch);
  }

  private static ByteBuffer payloadOf(Event event) {
    RecordBuffer buffer = new RecordBuffer(64);
    EventCodec.encode(event, ARRIVAL, buffer);
    return payloads(buffer.array(), buffer.length()).get(0);
  }

  /** Splits framed records, checking each frame's length and CRC32C, into payload buffers. */
  static List<ByteBuffer> payloads(byte[] bytes, int length) {
    ByteBuffer in = ByteBuffer.wrap(bytes, 0, length);
    List<ByteBuffer> out = new ArrayList<>();
    while (in.hasRemaining()) {
      assertThat(in.remaining()).as("bytes left for a header").isGreaterThanOrEqualTo(8);
      int payloadLength = in.getInt();
      int crc = in.getInt();
      assertThat(payloadLength)
          .as("payload length at %d", in.position() - 8)
          .isPositive()
          .isLessThanOrEqualTo(in.remaining());
      CRC32C check = new CRC32C();
      check.update(bytes, in.position(), payloadLength);
      assertThat((int) check.getValue())
          .withFailMessage("got crc %x, want %x", crc, (int) check.getValue())
          .isEqualTo(crc);
      out.add(ByteBuffer.wrap(bytes, in.position(), payloadLength));
      in.position(in.position() + payloadLength);
    }
    return out;
  }
}
