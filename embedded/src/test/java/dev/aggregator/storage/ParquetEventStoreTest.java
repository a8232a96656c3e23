package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParquetEventStoreTest {
  private static final long DAY = 86_400_000L;
  private static final long T0 = 1_796_169_600_000L; // 2026-12-02T00:00:00Z

  @TempDir Path dir;

  private static ParquetEventStore.Options fast() {
    // 50 ms chunks: tests wait on awaitVisible, which seals at once anyway.
    return ParquetEventStore.Options.defaults().withChunking(200_000, Duration.ofMillis(50));
  }

  private static Event event(String type, long time, EventProperties props) {
    return new Event(null, type, "u1", time, "web", props);
  }

  private static long count(ParquetEventStore store, String type, String sql, Object... params)
      throws SQLException {
    return store.query(
        type,
        Long.MIN_VALUE,
        Long.MAX_VALUE,
        sql,
        List.of(params),
        rs -> {
          rs.next();
          return rs.getLong(1);
        });
  }

  private static long countIn(
      ParquetEventStore store, String type, long start, long end, String sql) throws SQLException {
    return store.query(
        type,
        start,
        end,
        sql,
        List.of(),
        rs -> {
          rs.next();
          return rs.getLong(1);
        });
  }

  private static void appendAll(ParquetEventStore store, List<Event> events, long first)
      throws InterruptedException {
    store.append(events, first);
    assertThat(store.awaitVisible(first + events.size() - 1, 10_000)).isTrue();
  }

  private static void eventually(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within 10 s").isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  @Test
  void eventsAppendedAreVisibleAfterAwaitAndSqlCountsAndSumsMatchExactly() throws Exception {
    List<Event> events = new ArrayList<>();
    Map<String, Long> clicksByCountryOnPage3 = new TreeMap<>();
    double sum = 0;
    long views = 0;
    for (int i = 0; i < 5_000; i++) {
      String type = i % 3 == 0 ? "click" : "view";
      String page = "p" + (i % 7);
      String country = "c" + (i % 5);
      double value = i * 0.25;
      events.add(
          event(
              type,
              T0 + i * 60_000L, // 5,000 minutes: spans 4 days, so 4 files per seal
              EventProperties.builder()
                  .string("page", page)
                  .string("country", country)
                  .number("value", value)
                  .build()));
      if (type.equals("view")) {
        views++;
        sum += value;
      } else if (page.equals("p3")) {
        clicksByCountryOnPage3.merge(country, 1L, Long::sum);
      }
    }
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      store.append(events, 1);
      assertThat(store.awaitVisible(5_000, 10_000)).isTrue();
      assertThat(store.committedSequence()).isEqualTo(5_000);
      assertThat(count(store, "view", "SELECT count(*) FROM events")).isEqualTo(views);
      double sqlSum =
          store.query(
              "view",
              Long.MIN_VALUE,
              Long.MAX_VALUE,
              "SELECT sum("
                  + ParquetEventStoreTestSql.q(store.column("value", true))
                  + ") FROM events",
              List.of(),
              rs -> {
                rs.next();
                return rs.getDouble(1);
              });
      assertThat(sqlSum).isEqualTo(sum);
      Map<String, Long> grouped =
          store.query(
              "click",
              Long.MIN_VALUE,
              Long.MAX_VALUE,
              "SELECT country, count(*) FROM events WHERE page = ? GROUP BY country",
              List.of("p3"),
              rs -> {
                Map<String, Long> m = new TreeMap<>();
                while (rs.next()) {
                  m.put(rs.getString(1), rs.getLong(2));
                }
                return m;
              });
      assertThat(grouped).isEqualTo(clicksByCountryOnPage3);
      // A time range selects exactly its events: the second day of views.
      long secondDay =
          events.stream()
              .filter(e -> e.eventType().equals("view"))
              .filter(e -> e.timestamp() >= T0 + DAY && e.timestamp() < T0 + 2 * DAY)
              .count();
      assertThat(countIn(store, "view", T0 + DAY, T0 + 2 * DAY, "SELECT count(*) FROM events"))
          .isEqualTo(secondDay);
      assertThat(store.stats().rows()).isEqualTo(5_000);
      assertThat(Files.exists(dir.resolve("day=2026-12-02"))).isTrue();
    }
  }

  @Test
  void awkwardStringsAndBooleansRoundTripExactly() throws Exception {
    List<String> awkward =
        List.of(
            "a,b",
            "say \"hi\"",
            "\"",
            "line1\nline2",
            "crlf\r\nend",
            "ünïcödé 🙂 日本",
            "",
            "comma, \"quote\",\nnewline",
            "\\back\\slash",
            "NULL");
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < awkward.size(); i++) {
      events.add(
          new Event(
              i % 2 == 0 ? "id-" + i : null,
              "t",
              i % 3 == 0 ? null : awkward.get(i),
              T0 + i,
              awkward.get(i).isEmpty() ? "x" : awkward.get(i),
              EventProperties.builder()
                  .string("text", awkward.get(i))
                  .bool("flag", i % 2 == 0)
                  .build()));
    }
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      appendAll(store, events, 1);
      List<List<String>> rows =
          store.query(
              "t",
              Long.MIN_VALUE,
              Long.MAX_VALUE,
              "SELECT id, user_id, source, text, flag FROM events ORDER BY time_ms",
              List.of(),
              rs -> {
                List<List<String>> out = new ArrayList<>();
                while (rs.next()) {
                  List<String> row = new ArrayList<>();
                  for (int c = 1; c <= 5; c++) {
                    row.add(rs.getString(c));
                  }
                  out.add(row);
                }
                return out;
              });
      assertThat(rows).hasSize(awkward.size());
      for (int i = 0; i < awkward.size(); i++) {
        Event e = events.get(i);
        assertThat(rows.get(i))
            .containsExactly(
                e.id(), e.userId(), e.source(), awkward.get(i), i % 2 == 0 ? "true" : "false");
      }
      assertThat(count(store, "t", "SELECT count(*) FROM events WHERE text = ''")).isEqualTo(1);
      assertThat(count(store, "t", "SELECT count(*) FROM events WHERE flag = 'true'")).isEqualTo(5);
    }
  }

  @Test
  void keysThatCollideGetDistinctStableColumns() throws Exception {
    List<Event> events =
        List.of(
            event(
                "t",
                T0,
                EventProperties.builder().string("page", "a").string("value", "x").build()),
            event(
                "t",
                T0 + 1,
                EventProperties.builder().string("Page", "b").number("value", 2).build()),
            event(
                "t",
                T0 + 2,
                EventProperties.builder().string("PAGE", "c").number("value", 3).build()),
            event(
                "t",
                T0 + 3,
                EventProperties.builder().string("source", "prop").number("ID", 7).build()),
            event("t", T0 + 4, EventProperties.builder().string("we\"ird.key name", "w").build()));
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      appendAll(store, events, 1);
      assertThat(store.column("page", false)).isEqualTo("page");
      assertThat(store.column("Page", false)).isEqualTo("Page~2");
      assertThat(store.column("PAGE", false)).isEqualTo("PAGE~3");
      assertThat(store.column("value", false)).isEqualTo("value");
      assertThat(store.column("value", true)).isEqualTo("value~2");
      assertThat(store.column("source", false)).isEqualTo("source");
      assertThat(store.column("ID", true)).isEqualTo("ID~2");
      assertThat(store.column("missing", false)).isNull();
      assertThat(count(store, "t", "SELECT count(*) FROM events WHERE \"Page~2\" = 'b'"))
          .isEqualTo(1);
      assertThat(count(store, "t", "SELECT sum(\"value~2\")::BIGINT FROM events")).isEqualTo(5);
      assertThat(count(store, "t", "SELECT count(*) FROM events WHERE source = 'web'"))
          .isEqualTo(5);
      String weird = ParquetEventStoreTestSql.q(store.column("we\"ird.key name", false));
      assertThat(count(store, "t", "SELECT count(*) FROM events WHERE " + weird + " = 'w'"))
          .isEqualTo(1);
    }
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      assertThat(store.column("Page", false)).isEqualTo("Page~2");
      assertThat(store.column("value", true)).isEqualTo("value~2");
    }
  }

  @Test
  void propertiesPastMaxColumnsGoLosslesslyIntoExtraJson() throws Exception {
    ParquetEventStore.Options options = fast().withMaxColumns(2);
    Event e =
        event(
            "t",
            T0,
            EventProperties.builder()
                .string("a", "1")
                .number("b", 2)
                .string("c", "x,\"y\"")
                .number("d", 4.5)
                .bool("e", true)
                .build());
    try (ParquetEventStore store = ParquetEventStore.open(dir, options)) {
      appendAll(store, List.of(e), 1);
      assertThat(store.column("a", false)).isEqualTo("a");
      assertThat(store.column("c", false)).isNull();
      String extra =
          store.query(
              "t",
              Long.MIN_VALUE,
              Long.MAX_VALUE,
              "SELECT extra FROM events",
              List.of(),
              rs -> {
                rs.next();
                return rs.getString(1);
              });
      JsonNode json = new ObjectMapper().readTree(extra);
      assertThat(json.get("c").asText()).isEqualTo("x,\"y\"");
      assertThat(json.get("d").asDouble()).isEqualTo(4.5);
      assertThat(json.get("e").asBoolean()).isTrue();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      store.export(Long.MIN_VALUE, Long.MAX_VALUE, null, "ndjson", out);
      JsonNode line = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
      assertThat(line.get("properties").size()).isEqualTo(5);
      assertThat(line.get("properties").get("d").asDouble()).isEqualTo(4.5);
    }
  }

  @Test
  void reopeningKeepsTheCommittedSequenceAndSkipsReplayedEvents() throws Exception {
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      events.add(event("t", T0 + i, EventProperties.builder().number("n", i).build()));
    }
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      store.append(events.subList(0, 60), 11); // sequences 11..70
    } // close seals what is staged
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      assertThat(store.committedSequence()).isEqualTo(70);
      // The caller replays from an earlier point: 11..70 again, then 71..110 new.
      appendAll(store, events, 11);
      assertThat(store.committedSequence()).isEqualTo(110);
      assertThat(count(store, "t", "SELECT count(*) FROM events")).isEqualTo(100);
      assertThat(count(store, "t", "SELECT count(DISTINCT n) FROM events")).isEqualTo(100);
    }
  }

  @Test
  void filesNotInTheManifestAreDeletedOnOpen() throws Exception {
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      appendAll(store, List.of(event("t", T0, EventProperties.empty())), 1);
    }
    Path day = dir.resolve("day=2026-12-02");
    Path orphan = day.resolve("part-99.parquet");
    Files.copy(Files.list(day).findFirst().orElseThrow(), orphan); // a crash before the manifest
    Path tmp = day.resolve("part-100.parquet.tmp");
    Files.writeString(tmp, "torn");
    Path otherDay = Files.createDirectories(dir.resolve("day=2026-12-09"));
    Files.writeString(otherDay.resolve("part-101.parquet.tmp"), "torn");
    Files.writeString(dir.resolve("manifest.json.tmp"), "{");
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      assertThat(orphan).doesNotExist();
      assertThat(tmp).doesNotExist();
      assertThat(otherDay).doesNotExist();
      assertThat(dir.resolve("manifest.json.tmp")).doesNotExist();
      assertThat(count(store, "t", "SELECT count(*) FROM events")).isEqualTo(1);
      assertThat(store.stats().files()).isEqualTo(1);
    }
  }

  @Test
  void compactionKeepsEveryRowOnceAndReducesTheFileCount() throws Exception {
    ParquetEventStore.Options options = fast().withCompaction(4, 1_000_000);
    try (ParquetEventStore store = ParquetEventStore.open(dir, options)) {
      long seq = 1;
      for (int chunk = 0; chunk < 4; chunk++) {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 250; i++) {
          events.add(
              event(
                  i % 2 == 0 ? "a" : "b",
                  T0 + seq,
                  EventProperties.builder().number("seq", seq + i).build()));
        }
        appendAll(store, events, seq);
        seq += events.size();
      }
      eventually(() -> store.stats().files() == 1);
      assertThat(store.stats().rows()).isEqualTo(1_000);
      assertThat(count(store, "a", "SELECT count(*) FROM events")).isEqualTo(500);
      assertThat(count(store, "b", "SELECT count(DISTINCT seq) FROM events")).isEqualTo(500);
      eventually(() -> dayFiles().size() == 1); // the replaced files, once no query reads them
    }
    try (ParquetEventStore store = ParquetEventStore.open(dir, options)) {
      assertThat(count(store, "a", "SELECT count(*) FROM events")).isEqualTo(500);
    }
  }

  @Test
  void retentionByAgeDropsWholeOldDaysAndMovesTheHorizon() throws Exception {
    long now = System.currentTimeMillis();
    long today = Math.floorDiv(now, DAY) * DAY;
    List<Event> events =
        List.of(
            event("t", today - 10 * DAY + 5, EventProperties.empty()),
            event("t", today - 9 * DAY + 5, EventProperties.empty()),
            event("t", today - DAY + 5, EventProperties.empty()),
            event("t", now, EventProperties.empty()));
    ParquetEventStore.Options options = fast().withRetention(Duration.ofDays(7), 0);
    try (ParquetEventStore store = ParquetEventStore.open(dir, options)) {
      assertThat(store.horizonMillis()).isEqualTo(Long.MIN_VALUE);
      appendAll(store, events, 1);
      eventually(() -> store.horizonMillis() == today - 8 * DAY);
      assertThat(count(store, "t", "SELECT count(*) FROM events")).isEqualTo(2);
      assertThat(store.stats().horizonMillis()).isEqualTo(today - 8 * DAY);
      // A late event for a dropped day is not kept.
      appendAll(store, List.of(event("t", today - 10 * DAY, EventProperties.empty())), 5);
      assertThat(count(store, "t", "SELECT count(*) FROM events")).isEqualTo(2);
    }
  }

  @Test
  void aDiskBudgetDropsTheOldestDaysFirst() throws Exception {
    ParquetEventStore.Options options = fast().withRetention(null, 1);
    try (ParquetEventStore store = ParquetEventStore.open(dir, options)) {
      appendAll(
          store,
          List.of(
              event("t", T0, EventProperties.empty()),
              event("t", T0 + DAY, EventProperties.empty()),
              event("t", T0 + 2 * DAY, EventProperties.empty())),
          1);
      eventually(() -> store.horizonMillis() == T0 + 2 * DAY);
      // The newest day is kept even over the budget.
      assertThat(count(store, "t", "SELECT min(time_ms) FROM events")).isEqualTo(T0 + 2 * DAY);
      assertThat(store.stats().files()).isEqualTo(1);
      eventually(() -> dayFiles().size() == 1);
    }
  }

  @Test
  void aRangeWithoutFilesIsAnEmptyRelationWithEveryColumn() throws Exception {
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast())) {
      assertThat(count(store, "t", "SELECT count(*) FROM events")).isZero();
      appendAll(
          store,
          List.of(
              event("t", T0, EventProperties.builder().string("a", "1").build()),
              event("u", T0 + 1, EventProperties.builder().number("b", 1).build())),
          1);
      assertThat(count(store, "t", "SELECT count(b) FROM events")).isZero();
      assertThat(count(store, "t", "SELECT count(a) FROM events WHERE b IS NULL")).isEqualTo(1);
      assertThat(
              countIn(
                  store,
                  "t",
                  T0 + DAY,
                  T0 + 2 * DAY,
                  "WITH x AS (SELECT a, b FROM events) SELECT count(*) FROM x"))
          .isZero();
    }
  }

  @Test
  void exportsInEveryFormatReadBackAsTheRows() throws Exception {
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      events.add(
          new Event(
              i % 2 == 0 ? "id" + i : null,
              i % 5 == 0 ? "other" : "t",
              "user,\"" + i + "\"",
              T0 + i * 3_600_000L,
              "web",
              EventProperties.builder()
                  .string("s", "v\n" + i)
                  .number("n", i + 0.5)
                  .bool("b", i % 3 == 0)
                  .build()));
    }
    List<Event> typeT = events.stream().filter(e -> e.eventType().equals("t")).toList();
    try (ParquetEventStore store = ParquetEventStore.open(dir, fast());
        Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement st = duck.createStatement()) {
      appendAll(store, events, 1);

      ByteArrayOutputStream nd = new ByteArrayOutputStream();
      store.export(Long.MIN_VALUE, Long.MAX_VALUE, "t", "ndjson", nd);
      String[] lines = nd.toString(StandardCharsets.UTF_8).split("\n");
      assertThat(lines).hasSize(typeT.size());
      ObjectMapper mapper = new ObjectMapper();
      for (int i = 0; i < lines.length; i++) {
        JsonNode j = mapper.readTree(lines[i]);
        Event e = typeT.get(i);
        assertThat(j.has("id")).isEqualTo(e.id() != null);
        if (e.id() != null) {
          assertThat(j.get("id").asText()).isEqualTo(e.id());
        }
        assertThat(j.get("eventType").asText()).isEqualTo("t");
        assertThat(j.get("userId").asText()).isEqualTo(e.userId());
        assertThat(j.get("timestamp").asText())
            .isEqualTo(
                java.time.Instant.ofEpochMilli(e.timestamp()).toString().replace("Z", ".000Z"));
        assertThat(j.get("source").asText()).isEqualTo("web");
        JsonNode p = j.get("properties");
        assertThat(p.get("s").asText()).isEqualTo(e.properties().string(0));
        assertThat(p.get("n").isNumber()).isTrue();
        assertThat(p.get("n").asDouble()).isEqualTo(e.properties().number(1));
        assertThat(p.get("b").asText()).isEqualTo(e.properties().string(2));
      }

      for (String format : List.of("parquet", "csv")) {
        Path file = dir.resolve("..").resolve("export-" + System.nanoTime() + "." + format);
        try (var out = Files.newOutputStream(file)) {
          store.export(Long.MIN_VALUE, Long.MAX_VALUE, null, format, out);
        }
        String reader =
            format.equals("parquet")
                ? "read_parquet('" + file + "')"
                : "read_csv('" + file + "', header=true, all_varchar=true)";
        try (ResultSet rs =
            st.executeQuery("SELECT id, event_type, user_id, time_ms, s, n, b FROM " + reader)) {
          int i = 0;
          while (rs.next()) {
            Event e = events.get(i++);
            assertThat(rs.getString(1)).isEqualTo(e.id());
            assertThat(rs.getString(2)).isEqualTo(e.eventType());
            assertThat(rs.getString(3)).isEqualTo(e.userId());
            assertThat(Long.parseLong(rs.getString(4))).isEqualTo(e.timestamp());
            assertThat(rs.getString(5)).isEqualTo(e.properties().string(0));
            assertThat(Double.parseDouble(rs.getString(6))).isEqualTo(e.properties().number(1));
            assertThat(rs.getString(7)).isEqualTo(e.properties().string(2));
          }
          assertThat(i).isEqualTo(events.size());
        }
        Files.delete(file);
      }
    }
  }

  private List<Path> dayFiles() {
    try (var walk = Files.walk(dir)) {
      return walk.filter(p -> p.getFileName().toString().endsWith(".parquet")).toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Quoting for column names in test SQL. */
  static final class ParquetEventStoreTestSql {
    static String q(String name) {
      return '"' + name.replace("\"", "\"\"") + '"';
    }
  }
}
