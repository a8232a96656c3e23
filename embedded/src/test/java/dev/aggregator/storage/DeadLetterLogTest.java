package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeadLetterLogTest {
  private static final long T0 = 1_705_314_600_000L;

  @Test
  void newestReturnsTheNewestFirstAndFiltersByReason(@TempDir Path dir) throws IOException {
    try (DeadLetterLog log = new DeadLetterLog(dir, 100)) {
      List<DeadLetter> added = new ArrayList<>();
      String[] reasons = {DeadLetter.INVALID, DeadLetter.EXPIRED, DeadLetter.FAILED};
      for (int i = 0; i < 9; i++) {
        DeadLetter d = entry(i, reasons[i % 3], i % 3 == 0 ? null : (long) i);
        added.add(d);
        log.add(d);
      }

      assertThat(log.newest(100, null))
          .as("all, newest first")
          .containsExactlyElementsOf(reversed(added));
      assertThat(log.newest(4, null))
          .as("the newest 4")
          .containsExactlyElementsOf(reversed(added).subList(0, 4));
      assertThat(log.newest(100, DeadLetter.EXPIRED))
          .as("only expired, newest first")
          .containsExactly(added.get(7), added.get(4), added.get(1));
      assertThat(log.newest(2, DeadLetter.INVALID))
          .as("the newest 2 invalid")
          .containsExactly(added.get(6), added.get(3));
      assertThat(log.newest(10, "no-such-reason")).isEmpty();
      assertThat(log.newest(0, null)).isEmpty();
      assertThat(log.size()).isEqualTo(9);
      assertThat(log.total()).isEqualTo(9);
    }
  }

  @Test
  void onlyTheNewestCapacityEntriesAreKept(@TempDir Path dir) throws IOException {
    int capacity = 10;
    try (DeadLetterLog log = new DeadLetterLog(dir, capacity)) {
      List<DeadLetter> added = new ArrayList<>();
      for (int i = 0; i < 25; i++) {
        DeadLetter d = entry(i, DeadLetter.INVALID, null);
        added.add(d);
        log.add(d);
        assertThat(log.size())
            .withFailMessage(
                "after %d adds: got size %d, want at most %d", i + 1, log.size(), capacity)
            .isLessThanOrEqualTo(capacity);
      }

      assertThat(log.size()).isEqualTo(capacity);
      assertThat(log.total()).as("total counts every entry").isEqualTo(25);
      assertThat(log.newest(100, null)).containsExactlyElementsOf(reversed(added.subList(15, 25)));
    }
  }

  @Test
  void aDeadLetterIsCutToItsBudgetWhateverItCarries(@TempDir Path dir) throws IOException {
    List<DeadLetter.Problem> problems = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      problems.add(new DeadLetter.Problem("f".repeat(5_000), "m".repeat(5_000)));
    }
    try (DeadLetterLog log = new DeadLetterLog(dir, 10)) {
      log.add(new DeadLetter(1, DeadLetter.INVALID, null, problems, "e".repeat(1 << 20)));
      DeadLetter kept = log.newest(1, null).get(0);
      assertThat(kept.problems()).hasSize(DeadLetter.MAX_PROBLEMS);
      assertThat(kept.problems().get(DeadLetter.MAX_PROBLEMS - 1).message())
          .isEqualTo("… and 989 more problems");
      assertThat(kept.problems().get(0).message()).hasSize(DeadLetter.MAX_TEXT_CHARS + 1);
      assertThat(kept.event()).hasSize(DeadLetter.MAX_EVENT_CHARS + 1);
    }
  }

  @Test
  void startsOnAFileOfHugeLinesFromAnOlderVersionKeepingTheReadableOnes(@TempDir Path dir)
      throws IOException {
    // What an unbudgeted version left behind (a 724 MB file crashed every start): lines far over
    // the line budget between normal ones.
    try (DeadLetterLog log = new DeadLetterLog(dir, 100)) {
      log.add(entry(1, DeadLetter.INVALID, null));
    }
    Path file = dir.resolve(DeadLetterLog.FILE);
    String good = java.nio.file.Files.readString(file).strip();
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      text.append("{\"time\":1,\"reason\":\"invalid\",\"event\":\"")
          .append("x".repeat(1 << 20))
          .append("\"}\n")
          .append(good)
          .append('\n');
    }
    java.nio.file.Files.writeString(file, text.toString());

    try (DeadLetterLog log = new DeadLetterLog(dir, 100)) {
      assertThat(log.size()).isEqualTo(20);
      for (int i = 0; i < 300; i++) { // past twice the capacity: compaction streams the file
        log.add(entry(i, DeadLetter.INVALID, null));
      }
    }
    try (DeadLetterLog log = new DeadLetterLog(dir, 100)) {
      assertThat(log.size()).isEqualTo(100);
      assertThat(java.nio.file.Files.size(file)).isLessThan(1 << 20);
    }
  }

  @Test
  void entriesSurviveCloseAndReopen(@TempDir Path dir) throws IOException {
    List<DeadLetter> added =
        List.of(
            new DeadLetter(
                T0,
                DeadLetter.INVALID,
                null,
                List.of(
                    new DeadLetter.Problem("timestamp", "not RFC 3339"),
                    new DeadLetter.Problem(null, "body is not JSON")),
                "{\"eventType\":\"x\",\"timestamp\":\"yesterday\"}"),
            new DeadLetter(T0 + 1, DeadLetter.EXPIRED, 17L, List.of(), "{\"ü\":\"日本 🎉\"}"),
            new DeadLetter(
                T0 + 2,
                DeadLetter.FAILED,
                5L,
                List.of(new DeadLetter.Problem("properties.a", "line\nbreak \"quoted\"")),
                "{\n  \"multi\": \"line\"\n}"),
            new DeadLetter(T0 + 3, DeadLetter.INVALID, null, List.of(), ""));
    try (DeadLetterLog log = new DeadLetterLog(dir, 100)) {
      assertThat(log.persistedUpTo()).as("persistedUpTo of an empty log").isEqualTo(-1);
      added.forEach(log::add);
    } // close() drains the writer

    try (DeadLetterLog reopened = new DeadLetterLog(dir, 100)) {
      List<DeadLetter> got = reopened.newest(100, null);
      assertThat(got)
          .withFailMessage("got %s, want %s", got, reversed(added))
          .isEqualTo(reversed(added));
      assertThat(reopened.persistedUpTo())
          .withFailMessage("got persistedUpTo %d, want 17", reopened.persistedUpTo())
          .isEqualTo(17);
      assertThat(reopened.total()).isEqualTo(added.size());
    }
    assertThat(Files.readAllLines(dir.resolve(DeadLetterLog.FILE))).hasSize(added.size());
  }

  @Test
  void closeRightAfterAddingLosesNothing(@TempDir Path tmp) throws IOException {
    // Closing while the writer is busy must still persist everything added before close().
    for (int round = 0; round < 30; round++) {
      Path dir = tmp.resolve("round-" + round);
      DeadLetterLog log = new DeadLetterLog(dir, 1000);
      for (int i = 0; i < 50; i++) {
        log.add(entry(i, DeadLetter.FAILED, (long) i));
      }
      log.close();
      assertThat(log.unpersisted()).as("round %d: unpersisted", round).isZero();

      try (DeadLetterLog reopened = new DeadLetterLog(dir, 1000)) {
        assertThat(reopened.size())
            .withFailMessage(
                "round %d: got %d entries after reopening, want 50", round, reopened.size())
            .isEqualTo(50);
        assertThat(reopened.persistedUpTo()).isEqualTo(49);
      }
    }
  }

  @Test
  void persistedUpToIsTheHighestSequenceOnDisk(@TempDir Path dir) throws IOException {
    try (DeadLetterLog log = new DeadLetterLog(dir, 3)) {
      log.add(entry(0, DeadLetter.EXPIRED, 40L));
      log.add(entry(1, DeadLetter.EXPIRED, 90L)); // the highest, evicted from memory below
      log.add(entry(2, DeadLetter.INVALID, null));
      log.add(entry(3, DeadLetter.FAILED, 60L));
      log.add(entry(4, DeadLetter.INVALID, null));
      log.add(entry(5, DeadLetter.INVALID, null));
    }
    try (DeadLetterLog reopened = new DeadLetterLog(dir, 3)) {
      assertThat(reopened.persistedUpTo())
          .withFailMessage("got persistedUpTo %d, want 90", reopened.persistedUpTo())
          .isEqualTo(90);
    }
  }

  @Test
  void persistedUpToIsMinusOneWithoutSequences(@TempDir Path dir) throws IOException {
    try (DeadLetterLog log = new DeadLetterLog(dir, 10)) {
      log.add(entry(0, DeadLetter.INVALID, null));
    }
    try (DeadLetterLog reopened = new DeadLetterLog(dir, 10)) {
      assertThat(reopened.persistedUpTo()).isEqualTo(-1);
      assertThat(reopened.size()).isEqualTo(1);
    }
  }

  @Test
  void aTornLastLineIsIgnoredOnLoadAndDoesNotSwallowTheNextEntry(@TempDir Path dir)
      throws IOException {
    List<DeadLetter> valid =
        List.of(
            entry(0, DeadLetter.INVALID, null),
            entry(1, DeadLetter.EXPIRED, 3L),
            entry(2, DeadLetter.FAILED, 4L));
    String torn = DeadLetterLog.toJson(entry(3, DeadLetter.FAILED, 99L));
    for (int cut = 1; cut < torn.length(); cut += 7) {
      Path sub = dir.resolve("cut-" + cut);
      Files.createDirectories(sub);
      StringBuilder text = new StringBuilder();
      for (DeadLetter d : valid) {
        text.append(DeadLetterLog.toJson(d)).append('\n');
      }
      text.append(torn, 0, cut); // a crash in the middle of appending a line: no newline
      Files.writeString(sub.resolve(DeadLetterLog.FILE), text, StandardCharsets.UTF_8);

      DeadLetter next = entry(4, DeadLetter.INVALID, null);
      try (DeadLetterLog log = new DeadLetterLog(sub, 100)) {
        assertThat(log.newest(100, null))
            .as("torn after %d chars: loaded", cut)
            .containsExactlyElementsOf(reversed(valid));
        assertThat(log.persistedUpTo())
            .withFailMessage(
                "torn after %d chars: got persistedUpTo %d, want 4", cut, log.persistedUpTo())
            .isEqualTo(4);
        log.add(next);
      }

      try (DeadLetterLog reopened = new DeadLetterLog(sub, 100)) {
        List<DeadLetter> want = new ArrayList<>(valid);
        want.add(next);
        List<DeadLetter> got = reopened.newest(100, null);
        assertThat(got)
            .withFailMessage(
                "torn after %d chars, then one entry added: got %s, want %s",
                cut, got, reversed(want))
            .isEqualTo(reversed(want));
      }
    }
  }

  @Test
  void foreignAndBlankLinesAreSkipped(@TempDir Path dir) throws IOException {
    DeadLetter a = entry(0, DeadLetter.INVALID, 1L);
    DeadLetter b = entry(1, DeadLetter.EXPIRED, 2L);
    Files.writeString(
        dir.resolve(DeadLetterLog.FILE),
        DeadLetterLog.toJson(a)
            + "\n\nnot json at all\n[1,2,3]\n{\"time\":5}\n"
            + DeadLetterLog.toJson(b)
            + "\n");

    try (DeadLetterLog log = new DeadLetterLog(dir, 100)) {
      assertThat(log.newest(100, null)).containsExactly(b, a);
    }
  }

  @Test
  void theFileIsCompactedToTheNewestEntries(@TempDir Path dir) throws IOException {
    int capacity = 5;
    List<DeadLetter> added = new ArrayList<>();
    try (DeadLetterLog log = new DeadLetterLog(dir, capacity)) {
      for (int i = 0; i < 4 * capacity + 3; i++) {
        DeadLetter d = entry(i, DeadLetter.FAILED, (long) i);
        added.add(d);
        log.add(d);
      }
    }

    List<String> lines = Files.readAllLines(dir.resolve(DeadLetterLog.FILE));
    assertThat(lines.size())
        .withFailMessage("got %d lines on disk, want at most %d", lines.size(), 2 * capacity)
        .isLessThanOrEqualTo(2 * capacity);
    assertThat(dir.resolve(DeadLetterLog.FILE + ".tmp")).doesNotExist();
    try (DeadLetterLog reopened = new DeadLetterLog(dir, capacity)) {
      List<DeadLetter> want = reversed(added.subList(added.size() - capacity, added.size()));
      List<DeadLetter> got = reopened.newest(100, null);
      assertThat(got).withFailMessage("got %s, want %s", got, want).isEqualTo(want);
      assertThat(reopened.persistedUpTo()).isEqualTo(added.size() - 1);
    }
  }

  @Test
  void theFileStaysBoundedOverManyRestarts(@TempDir Path dir) throws IOException {
    int capacity = 4;
    int next = 0;
    for (int restart = 0; restart < 6; restart++) {
      try (DeadLetterLog log = new DeadLetterLog(dir, capacity)) {
        for (int i = 0; i < 3; i++) {
          log.add(entry(next, DeadLetter.EXPIRED, (long) next));
          next++;
        }
      }
      List<String> lines = Files.readAllLines(dir.resolve(DeadLetterLog.FILE));
      assertThat(lines.size())
          .withFailMessage(
              "after restart %d: got %d lines, want at most %d",
              restart, lines.size(), 2 * capacity)
          .isLessThanOrEqualTo(2 * capacity);
    }
    try (DeadLetterLog log = new DeadLetterLog(dir, capacity)) {
      assertThat(log.newest(1, null)).extracting(DeadLetter::sequence).containsExactly(17L);
      assertThat(log.size()).isEqualTo(capacity);
    }
  }

  private static DeadLetter entry(int i, String reason, Long sequence) {
    return new DeadLetter(
        T0 + i,
        reason,
        sequence,
        List.of(new DeadLetter.Problem("field" + i, "problem " + i)),
        "{\"eventType\":\"e" + i + "\"}");
  }

  private static <T> List<T> reversed(List<T> list) {
    List<T> out = new ArrayList<>(list);
    java.util.Collections.reverse(out);
    return out;
  }
}
