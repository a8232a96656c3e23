package dev.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.aggregator.event.Event;
import dev.aggregator.ingestion.BatchTooLargeException;
import dev.aggregator.ingestion.BodyFormat;
import dev.aggregator.ingestion.DecodedBatch;
import dev.aggregator.ingestion.EventDecoder;
import dev.aggregator.ingestion.EventTypeAdmission;
import dev.aggregator.ingestion.IngestLimits;
import dev.aggregator.ingestion.MalformedBodyException;
import dev.aggregator.ingestion.Privacy;
import dev.aggregator.ingestion.Rejection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing (Jazzer) of what a client controls byte by byte: request bodies through
 * the event decoder — one event, a JSON batch, NDJSON — and query parameters through the parser and
 * the bucket layout. The only failures allowed are the decoder's and parser's own refusals (which
 * become 400s); everything accepted must be within the limits that bound memory.
 *
 * <p>{@code mvn verify} replays the inputs under {@code
 * src/test/resources/dev/aggregator/query/HostileInputFuzzTestInputs} (what it found so far: a body
 * Jackson took for UTF-32, a 500, and a bug of this harness), then fuzzes for {@code maxDuration}
 * ({@code JAZZER_FUZZ=1}, the {@code fuzz} execution in this module's pom). A finding is written to
 * {@code core/crash-*}; add it to that directory once fixed. For a long run, raise {@code
 * maxDuration}.
 */
class HostileInputFuzzTest {
  private static final long NOW = 1_705_314_600_000L;

  /**
   * The time one input may take. Replaying saved inputs, JUnit enforces it per input (each is an
   * invocation); fuzzing, Jazzer passes it to libFuzzer as {@code -timeout} and the {@code fuzz}
   * execution switches JUnit's own timeouts off, which would otherwise apply it to the whole run
   * (jazzer issue #930). Inputs are at most 4 KiB (libFuzzer's default) and take microseconds; 5 s
   * leaves room for a loaded CI machine and still catches a hang or a quadratic path.
   */
  static final int PER_INPUT_SECONDS = 5;

  private static final String[] PARAMS = {
    "metric", "function", "start", "end", "granularity", "filter", "groupBy", "fill", "limit", "tz"
  };
  private static final EventDecoder PLAIN =
      new EventDecoder(IngestLimits.defaults(), () -> NOW, EventTypeAdmission.unbounded());
  private static final EventDecoder PRIVATE =
      new EventDecoder(
          IngestLimits.defaults(),
          () -> NOW,
          new EventTypeAdmission(List.of("page_view"), 4),
          Privacy.of("fuzzing-secret-0123456789", Set.of("email", "ip")));
  private static final QueryParser PARSER = new QueryParser(() -> NOW, 10_000);

  @FuzzTest(maxDuration = "20s")
  @Timeout(PER_INPUT_SECONDS)
  void hostileBodiesAndQueriesGetARefusalOrABoundedAnswer(FuzzedDataProvider data) {
    int target = data.consumeInt(0, 3);
    if (target == 3) {
      query(data);
      return;
    }
    EventDecoder decoder = data.consumeBoolean() ? PLAIN : PRIVATE;
    byte[] body = data.consumeRemainingAsBytes();
    try {
      DecodedBatch b =
          switch (target) {
            case 0 -> decoder.decodeOne(body, "http");
            case 1 -> decoder.decodeBatch(body, BodyFormat.JSON, "http");
            default -> decoder.decodeBatch(body, BodyFormat.NDJSON, "http");
          };
      check(b);
    } catch (MalformedBodyException | BatchTooLargeException refused) {
      assertThat(refused.getMessage()).isNotBlank();
    }
  }

  private static void check(DecodedBatch b) {
    assertThat(b.events().size() + b.rejections().size()).isEqualTo(b.received());
    assertThat(b.received()).isLessThanOrEqualTo(IngestLimits.defaults().maxBatchEvents());
    assertThat(b.errors()).hasSizeLessThanOrEqualTo(IngestLimits.MAX_ERRORS_PER_RESPONSE + 1);
    for (Rejection r : b.rejections()) {
      assertThat(r.errors())
          .isNotEmpty()
          .hasSizeLessThanOrEqualTo(IngestLimits.MAX_ERRORS_PER_RECORD + 1);
    }
    for (Event e : b.events()) {
      assertThat(e.eventType()).hasSizeBetween(1, IngestLimits.MAX_EVENT_TYPE_CHARS);
      assertThat(e.eventType().chars().allMatch(c -> EventDecoder.isEventTypeChar((char) c)))
          .isTrue();
      assertThat(e.properties().size()).isLessThanOrEqualTo(IngestLimits.MAX_PROPERTIES);
      if (e.userId() != null) {
        assertThat(e.userId()).hasSizeLessThanOrEqualTo(IngestLimits.MAX_USER_ID_CHARS);
      }
    }
  }

  private static void query(FuzzedDataProvider data) {
    Map<String, List<String>> params = new HashMap<>();
    int n = data.consumeInt(0, 12);
    for (int i = 0; i < n; i++) {
      String name = PARAMS[data.consumeInt(0, PARAMS.length - 1)];
      params.computeIfAbsent(name, k -> new ArrayList<>()).add(data.consumeString(80));
    }
    Query q;
    try {
      q = PARSER.parse(name -> params.getOrDefault(name, List.of()));
    } catch (InvalidQueryException refused) {
      assertThat(refused.getMessage()).isNotBlank();
      return;
    }
    assertThat(q.start()).isLessThanOrEqualTo(q.end()); // equal: an empty range, an empty answer
    assertThat(q.bucketCount()).isBetween(0L, 10_000L);
    Buckets b = Buckets.of(q);
    assertThat(b.starts.length).isEqualTo(b.ends.length).isLessThanOrEqualTo(10_001);
  }
}
