package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.event.Event;
import dev.aggregator.testing.TestEvents;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Redaction rewrites the closed segments: the user's records lose their user and properties and
 * keep their sequence, id, type, time and source; other records and later appends are untouched,
 * and the user's bytes are in no segment.
 */
class FileEventLogRedactionTest {
  private static final long ARRIVAL = 1_705_314_600_000L;

  private static void append(FileEventLog log, int i) {
    String user = i % 3 == 0 ? "alice@private.example" : "bob";
    Event e =
        TestEvents.event("buy")
            .id("e" + i)
            .user(user)
            .at(ARRIVAL + i)
            .prop("email", user)
            .prop("value", i)
            .build();
    RecordBuffer records = new RecordBuffer(128);
    EventCodec.encode(e, ARRIVAL, records);
    log.append(records.array(), records.length(), 1).join();
  }

  @Test
  void redactsTheUsersRecordsInEveryClosedSegmentAndKeepsTheRest(@TempDir Path dir)
      throws Exception {
    // Small segments: the 300 records span several, and the last is written to during redaction.
    FileEventLog.Options small = new FileEventLog.Options(4096, 8 << 20);
    try (FileEventLog log = FileEventLog.open(dir, small, 0, e -> {})) {
      for (int i = 0; i < 300; i++) {
        append(log, i);
      }
      assertThat(FileEventLog.segments(dir)).hasSizeGreaterThan(3);
      assertThat(log.redactUser("alice@private.example", 299)).isEqualTo(100);
      assertThat(log.redactUser("alice@private.example", 299)).as("nothing left").isZero();
      append(log, 300); // alice again, after the deletion point: kept
      append(log, 301);
    }
    List<LoggedEvent> replayed = new ArrayList<>();
    try (FileEventLog log = FileEventLog.open(dir, small, 0, replayed::add)) {
      assertThat(log.recoveryReport().truncated()).isFalse();
      assertThat(log.nextSequence()).isEqualTo(302);
    }
    assertThat(replayed).hasSize(302);
    for (int i = 0; i < 302; i++) {
      LoggedEvent l = replayed.get(i);
      Event e = l.event();
      assertThat(l.sequence()).isEqualTo(i);
      assertThat(e.id()).isEqualTo("e" + i);
      assertThat(e.timestamp()).isEqualTo(ARRIVAL + i);
      assertThat(e.eventType()).isEqualTo("buy");
      if (i % 3 == 0 && i < 300) {
        assertThat(e.userId()).isNull();
        assertThat(e.properties().size()).isZero();
      } else {
        assertThat(e.userId()).isIn("bob", "alice@private.example");
        assertThat(e.properties().size()).isEqualTo(2);
      }
    }
    byte[] needle = "alice@private.example".getBytes(StandardCharsets.UTF_8);
    List<Path> holding = new ArrayList<>();
    for (Path p : FileEventLog.segments(dir)) {
      if (contains(Files.readAllBytes(p), needle)) {
        holding.add(p);
      }
    }
    assertThat(holding).as("only the segment with the later append").hasSize(1);
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".redact"));
    }
  }

  private static boolean contains(byte[] b, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= b.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (b[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
