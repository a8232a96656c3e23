package dev.aggregator.bench;

import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Event;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Aggregation: {@link RollupEngine#apply} of 1,000 accepted events of the standard workload to the
 * default tiers (1 s totals, 1 m, with 1 h and 1 d rolled up at checkpoints): per event its type's
 * total and one marginal series per dimension value, with user sketches. The score is events/s.
 * {@code shards} runs the row updates of {@code RollupAccumulator} on that many threads (the
 * benchmark's and helpers); {@code latePercent} sets the workload's share of late events.
 *
 * <p>Timestamps are near a "now" frozen at setup (with the workload's 1 % late and 0.1 % historical
 * events), and the same batch is applied again and again, so after the first call every bucket
 * exists: this is the steady-state update cost, without the insertion of each second's new buckets.
 * docs/DESIGN.md §9 reference on this machine: a hash-map rollup update runs at 4–8 M events/s.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar RollupBenchmark
 * java -jar bench/target/benchmarks.jar RollupBenchmark -prof gc
 * java -jar bench/target/benchmarks.jar RollupBenchmark -p shards=1 -p latePercent=1
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class RollupBenchmark {
  static final int EVENTS = 1_000;

  @Param({"1", "2"})
  public int shards;

  @Param({"1", "50"})
  public int latePercent;

  private RollupEngine engine;
  private ExecutorService helpers;
  private List<Event> events;
  private long now;

  @Setup
  public void setUp() {
    now = System.currentTimeMillis();
    events = BenchData.accepted(EVENTS, 42, now, latePercent * 1_000);
    helpers = shards == 1 ? null : Executors.newFixedThreadPool(shards - 1);
    engine =
        new RollupEngine(
            Tier.DEFAULTS,
            CatalogLimits.defaults(),
            10_000_000,
            RollupEngine.defaultMemoryBytes(),
            Duration.ofMinutes(1),
            null,
            shards,
            helpers);
  }

  @TearDown
  public void tearDown() {
    if (helpers != null) {
      helpers.shutdownNow();
    }
  }

  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public void apply(Blackhole outcomes) {
    engine.apply(events, now, (i, e, outcome) -> outcomes.consume(outcome));
  }
}
