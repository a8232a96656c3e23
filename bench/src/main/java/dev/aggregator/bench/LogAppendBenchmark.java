package dev.aggregator.bench;

import dev.aggregator.event.Event;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.FileEventLog;
import dev.aggregator.storage.RecordBuffer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The write-ahead log: {@link EventCodec#encode} of 1,000 accepted events of the standard workload
 * into a {@link RecordBuffer} (binary form plus a CRC32C per record), then {@link
 * FileEventLog#append} and waiting for the fsync that covers it — what an ingest request pays
 * between dedup and its ack. {@link #encode} is the CPU part alone. Scores are events/s.
 *
 * <p>One thread measures one client waiting for each fsync in turn; with {@code -t 8} eight batches
 * wait together and group commit covers them with shared fsyncs, as under concurrent requests. The
 * log lives in a fresh temp directory per iteration, deleted after it, so disk use stays at one
 * iteration's worth (~136 bytes an event: ~0.7 GB for 5 s at 1 M events/s). Put {@code dir} on the
 * disk the server would use: fsync on tmpfs costs nothing and proves nothing.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar LogAppendBenchmark
 * java -jar bench/target/benchmarks.jar LogAppendBenchmark.appendDurable -t 8 -p dir=/var/tmp
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class LogAppendBenchmark {
  static final int EVENTS = 1_000;

  /** The log, shared by all benchmark threads as the server shares it among requests. */
  @State(Scope.Benchmark)
  public static class Log {
    /** Parent of the temp directory; empty means {@code java.io.tmpdir}. */
    @Param({""})
    public String dir;

    Path logDir;
    FileEventLog log;

    @Setup(Level.Iteration)
    public void open() throws IOException {
      Path parent = Path.of(dir.isEmpty() ? System.getProperty("java.io.tmpdir") : dir);
      logDir = Files.createTempDirectory(parent, "bench-wal-");
      log = FileEventLog.open(logDir, FileEventLog.Options.defaults(), 0, replayed -> {});
    }

    @TearDown(Level.Iteration)
    public void close() throws IOException {
      log.close();
      BenchData.deleteRecursively(logDir);
    }
  }

  /** One request's batch and the buffer it is encoded into, per thread. */
  @State(Scope.Thread)
  public static class Batch {
    List<Event> events;
    RecordBuffer records;
    long arrival;

    @Setup
    public void generate() {
      arrival = System.currentTimeMillis();
      events = BenchData.accepted(EVENTS, ThreadLocalRandom.current().nextLong(), arrival);
      records = new RecordBuffer(EVENTS * 200);
    }

    void encode() {
      records.clear();
      for (int i = 0; i < events.size(); i++) {
        EventCodec.encode(events.get(i), arrival, records);
      }
    }
  }

  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public long appendDurable(Log log, Batch batch) {
    batch.encode();
    // join(): the buffer must not change before the fsync covering it; the next call reuses it
    return log.log
        .append(batch.records.array(), batch.records.length(), batch.records.records())
        .join();
  }

  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public int encode(Batch batch) {
    batch.encode();
    return batch.records.length();
  }
}
