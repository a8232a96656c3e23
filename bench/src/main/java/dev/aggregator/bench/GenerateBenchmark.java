package dev.aggregator.bench;

import dev.aggregator.testing.StandardWorkload;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The load generator's own cost: {@link StandardWorkload#ndjsonBatch} of 1,000 events, as {@link
 * LoadGenerator}'s generator threads produce request bodies. It runs on the same 2 cores as the
 * server, so each event it generates is CPU the server does not get: this should stay a small
 * fraction of the 2 µs/event budget (aim: under 300 ns). The score is events/s.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar GenerateBenchmark
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class GenerateBenchmark {
  static final int EVENTS = 1_000;

  private StandardWorkload workload;

  @Setup
  public void setUp() {
    workload = new StandardWorkload(42, System::currentTimeMillis);
  }

  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public byte[] ndjsonBatch() {
    return workload.ndjsonBatch(EVENTS);
  }
}
