package dev.aggregator.ingestion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventIds;
import dev.aggregator.processing.AggregationRunner;
import dev.aggregator.processing.Lifecycle;
import dev.aggregator.storage.DeadLetterLog;
import dev.aggregator.storage.EventLog;
import dev.aggregator.storage.FileEventLog;
import dev.aggregator.storage.LogFullException;
import dev.aggregator.storage.LogStats;
import dev.aggregator.testing.TestEvents;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestPipelineTest {
  private static final long NOW = 1_764_504_000_000L;

  @TempDir Path dir;
  private FileEventLog fileLog;
  private GatedLog log;
  private DeadLetterLog deadLetters;
  private AggregationRunner runner;
  private final Lifecycle lifecycle = new Lifecycle();
  private final Deduplicator dedup = new Deduplicator(Duration.ofHours(24), 1_000_000);
  private final RollupEngine rollups =
      new RollupEngine(Tier.DEFAULTS, 1_000_000, Duration.ofMinutes(1));

  @BeforeEach
  void open() throws IOException {
    fileLog = FileEventLog.open(dir.resolve("wal"), FileEventLog.Options.defaults(), 0, e -> {});
    log = new GatedLog(fileLog);
    deadLetters = new DeadLetterLog(dir.resolve("dlq"), 100);
    runner = new AggregationRunner(rollups, lifecycle, deadLetters, () -> NOW);
    runner.start();
  }

  @AfterEach
  void close() {
    fileLog.close();
    runner.close();
    deadLetters.close();
  }

  private IngestPipeline pipeline(long maxInFlight) {
    return new IngestPipeline(log, dedup, runner, lifecycle, maxInFlight, () -> NOW);
  }

  private static List<Event> events(String... ids) {
    List<Event> list = new ArrayList<>();
    for (String id : ids) {
      list.add(TestEvents.event("x").id(id).at(NOW).build());
    }
    return list;
  }

  @Test
  void acknowledgesWithContiguousSequencesOnceTheLogHasSynced() {
    IngestPipeline p = pipeline(1000);
    var first = p.submit(events("a", "b")).join();
    var second = p.submit(events(null, null, null)).join();

    assertThat(first.sequences()).containsExactly(0, 1);
    assertThat(second.sequences()).containsExactly(2, 3, 4);
    assertThat(first.idOf(1, TestEvents.event("x").id("b").build())).isEqualTo("b");
    UUID assigned = UUID.fromString(second.idOf(0, TestEvents.event("x").build()));
    assertThat(assigned.version()).as("an event without a client id gets a UUIDv7").isEqualTo(7);
    assertThat(EventIds.millisOf(assigned)).as("of its arrival").isEqualTo(NOW);
    assertThat(second.assigned()).doesNotHaveDuplicates();
    assertThat(fileLog.stats().syncs()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void answersARepeatedIdAsDuplicateAndLogsItOnce() {
    IngestPipeline p = pipeline(1000);
    var first = p.submit(events("a", "b", "a")).join();
    var second = p.submit(events("b", "c")).join();

    assertThat(first.accepted()).isEqualTo(2);
    assertThat(first.duplicate()).containsExactly(false, false, true);
    assertThat(second.duplicate()).containsExactly(true, false);
    assertThat(fileLog.nextSequence()).isEqualTo(3);
    assertThat(lifecycle.snapshot()).containsEntry("duplicate", 2L);
  }

  @Test
  void refusesABatchThatWouldExceedTheInFlightBound() {
    IngestPipeline p = pipeline(3);
    log.hold();
    CompletableFuture<IngestPipeline.IngestResult> held = p.submit(events("a", "b"));

    assertThat(p.submit(events("c", "d"))).as("2 in flight + 2 > 3").isNull();
    assertThat(p.inFlight()).isEqualTo(2);

    log.release();
    held.join();
    awaitAggregated(2);
    assertThat(p.inFlight()).as("permits return once aggregated").isZero();
    assertThat(p.submit(events("c", "d"))).isNotNull();
  }

  @Test
  void forgetsIdsOfEventsTheLogCouldNotMakeDurable() {
    IngestPipeline p = pipeline(1000);
    log.failNext(new IOException("disk on fire"));
    CompletableFuture<IngestPipeline.IngestResult> failed = p.submit(events("a"));

    assertThatThrownBy(failed::join)
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(IngestPipeline.LogUnavailableException.class)
        .hasMessageContaining("disk on fire");
    assertThat(p.inFlight()).isZero();
    assertThat(lifecycle.snapshot()).containsEntry("failed", 1L).containsEntry("queued", 0L);
    assertThat(p.submit(events("a")).join().accepted())
        .as("the client's retry is accepted, not a duplicate")
        .isEqualTo(1);
  }

  @Test
  void aLogOverItsBudgetIsBackpressureTheClientRetriesNotAFailure() {
    IngestPipeline p = pipeline(1000);
    log.failNext(new LogFullException("64 MiB in flight"));
    CompletableFuture<IngestPipeline.IngestResult> refused = p.submit(events("a", "b"));

    assertThatThrownBy(refused::join)
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(LogFullException.class);
    assertThat(p.inFlight()).isZero();
    assertThat(lifecycle.snapshot()).containsEntry("failed", 0L).containsEntry("queued", 0L);
    assertThat(p.submit(events("a", "b")).join().accepted()).as("the retry").isEqualTo(2);
  }

  @Test
  void aggregatesAcknowledgedEvents() {
    IngestPipeline p = pipeline(1000);
    p.submit(events("a", "b", "c")).join();
    awaitAggregated(3);
    assertThat(lifecycle.snapshot()).containsEntry("aggregated", 3L).containsEntry("queued", 0L);
  }

  private void awaitAggregated(long n) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (lifecycle.aggregatedTotal() < n && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(lifecycle.aggregatedTotal()).isEqualTo(n);
  }

  /**
   * The real log, with a gate the test controls: hold acknowledgements, or fail the next append.
   */
  private static final class GatedLog implements EventLog {
    private final EventLog real;
    private CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
    private Exception failNext;

    GatedLog(EventLog real) {
      this.real = real;
    }

    synchronized void hold() {
      gate = new CompletableFuture<>();
    }

    synchronized void release() {
      gate.complete(null);
    }

    synchronized void failNext(Exception e) {
      failNext = e;
    }

    @Override
    public synchronized CompletableFuture<Long> append(byte[] records, int length, int count) {
      if (failNext != null) {
        Exception e = failNext;
        failNext = null;
        return CompletableFuture.failedFuture(e);
      }
      CompletableFuture<Long> appended = real.append(records, length, count);
      return gate.thenCompose(v -> appended);
    }

    @Override
    public long nextSequence() {
      return real.nextSequence();
    }

    @Override
    public LogStats stats() {
      return real.stats();
    }

    @Override
    public void close() {
      real.close();
    }
  }
}
