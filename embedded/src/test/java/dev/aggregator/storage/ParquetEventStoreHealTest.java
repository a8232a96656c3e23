package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.testing.Tmpfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The event store on a real 16 MiB tmpfs that runs full: it fails, refuses to claim visibility, and
 * once there is room again re-reads from the log (a list here) everything it was handed — staged,
 * queued or appended while it was failed — without a restart.
 */
class ParquetEventStoreHealTest {
  private static final long T0 = 1_796_169_600_000L; // 2026-12-02T00:00:00Z

  @TempDir Path dir;
  private Tmpfs tmpfs;
  private final List<LoggedEvent> log = new ArrayList<>();

  @BeforeEach
  void mount() throws Exception {
    tmpfs = Tmpfs.mount(dir.resolve("disk"), "16m");
  }

  @AfterEach
  void unmount() throws Exception {
    tmpfs.close();
  }

  @Test
  void aBatchWhoseStagingFailedIsReReadFromTheLogOnceThereIsRoom() throws Exception {
    try (ParquetEventStore store = open()) {
      Path ballast = tmpfs.dir().resolve("ballast");
      Tmpfs.fill(ballast);
      append(store, 1, 5_000); // staging 5,000 rows of ~200 bytes fails on the full disk
      assertThat(store.awaitVisible(5_000, 10_000)).as("visible on a full disk").isFalse();
      assertThat(store.failed()).isTrue();

      Files.delete(ballast);
      // Nothing else is appended: the heal must re-read the batch it failed on by itself.
      awaitHealed(store);
      assertThat(store.awaitVisible(5_000, 10_000)).as("healed").isTrue();
      assertThat(store.heals()).isEqualTo(1);
      append(store, 5_001, 1_000);
      assertThat(store.awaitVisible(6_000, 10_000)).isTrue();
      assertThat(countAndDistinct(store)).containsExactly(6_000L, 6_000L);
    }
  }

  @Test
  void eventsAppendedWhileFailedAreReReadInOrderWithoutDuplicates() throws Exception {
    try (ParquetEventStore store = open()) {
      Path ballast = tmpfs.dir().resolve("ballast");
      Tmpfs.fill(ballast);
      append(store, 1, 5_000);
      assertThat(store.awaitVisible(5_000, 10_000)).isFalse();
      for (int i = 0; i < 10; i++) {
        append(store, 5_001 + i * 100L, 100); // the failed store takes these without staging
      }
      Files.delete(ballast);
      awaitHealed(store);
      assertThat(store.awaitVisible(6_000, 10_000)).as("healed").isTrue();
      append(store, 6_001, 1_000);
      assertThat(store.awaitVisible(7_000, 10_000)).isTrue();
      assertThat(countAndDistinct(store)).containsExactly(7_000L, 7_000L);
    }
  }

  /** A failed store refuses at once; it heals within a retry interval of the disk's room. */
  private static void awaitHealed(ParquetEventStore store) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (store.failed()) {
      assertThat(System.nanoTime()).as("healed within 10 s").isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  private ParquetEventStore open() throws Exception {
    ParquetEventStore store =
        ParquetEventStore.open(
            tmpfs.dir().resolve("events"),
            ParquetEventStore.Options.defaults().withChunking(200_000, Duration.ofMillis(50)));
    store.healFrom(
        (from, last, to) -> {
          for (LoggedEvent e : log) {
            if (e.sequence() >= from && e.sequence() <= last) {
              to.accept(e);
            }
          }
        });
    return store;
  }

  /** Logs events {@code first..first+n-1} (numbered by "n") and hands them to the store. */
  private void append(ParquetEventStore store, long first, int n) throws InterruptedException {
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long seq = first + i;
      Event e =
          new Event(
              null,
              "t",
              "u" + seq % 97,
              T0 + seq * 1_000,
              "web",
              EventProperties.builder().number("n", seq).string("pad", "x".repeat(200)).build());
      events.add(e);
      log.add(new LoggedEvent(seq, T0, e));
    }
    store.append(events, first);
  }

  private static List<Long> countAndDistinct(ParquetEventStore store) throws Exception {
    return store.query(
        "t",
        Long.MIN_VALUE,
        Long.MAX_VALUE,
        "SELECT count(*), count(DISTINCT n) FROM events",
        List.of(),
        rs -> {
          rs.next();
          return List.of(rs.getLong(1), rs.getLong(2));
        });
  }
}
