package dev.aggregator.bench;

import dev.aggregator.ingestion.BodyFormat;
import dev.aggregator.ingestion.DecodedBatch;
import dev.aggregator.ingestion.EventDecoder;
import dev.aggregator.ingestion.IngestLimits;
import dev.aggregator.testing.StandardWorkload.Generated;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding: {@link EventDecoder#decodeBatch} turning a 1,000-event body of the standard workload
 * into validated, cleaned {@link dev.aggregator.event.Event}s — parsing, every contract check,
 * flattening and the RFC 3339 timestamp. The score is events/s.
 *
 * <p>The body holds valid events only (retries included: they are valid until dedup), so every
 * record takes the whole path to an {@code Event}; at ~216 bytes an event, 1 M events/s is ~216
 * MB/s. docs/DESIGN.md §9's reference on this machine: Jackson streaming alone parses ~0.95 M such
 * events/s, and the budget for everything is 2 µs of CPU per event. {@code format} compares NDJSON
 * (one parser per line, as the batch endpoint reads {@code application/x-ndjson}) with one JSON
 * array.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar DecodeBenchmark
 * java -jar bench/target/benchmarks.jar DecodeBenchmark -p format=NDJSON -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class DecodeBenchmark {
  static final int EVENTS = 1_000;

  @Param({"NDJSON", "JSON"})
  public BodyFormat format;

  private EventDecoder decoder;
  private byte[] body;

  @Setup
  public void setUp() throws Exception {
    long now = System.currentTimeMillis();
    List<Generated> events = BenchData.generate(EVENTS, 42, now, BenchData.DECODABLE);
    StringBuilder text = new StringBuilder(EVENTS * 224);
    if (format == BodyFormat.JSON) {
      text.append('[');
    }
    for (int i = 0; i < events.size(); i++) {
      if (i > 0) {
        text.append(format == BodyFormat.JSON ? ",\n" : "\n");
      }
      text.append(events.get(i).json());
    }
    text.append(format == BodyFormat.JSON ? "]" : "\n");
    body = text.toString().getBytes(StandardCharsets.UTF_8);
    // A clock frozen at generation time: no event drifts into "future" while the benchmark runs.
    decoder = new EventDecoder(IngestLimits.defaults(), () -> now);
    DecodedBatch check = decodeBatch();
    if (check.events().size() != EVENTS || !check.rejections().isEmpty()) {
      throw new IllegalStateException(
          "want " + EVENTS + " valid events, got " + check.events().size() + ": " + check.errors());
    }
  }

  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public DecodedBatch decodeBatch() throws Exception {
    return decoder.decodeBatch(body, format, "http");
  }
}
