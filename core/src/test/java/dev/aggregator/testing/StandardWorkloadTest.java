package dev.aggregator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.ingestion.BodyFormat;
import dev.aggregator.ingestion.DecodedBatch;
import dev.aggregator.ingestion.EventDecoder;
import dev.aggregator.ingestion.IngestLimits;
import dev.aggregator.testing.StandardWorkload.Generated;
import dev.aggregator.testing.StandardWorkload.Kind;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StandardWorkloadTest {
  private static final long NOW = Timestamps.parseRfc3339("2025-06-01T12:00:00Z");
  private static final int N = 100_000;

  private static List<Generated> generate(long seed, int n) {
    StandardWorkload w = new StandardWorkload(seed, () -> NOW);
    List<Generated> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(w.next());
    }
    return out;
  }

  private static Map<Kind, Integer> kinds(List<Generated> events) {
    Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
    for (Generated g : events) {
      counts.merge(g.kind(), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void kindsAppearInTheirDesignedProportions() {
    Map<Kind, Integer> counts = kinds(generate(1, N));

    assertShare(counts, Kind.DUPLICATE, 0.01, 0.002);
    assertShare(counts, Kind.INVALID, 0.005, 0.0015);
    assertShare(counts, Kind.LATE, 0.01, 0.002);
    assertShare(counts, Kind.HISTORICAL, 0.001, 0.0005);
    assertShare(counts, Kind.VALID, 0.974, 0.004);
  }

  private static void assertShare(Map<Kind, Integer> counts, Kind kind, double want, double tol) {
    double got = counts.getOrDefault(kind, 0) / (double) N;
    assertThat(got)
        .as("share of %s: got %.4f, want %.4f ± %.4f", kind, got, want, tol)
        .isBetween(want - tol, want + tol);
  }

  @Test
  void pageViewIsTheMostFrequentOfFiftyEventTypesWithZipfShares() {
    Map<String, Integer> byType = new HashMap<>();
    for (Generated g : generate(2, N)) {
      if (g.event() != null) {
        byType.merge(g.event().eventType(), 1, Integer::sum);
      }
    }
    int total = byType.values().stream().mapToInt(Integer::intValue).sum();

    assertThat(byType).hasSize(50);
    String top =
        byType.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    assertThat(top).as("most frequent type").isEqualTo("page_view");
    double harmonic50 = 4.499;
    assertThat(byType.get("page_view") / (double) total)
        .as("page_view share, want 1/H(50)")
        .isBetween(1 / harmonic50 - 0.01, 1 / harmonic50 + 0.01);
    assertThat(byType.get("click") / (double) total)
        .as("click share, want 1/(2·H(50))")
        .isBetween(0.5 / harmonic50 - 0.01, 0.5 / harmonic50 + 0.01);
  }

  @Test
  void usersAndDimensionsHaveTheirDesignedCardinalities() {
    Set<String> users = new HashSet<>();
    Map<String, Set<String>> dimensions = new HashMap<>();
    for (Generated g : generate(3, N)) {
      Event e = g.event();
      if (e == null) {
        continue;
      }
      users.add(e.userId());
      dimensions.computeIfAbsent("source", k -> new HashSet<>()).add(e.source());
      for (String key : List.of("page", "category", "country", "device")) {
        String value = e.properties().string(e.properties().indexOf(key));
        dimensions.computeIfAbsent(key, k -> new HashSet<>()).add(value);
      }
      assertThat(e.properties().indexOf("value")).as("value property of %s", g.json()).isEqualTo(4);
    }

    assertThat(dimensions.get("page")).hasSize(200);
    assertThat(dimensions.get("category")).hasSize(20);
    assertThat(dimensions.get("country")).hasSize(50);
    assertThat(dimensions.get("device")).hasSize(3);
    assertThat(dimensions.get("source")).hasSize(5);
    // 100k draws from 100k users reach ~63 % of them; all are "user" + n with n < 100,000
    assertThat(users.size()).isBetween(60_000, 66_000);
    assertThat(users).allMatch(u -> u.matches("user\\d{1,5}"));
  }

  @Test
  void timestampsLieWhereTheirKindSays() {
    for (Generated g : generate(4, N)) {
      if (g.event() == null) {
        continue;
      }
      long behind = NOW - g.event().timestamp();
      switch (g.kind()) {
        case VALID -> assertThat(behind).as(g.json()).isBetween(0L, 2_000L);
        case LATE -> assertThat(behind).as(g.json()).isBetween(65_000L, 600_000L);
        case HISTORICAL ->
            assertThat(behind).as(g.json()).isBetween(2 * 86_400_000L, 180 * 86_400_000L);
        default -> {}
      }
    }
  }

  @Test
  void validEventsDecodeToTheEventTheGeneratorReports() throws Exception {
    EventDecoder decoder = new EventDecoder(IngestLimits.defaults(), () -> NOW);
    for (Generated g : generate(5, 20_000)) {
      if (g.kind() == Kind.INVALID) {
        continue;
      }
      DecodedBatch d = decoder.decodeOne(g.json().getBytes(StandardCharsets.UTF_8), "http");
      assertThat(d.rejections()).as("errors of %s", g.json()).isEmpty();
      assertThat(d.events()).as("decoded %s", g.json()).containsExactly(g.event());
    }
  }

  @Test
  void invalidEventsAreRejectedByTheDecoder() throws Exception {
    EventDecoder decoder = new EventDecoder(IngestLimits.defaults(), () -> NOW);
    Set<String> fields = new HashSet<>();
    int invalid = 0;
    for (Generated g : generate(6, 20_000)) {
      if (g.kind() != Kind.INVALID) {
        continue;
      }
      invalid++;
      assertThat(g.event()).isNull();
      DecodedBatch d = decoder.decodeOne(g.json().getBytes(StandardCharsets.UTF_8), "http");
      assertThat(d.events()).as("accepted invalid event %s", g.json()).isEmpty();
      assertThat(d.rejections()).as("rejections of %s", g.json()).hasSize(1);
      d.errors().forEach(e -> fields.add(e.field()));
    }
    assertThat(invalid).isPositive();
    // each way of being invalid shows up: missing and future timestamps, type characters, arrays
    assertThat(fields).contains("timestamp", "eventType", "properties.tags");
  }

  @Test
  void duplicatesRepeatAnEarlierEventExactly() {
    Map<String, String> jsonById = new HashMap<>();
    int duplicates = 0;
    for (Generated g : generate(7, N)) {
      if (g.kind() == Kind.DUPLICATE) {
        duplicates++;
        assertThat(jsonById.get(g.event().id()))
            .as("first occurrence of retried %s", g.event().id())
            .isEqualTo(g.json());
      } else {
        String id = g.event() == null ? idOf(g.json()) : g.event().id();
        assertThat(jsonById.put(id, g.json())).as("id %s reused by a non-duplicate", id).isNull();
      }
    }
    assertThat(duplicates).isPositive();
  }

  private static String idOf(String json) {
    int start = json.indexOf("\"id\":\"") + 6;
    return json.substring(start, json.indexOf('"', start));
  }

  @Test
  void theSameSeedAndClockGiveTheSameEventsAndOtherSeedsOtherIds() {
    List<Generated> a = generate(8, 1_000);
    List<Generated> b = generate(8, 1_000);
    List<Generated> c = generate(9, 1_000);

    assertThat(b).isEqualTo(a);
    assertThat(idOf(c.get(0).json())).isNotEqualTo(idOf(a.get(0).json()));
  }

  @Test
  void ndjsonBatchHoldsTheEventsNextWouldGiveOnePerLine() throws Exception {
    byte[] body = new StandardWorkload(10, () -> NOW).ndjsonBatch(5_000);
    List<Generated> expected = generate(10, 5_000);

    String[] lines = new String(body, StandardCharsets.UTF_8).split("\n");
    assertThat(lines).hasSize(5_000);
    for (int i = 0; i < lines.length; i++) {
      assertThat(lines[i]).as("line %d", i).isEqualTo(expected.get(i).json());
    }
    DecodedBatch decoded =
        new EventDecoder(IngestLimits.defaults(), () -> NOW)
            .decodeBatch(body, BodyFormat.NDJSON, "http");
    long invalid = expected.stream().filter(g -> g.kind() == Kind.INVALID).count();
    assertThat(decoded.rejections()).hasSize((int) invalid);
    assertThat(decoded.events()).hasSize(5_000 - (int) invalid);
  }

  @Test
  void eventsAreAboutTwoHundredBytesOfJson() {
    long bytes = 0;
    for (Generated g : generate(11, N)) {
      bytes += g.json().length();
    }
    double mean = bytes / (double) N;
    assertThat(mean).as("mean event size in bytes").isBetween(190.0, 230.0);
  }
}
