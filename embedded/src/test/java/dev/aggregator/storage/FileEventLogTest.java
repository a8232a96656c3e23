package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.event.Event;
import dev.aggregator.testing.EventArbitraries;
import dev.aggregator.testing.TestEvents;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileEventLogTest {
  private static final FileEventLog.Options DEFAULTS = FileEventLog.Options.defaults();
  private static final int TINY_SEGMENT = 4096;
  private static final FileEventLog.Options TINY = new FileEventLog.Options(TINY_SEGMENT, 8 << 20);
  private static final long ARRIVAL = 1_705_314_600_000L;

  /** A batch of events appended in one call, all arriving at the same time. */
  record Batch(List<Event> events, long arrival) {}

  /** An opened log and what it replayed while opening. */
  record Opened(FileEventLog log, List<LoggedEvent> replayed) {}

  // ---------------------------------------------------------------------------------------------
  // Round trips (properties)

  @Property(tries = 30)
  void reopeningReplaysExactlyWhatWasAcknowledgedInOrder(
      @ForAll("batches") List<Batch> beforeRestart, @ForAll("batches") List<Batch> afterRestart)
      throws IOException {
    withTempDir(dir -> checkRoundTrip(dir, DEFAULTS, beforeRestart, afterRestart));
  }

  @Property(tries = 30)
  void reopeningReplaysExactlyWhatWasAcknowledgedAcrossManySmallSegments(
      @ForAll("paddedBatches") List<Batch> beforeRestart,
      @ForAll("paddedBatches") List<Batch> afterRestart)
      throws IOException {
    withTempDir(
        dir -> {
          int segments = checkRoundTrip(dir, TINY, beforeRestart, afterRestart);
          assertThat(segments)
              .withFailMessage(
                  "got %d segment(s), want several with %d-byte segments", segments, TINY_SEGMENT)
              .isGreaterThan(1);
        });
  }

  @Provide
  Arbitrary<List<Batch>> batches() {
    Arbitrary<List<Event>> events = EventArbitraries.events().list().ofMaxSize(6);
    return Combinators.combine(events, EventArbitraries.arrivals())
        .as(Batch::new)
        .list()
        .ofMaxSize(8);
  }

  /** Batches of events of 600+ bytes, at least 4 KiB in all: more than one tiny segment. */
  @Provide
  Arbitrary<List<Batch>> paddedBatches() {
    Arbitrary<List<Event>> events =
        EventArbitraries.paddedEvents(600, 900).list().ofMinSize(1).ofMaxSize(4);
    Arbitrary<List<Event>> barrier = Arbitraries.just(List.of());
    Arbitrary<List<Event>> batch =
        Arbitraries.frequencyOf(Tuple.of(6, events), Tuple.of(1, barrier));
    return Combinators.combine(batch, EventArbitraries.arrivals())
        .as(Batch::new)
        .list()
        .ofMinSize(8)
        .ofMaxSize(14)
        .filter(bs -> bs.stream().filter(b -> !b.events().isEmpty()).count() >= 7);
  }

  /**
   * Appends {@code before}, reopens, checks the replay, appends {@code after}, reopens, checks the
   * replay again; returns the number of segments at the end.
   */
  private static int checkRoundTrip(
      Path dir, FileEventLog.Options options, List<Batch> before, List<Batch> after)
      throws IOException {
    List<LoggedEvent> acked = new ArrayList<>();
    SegmentModel model = new SegmentModel(options.segmentBytes());

    Opened first = open(dir, options, 0);
    assertThat(first.replayed()).as("replayed from an empty directory").isEmpty();
    appendAll(first.log(), before, acked, model);
    LogStats stats = first.log().stats();
    assertThat(stats.records()).as("records appended since start").isEqualTo(acked.size());
    assertThat(stats.bytes()).as("bytes appended since start").isEqualTo(model.totalBytes);
    first.log().close();

    Opened second = open(dir, options, 0);
    checkReplay(dir, second, acked, model);
    appendAll(second.log(), after, acked, model);
    second.log().close();

    Opened third = open(dir, options, 0);
    checkReplay(dir, third, acked, model);
    int segments = third.log().stats().segments();
    third.log().close();
    return segments;
  }

  private static void appendAll(
      FileEventLog log, List<Batch> batches, List<LoggedEvent> acked, SegmentModel model) {
    for (Batch batch : batches) {
      RecordBuffer records = new RecordBuffer(256);
      for (Event e : batch.events()) {
        EventCodec.encode(e, batch.arrival(), records);
      }
      long want = acked.size();
      long got = log.append(records.array(), records.length(), records.records()).join();
      assertThat(got)
          .withFailMessage(
              "batch of %d: got first sequence %d, want %d", batch.events().size(), got, want)
          .isEqualTo(want);
      for (int i = 0; i < batch.events().size(); i++) {
        acked.add(new LoggedEvent(got + i, batch.arrival(), batch.events().get(i)));
      }
      model.append(records.length(), records.records(), want);
      assertThat(log.nextSequence())
          .withFailMessage("got nextSequence %d, want %d", log.nextSequence(), acked.size())
          .isEqualTo(acked.size());
    }
  }

  private static void checkReplay(
      Path dir, Opened opened, List<LoggedEvent> acked, SegmentModel model) throws IOException {
    List<LoggedEvent> got = opened.replayed();
    assertThat(got.size())
        .withFailMessage("got %d replayed, want %d", got.size(), acked.size())
        .isEqualTo(acked.size());
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i))
          .withFailMessage("replayed #%d: got %s, want %s", i, got.get(i), acked.get(i))
          .isEqualTo(acked.get(i));
      assertThat(got.get(i).sequence()).isEqualTo(i);
    }
    FileEventLog log = opened.log();
    assertThat(log.nextSequence())
        .withFailMessage("got nextSequence %d, want %d", log.nextSequence(), acked.size())
        .isEqualTo(acked.size());
    RecoveryReport report = log.recoveryReport();
    assertThat(report.records()).as("records read").isEqualTo(acked.size());
    assertThat(report.replayed()).as("records replayed").isEqualTo(acked.size());
    assertThat(report.bytes()).as("valid bytes read").isEqualTo(model.totalBytes);
    assertThat(report.truncatedBytes()).as("bytes cut after a clean close").isZero();
    assertThat(report.quarantinedSegments()).as("segments set aside").isZero();
    assertThat(report.truncated()).isFalse();
    List<String> wantNames = model.segmentNames();
    assertThat(segmentNames(dir))
        .withFailMessage("got segments %s, want %s", segmentNames(dir), wantNames)
        .isEqualTo(wantNames);
    assertThat(report.segments()).as("segments read").isEqualTo(wantNames.size());
    LogStats stats = log.stats();
    assertThat(stats.segments()).as("stats().segments()").isEqualTo(wantNames.size());
    assertThat(stats.diskBytes())
        .withFailMessage("got diskBytes %d, want %d", stats.diskBytes(), segmentBytesOnDisk(dir))
        .isEqualTo(segmentBytesOnDisk(dir));
    assertThat(stats.truncatedRecoveries()).isZero();
    assertThat(stats.failed()).isFalse();
  }

  /** Where each record goes, by the rule the writer follows: roll before a batch that won't fit. */
  private static final class SegmentModel {
    final long segmentBytes;
    final List<Long> bases = new ArrayList<>(List.of(0L));
    long activeBytes;
    long totalBytes;

    SegmentModel(long segmentBytes) {
      this.segmentBytes = segmentBytes;
    }

    void append(int length, int count, long firstSequence) {
      if (count > 0 && activeBytes > 0 && activeBytes + length > segmentBytes) {
        bases.add(firstSequence);
        activeBytes = 0;
      }
      activeBytes += length;
      totalBytes += length;
    }

    List<String> segmentNames() {
      return bases.stream().map(FileEventLog::segmentName).toList();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Torn and corrupt tails

  @Test
  void aTornLastRecordIsCutAtEveryPossibleOffsetAndTheLogCarriesOn(@TempDir Path tmp)
      throws IOException {
    Path dir = tmp.resolve("wal");
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      events.add(TestEvents.event("page_view").id("id-" + i).prop("n", i).build());
    }
    // Small (about 80 bytes), so that trying every offset stays fast.
    events.add(TestEvents.event("last").id("🎉").user("ü").prop("p", "/日本").build());
    int n = events.size();
    List<LoggedEvent> acked = new ArrayList<>();
    List<Long> ends = new ArrayList<>();
    try (FileEventLog log = FileEventLog.open(dir, DEFAULTS, 0, e -> {})) {
      long end = 0;
      for (Event e : events) {
        RecordBuffer records = new RecordBuffer(64);
        EventCodec.encode(e, ARRIVAL, records);
        long seq = log.append(records.array(), records.length(), 1).join();
        acked.add(new LoggedEvent(seq, ARRIVAL, e));
        end += records.length();
        ends.add(end);
      }
    }
    Path segment = dir.resolve(FileEventLog.segmentName(0));
    assertThat(Files.size(segment)).isEqualTo(ends.get(n - 1));
    long lastStart = ends.get(n - 2);
    long lastEnd = ends.get(n - 1);
    Event after = TestEvents.event("after_restart").id("again").prop("x", 1).build();

    for (long cutAt = lastStart; cutAt < lastEnd; cutAt++) {
      Path copy = tmp.resolve("cut-" + cutAt);
      copyDirectory(dir, copy);
      Path copied = copy.resolve(FileEventLog.segmentName(0));
      truncate(copied, cutAt);

      Opened opened = open(copy, DEFAULTS, 0);
      long torn = cutAt - lastStart;
      assertThat(opened.replayed())
          .as("cut at %d (%d bytes of the last record left)", cutAt, torn)
          .containsExactlyElementsOf(acked.subList(0, n - 1));
      RecoveryReport report = opened.log().recoveryReport();
      assertThat(report.truncatedBytes())
          .withFailMessage(
              "cut at %d: got truncatedBytes %d, want %d", cutAt, report.truncatedBytes(), torn)
          .isEqualTo(torn);
      assertThat(report.truncated()).as("cut at %d: truncated()", cutAt).isEqualTo(torn > 0);
      assertThat(opened.log().stats().truncatedRecoveries()).isEqualTo(torn > 0 ? 1 : 0);
      assertThat(Files.size(copied))
          .withFailMessage(
              "cut at %d: got file size %d, want %d (the end of record %d)",
              cutAt, Files.size(copied), lastStart, n - 2)
          .isEqualTo(lastStart);
      assertThat(opened.log().nextSequence()).isEqualTo(n - 1);

      long seq = append(opened.log(), after, ARRIVAL + 1);
      assertThat(seq)
          .withFailMessage(
              "cut at %d: got sequence %d for the next append, want %d", cutAt, seq, n - 1)
          .isEqualTo(n - 1);
      opened.log().close();

      Opened again = open(copy, DEFAULTS, 0);
      List<LoggedEvent> want = new ArrayList<>(acked.subList(0, n - 1));
      want.add(new LoggedEvent(n - 1, ARRIVAL + 1, after));
      assertThat(again.replayed()).as("cut at %d, then reopened", cutAt).isEqualTo(want);
      assertThat(again.log().recoveryReport().truncatedBytes()).isZero();
      again.log().close();
      deleteRecursively(copy);
    }
  }

  @Test
  void aZeroFilledTailIsCutAndEveryRecordKept(@TempDir Path tmp) throws IOException {
    Path dir = tmp.resolve("wal");
    List<LoggedEvent> acked = writeEvents(dir, DEFAULTS, 10, 0);
    Path segment = dir.resolve(FileEventLog.segmentName(0));
    long size = Files.size(segment);
    Files.write(segment, new byte[64], StandardOpenOption.APPEND);

    Opened opened = open(dir, DEFAULTS, 0);

    assertThat(opened.replayed()).containsExactlyElementsOf(acked);
    assertThat(opened.log().recoveryReport().truncatedBytes())
        .withFailMessage(
            "got truncatedBytes %d, want 64", opened.log().recoveryReport().truncatedBytes())
        .isEqualTo(64);
    assertThat(Files.size(segment)).isEqualTo(size);
    assertThat(append(opened.log(), TestEvents.event("next").build(), ARRIVAL)).isEqualTo(10);
    opened.log().close();
    Opened again = open(dir, DEFAULTS, 0);
    assertThat(again.replayed()).hasSize(11);
    again.log().close();
  }

  @Test
  void aFlippedByteInAMiddleRecordKeepsThePrefixAndSetsLaterSegmentsAside(@TempDir Path tmp)
      throws IOException {
    Path dir = tmp.resolve("wal");
    List<LoggedEvent> acked = writeEvents(dir, TINY, 40, 500);
    List<String> segments = segmentNames(dir);
    assertThat(segments).as("segments written").hasSizeGreaterThanOrEqualTo(4);
    // A record in the middle of the second segment.
    String victimSegment = segments.get(1);
    long base = baseOf(victimSegment);
    List<Long> offsets = frameOffsets(Files.readAllBytes(dir.resolve(victimSegment)));
    int k = offsets.size() / 2;
    int victim = (int) base + k;
    long start = offsets.get(k);
    long end = offsets.get(k + 1);
    long segmentSize = Files.size(dir.resolve(victimSegment));
    List<String> later = segments.subList(2, segments.size());

    // Every byte of the header, and payload bytes from the first to the last.
    List<Long> flips = new ArrayList<>();
    for (long at = start; at < end; at += at < start + RecordBuffer.HEADER_BYTES ? 1 : 13) {
      flips.add(at);
    }
    flips.add(end - 1);
    for (long at : flips) {
      Path copy = tmp.resolve("flip-" + at);
      copyDirectory(dir, copy);
      flipByte(copy.resolve(victimSegment), at);

      Opened[] opened = new Opened[1];
      assertThatCode(() -> opened[0] = open(copy, TINY, 0))
          .as("opening with byte %d flipped", at)
          .doesNotThrowAnyException();
      FileEventLog log = opened[0].log();
      RecoveryReport report = log.recoveryReport();

      assertThat(opened[0].replayed())
          .as("byte %d flipped", at)
          .containsExactlyElementsOf(acked.subList(0, victim));
      assertThat(log.nextSequence()).isEqualTo(victim);
      assertThat(Files.size(copy.resolve(victimSegment)))
          .withFailMessage(
              "byte %d flipped: got segment size %d, want %d",
              at, Files.size(copy.resolve(victimSegment)), start)
          .isEqualTo(start);
      assertThat(report.truncatedBytes()).isEqualTo(segmentSize - start);
      assertThat(report.quarantinedSegments())
          .withFailMessage(
              "byte %d flipped: got %d quarantined, want %d",
              at, report.quarantinedSegments(), later.size())
          .isEqualTo(later.size());
      assertThat(segmentNames(copy)).isEqualTo(segments.subList(0, 2));
      for (String name : later) {
        assertThat(copy.resolve(name + ".corrupt")).as("set aside").exists();
        assertThat(Files.mismatch(copy.resolve(name + ".corrupt"), dir.resolve(name)))
            .as("%s.corrupt is the untouched segment", name)
            .isEqualTo(-1);
      }
      assertThat(log.stats().segments()).isEqualTo(2);
      assertThat(log.stats().truncatedRecoveries()).isEqualTo(1);
      if (at != start && at != start + RecordBuffer.HEADER_BYTES && at != end - 1) {
        log.close();
        deleteRecursively(copy);
        continue; // carrying on after the cut is checked for a few flips: the others are alike
      }

      Event next = TestEvents.event("after_corruption").build();
      assertThat(append(log, next, ARRIVAL)).isEqualTo(victim);
      log.close();
      Opened again = open(copy, TINY, 0);
      List<LoggedEvent> want = new ArrayList<>(acked.subList(0, victim));
      want.add(new LoggedEvent(victim, ARRIVAL, next));
      assertThat(again.replayed()).as("byte %d flipped, reopened", at).isEqualTo(want);
      assertThat(again.log().recoveryReport().truncated()).isFalse();
      again.log().close();
      deleteRecursively(copy);
    }
  }

  @Test
  void aCorruptFirstRecordLeavesAnEmptyLogThatStartsAgainAtItsBase(@TempDir Path tmp)
      throws IOException {
    Path dir = tmp.resolve("wal");
    writeEvents(dir, TINY, 20, 500);
    List<String> segments = segmentNames(dir);
    flipByte(dir.resolve(segments.get(0)), RecordBuffer.HEADER_BYTES + 3);

    Opened opened = open(dir, TINY, 0);

    assertThat(opened.replayed()).isEmpty();
    assertThat(opened.log().nextSequence()).isZero();
    assertThat(opened.log().recoveryReport().quarantinedSegments()).isEqualTo(segments.size() - 1);
    assertThat(Files.size(dir.resolve(segments.get(0)))).isZero();
    assertThat(append(opened.log(), TestEvents.event("fresh").build(), ARRIVAL)).isZero();
    opened.log().close();
  }

  @Test
  void aRecordWithAValidChecksumThatIsNotAnEventIsCutLikeACorruptOne(@TempDir Path tmp)
      throws IOException {
    Path dir = tmp.resolve("wal");
    List<LoggedEvent> acked = writeEvents(dir, DEFAULTS, 3, 0);
    Path segment = dir.resolve(FileEventLog.segmentName(0));
    long size = Files.size(segment);
    RecordBuffer bogus = new RecordBuffer(64);
    bogus.beginRecord();
    bogus.putByte(99); // an unknown version, framed with a correct CRC
    bogus.putLong(0);
    bogus.endRecord();
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.APPEND)) {
      ch.write(ByteBuffer.wrap(bogus.array(), 0, bogus.length()));
    }
    appendRaw(segment, acked.size(), 2); // valid records after it are cut as well

    Opened opened = open(dir, DEFAULTS, 0);

    assertThat(opened.replayed()).containsExactlyElementsOf(acked);
    assertThat(Files.size(segment)).isEqualTo(size);
    assertThat(opened.log().recoveryReport().truncated()).isTrue();
    opened.log().close();
  }

  @Test
  void aMissingMiddleSegmentSetsTheLaterOnesAside(@TempDir Path tmp) throws IOException {
    Path dir = tmp.resolve("wal");
    List<LoggedEvent> acked = writeEvents(dir, TINY, 40, 500);
    List<String> segments = segmentNames(dir);
    assertThat(segments).hasSizeGreaterThanOrEqualTo(4);
    Files.delete(dir.resolve(segments.get(1)));
    int kept = (int) baseOf(segments.get(1));

    Opened opened = open(dir, TINY, 0);

    assertThat(opened.replayed()).containsExactlyElementsOf(acked.subList(0, kept));
    assertThat(opened.log().nextSequence()).isEqualTo(kept);
    assertThat(opened.log().recoveryReport().quarantinedSegments()).isEqualTo(segments.size() - 2);
    assertThat(segmentNames(dir)).containsExactly(segments.get(0));
    opened.log().close();
  }

  // ---------------------------------------------------------------------------------------------
  // Appending, barriers, closing

  @Test
  void aBarrierCompletesOnlyAfterEverythingAppendedBeforeIt(@TempDir Path tmp) throws IOException {
    try (FileEventLog log = FileEventLog.open(tmp, DEFAULTS, 0, e -> {})) {
      assertThat(log.append(new byte[0], 0, 0).join()).as("a barrier on an empty log").isZero();
      List<CompletableFuture<Long>> earlier = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        RecordBuffer records = new RecordBuffer(64);
        for (int j = 0; j <= i % 3; j++) {
          EventCodec.encode(TestEvents.event("e").prop("i", i).build(), ARRIVAL, records);
        }
        earlier.add(log.append(records.array(), records.length(), records.records()));
      }

      long barrier = log.append(new byte[0], 0, 0).join();

      long want = 0;
      for (int i = 0; i < earlier.size(); i++) {
        CompletableFuture<Long> f = earlier.get(i);
        assertThat(f.isDone())
            .withFailMessage("append #%d was not done when the barrier after it completed", i)
            .isTrue();
        assertThat(f.join())
            .withFailMessage("append #%d: got sequence %d, want %d", i, f.join(), want)
            .isEqualTo(want);
        want += i % 3 + 1;
      }
      assertThat(barrier)
          .withFailMessage("got barrier %d, want %d (the next sequence)", barrier, want)
          .isEqualTo(want);
      assertThat(log.nextSequence()).isEqualTo(want);
    }
  }

  @Test
  void nextSequenceAfterReopeningEqualsTheRecordsWritten(@TempDir Path tmp) throws IOException {
    List<LoggedEvent> acked = writeEvents(tmp, DEFAULTS, 17, 0);
    try (FileEventLog log = FileEventLog.open(tmp, DEFAULTS, 0, e -> {})) {
      assertThat(log.nextSequence()).isEqualTo(acked.size());
      assertThat(log.stats().nextSequence()).isEqualTo(acked.size());
      assertThat(log.stats().records()).as("records appended since this start").isZero();
    }
  }

  @Test
  void anAppendAfterCloseFailsWithAnIOException(@TempDir Path tmp) throws IOException {
    FileEventLog log = FileEventLog.open(tmp, DEFAULTS, 0, e -> {});
    log.close();
    log.close(); // closing twice is harmless

    RecordBuffer records = new RecordBuffer(64);
    EventCodec.encode(TestEvents.event("late").build(), ARRIVAL, records);
    CompletableFuture<Long> late = log.append(records.array(), records.length(), 1);
    CompletableFuture<Long> barrier = log.append(new byte[0], 0, 0);

    for (CompletableFuture<Long> f : List.of(late, barrier)) {
      assertThat(f).isCompletedExceptionally();
      assertThatThrownBy(f::join)
          .isInstanceOf(CompletionException.class)
          .hasCauseInstanceOf(IOException.class);
    }
    try (FileEventLog reopened = FileEventLog.open(tmp, DEFAULTS, 0, e -> {})) {
      assertThat(reopened.nextSequence()).as("nothing was written after close").isZero();
    }
  }

  @Test
  void closeMakesEverythingAppendedBeforeItDurable(@TempDir Path tmp) throws IOException {
    FileEventLog log = FileEventLog.open(tmp, TINY, 0, e -> {});
    List<LoggedEvent> appended = new ArrayList<>();
    List<CompletableFuture<Long>> futures = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      Event e = TestEvents.event("e").id("id-" + i).prop("pad", "p".repeat(300)).build();
      RecordBuffer records = new RecordBuffer(512);
      EventCodec.encode(e, ARRIVAL + i, records);
      futures.add(log.append(records.array(), records.length(), 1)); // not awaited
      appended.add(new LoggedEvent(i, ARRIVAL + i, e));
    }

    log.close();

    for (int i = 0; i < futures.size(); i++) {
      assertThat(futures.get(i))
          .withFailMessage("append #%d: got %s after close(), want completed", i, futures.get(i))
          .isCompletedWithValue((long) i);
    }
    Opened opened = open(tmp, TINY, 0);
    assertThat(opened.replayed()).containsExactlyElementsOf(appended);
    opened.log().close();
  }

  @Test
  void diskBytesMatchesTheSegmentFilesWhenManyAppendsShareAnFsync(@TempDir Path tmp)
      throws IOException {
    try (FileEventLog log = FileEventLog.open(tmp, TINY, 0, e -> {})) {
      List<CompletableFuture<Long>> futures = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        RecordBuffer records = new RecordBuffer(512);
        EventCodec.encode(
            TestEvents.event("e").prop("pad", "p".repeat(200 + i)).build(), ARRIVAL, records);
        futures.add(log.append(records.array(), records.length(), 1)); // group-committed
      }
      CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();

      LogStats stats = log.stats();
      long onDisk = segmentBytesOnDisk(tmp);
      assertThat(stats.diskBytes())
          .withFailMessage(
              "got diskBytes %d, want %d (the segment files' sizes)", stats.diskBytes(), onDisk)
          .isEqualTo(onDisk);
      assertThat(stats.bytes()).isEqualTo(onDisk);
      assertThat(stats.segments()).isEqualTo(segmentNames(tmp).size()).isGreaterThan(1);
      assertThat(stats.syncs()).isBetween(1L, 200L);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Replaying from a sequence

  @Test
  void replayFromASequenceHandsOnlyRecordsAtOrAfterIt(@TempDir Path tmp) throws IOException {
    List<LoggedEvent> acked = writeEvents(tmp, TINY, 30, 400);
    for (long from : new long[] {0, 1, 13, 29, 30, 1000}) {
      Opened opened = open(tmp, TINY, from);
      List<LoggedEvent> want = acked.subList((int) Math.min(from, acked.size()), acked.size());
      assertThat(opened.replayed()).as("replay from %d", from).containsExactlyElementsOf(want);
      RecoveryReport report = opened.log().recoveryReport();
      assertThat(report.replayed()).isEqualTo(want.size());
      assertThat(report.records()).as("records read from %d", from).isEqualTo(acked.size());
      assertThat(opened.log().nextSequence())
          .withFailMessage(
              "from %d: got nextSequence %d, want %d",
              from, opened.log().nextSequence(), acked.size())
          .isEqualTo(acked.size());
      opened.log().close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Writes {@code n} events, each its own append, with {@code padding} extra bytes each. */
  private static List<LoggedEvent> writeEvents(
      Path dir, FileEventLog.Options options, int n, int padding) throws IOException {
    List<LoggedEvent> acked = new ArrayList<>();
    try (FileEventLog log = FileEventLog.open(dir, options, 0, e -> {})) {
      for (int i = 0; i < n; i++) {
        Event e =
            TestEvents.event("page_view")
                .id("id-" + i)
                .user("user-" + (i % 3))
                .prop("n", i)
                .prop("pad", "x".repeat(padding))
                .build();
        long seq = append(log, e, ARRIVAL + i);
        assertThat(seq).isEqualTo(i);
        acked.add(new LoggedEvent(seq, ARRIVAL + i, e));
      }
    }
    return acked;
  }

  private static long append(FileEventLog log, Event event, long arrival) {
    RecordBuffer records = new RecordBuffer(128);
    EventCodec.encode(event, arrival, records);
    return log.append(records.array(), records.length(), records.records()).join();
  }

  /** Appends {@code count} valid records straight to a segment file, behind the log's back. */
  private static void appendRaw(Path segment, long firstSequence, int count) throws IOException {
    RecordBuffer records = new RecordBuffer(128);
    for (int i = 0; i < count; i++) {
      EventCodec.encode(
          TestEvents.event("raw").id("raw-" + (firstSequence + i)).build(), 0, records);
    }
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.APPEND)) {
      ch.write(ByteBuffer.wrap(records.array(), 0, records.length()));
    }
  }

  private static Opened open(Path dir, FileEventLog.Options options, long from) throws IOException {
    List<LoggedEvent> replayed = new ArrayList<>();
    FileEventLog log = FileEventLog.open(dir, options, from, replayed::add);
    return new Opened(log, replayed);
  }

  /** The start of every frame in a segment's bytes, plus its end. */
  private static List<Long> frameOffsets(byte[] segment) {
    ByteBuffer in = ByteBuffer.wrap(segment);
    List<Long> offsets = new ArrayList<>();
    while (in.hasRemaining()) {
      offsets.add((long) in.position());
      int length = in.getInt(in.position());
      in.position(in.position() + RecordBuffer.HEADER_BYTES + length);
    }
    offsets.add((long) in.position());
    return offsets;
  }

  private static long baseOf(String segmentName) {
    return Long.parseLong(segmentName.substring(0, segmentName.indexOf('.')));
  }

  private static List<String> segmentNames(Path dir) throws IOException {
    return FileEventLog.segments(dir).stream().map(p -> p.getFileName().toString()).toList();
  }

  private static long segmentBytesOnDisk(Path dir) throws IOException {
    long total = 0;
    for (Path p : FileEventLog.segments(dir)) {
      total += Files.size(p);
    }
    return total;
  }

  private static void truncate(Path file, long size) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(size);
    }
  }

  private static void flipByte(Path file, long at) throws IOException {
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, at);
      b.put(0, (byte) (b.get(0) ^ 0xFF));
      b.rewind();
      ch.write(b, at);
    }
  }

  private static void copyDirectory(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
  }

  interface DirAction {
    void run(Path dir) throws IOException;
  }

  /** jqwik properties get no {@code @TempDir}: a fresh directory per try, deleted afterwards. */
  private static void withTempDir(DirAction action) throws IOException {
    Path dir = Files.createTempDirectory("wal-property");
    try {
      action.run(dir);
    } finally {
      deleteRecursively(dir);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      files
          .sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.delete(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
