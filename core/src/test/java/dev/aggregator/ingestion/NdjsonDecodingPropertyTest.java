package dev.aggregator.ingestion;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * NDJSON is read with one parser over the whole body when it can be; whatever the lines, the answer
 * equals reading it line by line.
 */
class NdjsonDecodingPropertyTest {
  private static final long NOW = 1_764_504_000_000L;
  private final EventDecoder decoder = new EventDecoder(IngestLimits.defaults(), () -> NOW);

  @Provide
  Arbitrary<List<String>> lines() {
    return Arbitraries.of(
            "{\"eventType\":\"a\",\"timestamp\":1000,\"properties\":{\"v\":1,\"s\":\" x \"}}",
            "{\"id\":\"i1\",\"eventType\":\"b\",\"timestamp\":\"2024-01-15T10:30:00Z\"}",
            "{\"eventType\":\"bad type\",\"timestamp\":1}",
            "{\"timestamp\":1}",
            "  {\"eventType\":\"c\",\"timestamp\":2}  ",
            "{\"eventType\":\"d\",\"timestamp\":3}\r",
            "",
            "   ",
            "not json",
            "{\"eventType\":\"e\",",
            "[1,2]",
            "\"text\"",
            "{\"eventType\":\"f\",\"timestamp\":4} {\"eventType\":\"g\",\"timestamp\":5}",
            "{\"eventType\":\"h\",\"timestamp\":6} trailing",
            "{\"eventType\":\"i\",\"properties\":{\"tags\":[1]},\"timestamp\":7}")
        .list()
        .ofMaxSize(30);
  }

  @Property(tries = 1000)
  void readingWithOneParserEqualsReadingLineByLine(
      @ForAll("lines") List<String> lines, @ForAll boolean trailingNewline) throws Exception {
    byte[] body =
        (String.join("\n", lines) + (trailingNewline ? "\n" : "")).getBytes(StandardCharsets.UTF_8);

    DecodedBatch got = decoder.decodeBatch(body, BodyFormat.NDJSON, "http");
    DecodedBatch want = decoder.decodeNdjsonLineByLine(body, "http");

    assertThat(got.events()).isEqualTo(want.events());
    assertThat(Arrays.equals(got.indexes(), want.indexes())).as("indexes").isTrue();
    assertThat(got.rejections()).isEqualTo(want.rejections());
    assertThat(got.received()).isEqualTo(want.received());
  }
}
