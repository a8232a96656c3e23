package dev.aggregator.testing;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.PropertyKind;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/** jqwik generators for events, shared by the codec and log tests. */
public final class EventArbitraries {
  private EventArbitraries() {}

  /**
   * Valid Unicode text: mostly ASCII, sometimes any code point (accents, CJK, emoji, i.e. 2-, 3-
   * and 4-byte UTF-8), sometimes longer than 127 bytes so the length takes two varint bytes. Lone
   * surrogates are left out: UTF-8 cannot hold them.
   */
  public static Arbitrary<String> text(int maxLength) {
    Arbitrary<String> ascii = Arbitraries.strings().ascii().ofMaxLength(maxLength);
    Arbitrary<String> unicode =
        Arbitraries.integers()
            .between(1, Character.MAX_CODE_POINT)
            .filter(cp -> cp < Character.MIN_SURROGATE || cp > Character.MAX_SURROGATE)
            .list()
            .ofMaxSize(maxLength)
            .map(EventArbitraries::fromCodePoints);
    Arbitrary<String> samples =
        Arbitraries.of(
            "",
            "café",
            "Grüße aus Köln",
            "日本語のテキスト",
            "🎉🚀 launch",
            "👩‍👩‍👧‍👦",
            "é".repeat(100),
            "a".repeat(127),
            "a".repeat(128),
            "x".repeat(300));
    return Arbitraries.frequencyOf(Tuple.of(5, ascii), Tuple.of(3, unicode), Tuple.of(2, samples));
  }

  /** Any double, with the special values (NaN, infinities, -0.0, extremes) made likely. */
  public static Arbitrary<Double> numbers() {
    return Arbitraries.oneOf(
        Arbitraries.doubles(),
        Arbitraries.of(
            0.0,
            -0.0,
            1.0,
            -1.5,
            99.99,
            Double.MIN_VALUE,
            Double.MAX_VALUE,
            -Double.MAX_VALUE,
            Double.NaN,
            Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY));
  }

  /** Properties of every kind, in any order, at most {@code maxSize} of them. */
  public static Arbitrary<EventProperties> properties(int maxSize, int maxStringLength) {
    Arbitrary<Prop> prop =
        Arbitraries.oneOf(
            Combinators.combine(text(24), text(maxStringLength))
                .as((k, v) -> new Prop(k, PropertyKind.STRING, v, 0)),
            Combinators.combine(text(24), numbers())
                .as((k, v) -> new Prop(k, PropertyKind.NUMBER, null, v)),
            Combinators.combine(text(24), Arbitraries.of("true", "false"))
                .as((k, v) -> new Prop(k, PropertyKind.BOOLEAN, v, 0)));
    return prop.list().ofMaxSize(maxSize).map(EventArbitraries::build);
  }

  /** Any event: null or present id and userId, any timestamp, Unicode everywhere. */
  public static Arbitrary<Event> events() {
    return events(text(40), 6, 200);
  }

  /** Events of a few hundred bytes each, so that tiny log segments fill up quickly. */
  public static Arbitrary<Event> paddedEvents(int minPadding, int maxPadding) {
    // One generated length rather than hundreds of generated characters: generation stays cheap.
    Arbitrary<String> padding =
        Arbitraries.integers().between(minPadding, maxPadding).map(n -> "p".repeat(n));
    return Combinators.combine(events(text(20), 3, 40), padding)
        .as(
            (e, pad) -> {
              EventProperties.Builder b = EventProperties.builder();
              for (int i = 0; i < e.properties().size(); i++) {
                switch (e.properties().kind(i)) {
                  case STRING -> b.string(e.properties().key(i), e.properties().string(i));
                  case NUMBER -> b.number(e.properties().key(i), e.properties().number(i));
                  case BOOLEAN ->
                      b.bool(e.properties().key(i), Boolean.parseBoolean(e.properties().string(i)));
                }
              }
              b.string("padding", pad);
              return new Event(
                  e.id(), e.eventType(), e.userId(), e.timestamp(), e.source(), b.build());
            });
  }

  private static Arbitrary<Event> events(
      Arbitrary<String> strings, int maxProperties, int maxPropertyLength) {
    return Combinators.combine(
            strings.injectNull(0.3),
            Arbitraries.strings()
                .withChars("abcdefghijklmnopqrstuvwxyz_.:-0123456789")
                .ofMinLength(1)
                .ofMaxLength(128),
            strings.injectNull(0.3),
            Arbitraries.longs(),
            strings,
            properties(maxProperties, maxPropertyLength))
        .as(Event::new);
  }

  /** Arrival times: any long, with the common "now-ish" values and the extremes likely. */
  public static Arbitrary<Long> arrivals() {
    return Arbitraries.oneOf(
        Arbitraries.longs(),
        Arbitraries.longs().between(1_700_000_000_000L, 1_800_000_000_000L),
        Arbitraries.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE));
  }

  public static String fromCodePoints(List<Integer> codePoints) {
    StringBuilder s = new StringBuilder();
    for (int cp : codePoints) {
      s.appendCodePoint(cp);
    }
    return s.toString();
  }

  private static EventProperties build(List<Prop> props) {
    EventProperties.Builder builder = EventProperties.builder();
    for (Prop p : props) {
      switch (p.kind) {
        case STRING -> builder.string(p.key, p.string);
        case NUMBER -> builder.number(p.key, p.number);
        case BOOLEAN -> builder.bool(p.key, Boolean.parseBoolean(p.string));
      }
    }
    return builder.build();
  }

  private record Prop(String key, PropertyKind kind, String string, double number) {}
}
