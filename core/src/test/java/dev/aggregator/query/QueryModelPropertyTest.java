package dev.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Event;
import dev.aggregator.event.Timestamps;
import dev.aggregator.testing.TestEvents;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The rollups and the query engine agree with a plain model (filter the events, group by bucket,
 * compute the function) for any events within the finest tier's retention and any query.
 */
class QueryModelPropertyTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private static final long WINDOW = Duration.ofHours(5).toMillis();

  record Sample(String type, long timestamp, Integer value) {}

  @Provide
  Arbitrary<List<Sample>> samples() {
    return Combinators.combine(
            Arbitraries.of("a", "b"),
            Arbitraries.longs().between(NOW - WINDOW, NOW),
            Arbitraries.integers().between(-50, 50).injectNull(0.2))
        .as(Sample::new)
        .list()
        .ofMaxSize(300);
  }

  @Property(tries = 200)
  void everyFunctionAtEveryGranularityMatchesTheModel(
      @ForAll("samples") List<Sample> samples,
      @ForAll Granularity granularity,
      @ForAll("exactFunctions") AggregateFunction function,
      @ForAll("offsets") long startOffset,
      @ForAll("offsets") long length)
      throws InvalidQueryException {
    RollupEngine rollups = new RollupEngine(Tier.DEFAULTS, 10_000_000, Duration.ofMinutes(1));
    List<Event> events = new ArrayList<>();
    for (Sample s : samples) {
      var b = TestEvents.event(s.type()).at(s.timestamp());
      if (s.value() != null) {
        b.prop("v", s.value());
      }
      events.add(b.build());
    }
    rollups.apply(events, NOW, (i, e, o) -> {});
    long start = NOW - WINDOW + startOffset;
    long end = Math.min(NOW + 1, start + length);
    Query q = new Query("a_v", start, end, granularity, function, Fill.NONE);
    if (q.bucketCount() > 20_000) {
      return; // the parser refuses such ranges; the engine need not answer them
    }

    List<QueryResult.Point> actual = new QueryEngine(rollups, () -> NOW).run(q).data();

    Map<Long, List<Integer>> model = new TreeMap<>();
    for (Sample s : samples) {
      long bucket = granularity.bucketStart(s.timestamp());
      if (s.type().equals("a") && s.value() != null && bucket >= q.firstBucket() && bucket < end) {
        model.computeIfAbsent(bucket, k -> new ArrayList<>()).add(s.value());
      }
    }
    List<QueryResult.Point> expected = new ArrayList<>();
    model.forEach(
        (bucket, values) -> expected.add(new QueryResult.Point(bucket, apply(function, values))));
    assertThat(actual)
        .as(
            "%s %s over [%s, %s)",
            function, granularity, Timestamps.format(start), Timestamps.format(end))
        .isEqualTo(expected);
  }

  @Provide
  Arbitrary<AggregateFunction> exactFunctions() {
    return Arbitraries.of(
        AggregateFunction.COUNT,
        AggregateFunction.SUM,
        AggregateFunction.AVG,
        AggregateFunction.MIN,
        AggregateFunction.MAX);
  }

  @Provide
  Arbitrary<Long> offsets() {
    return Arbitraries.longs().between(0, WINDOW);
  }

  private static Double apply(AggregateFunction f, List<Integer> values) {
    return switch (f) {
      case COUNT -> (double) values.size();
      case SUM -> values.stream().mapToDouble(Integer::doubleValue).sum();
      case AVG -> values.stream().mapToDouble(Integer::doubleValue).sum() / values.size();
      case MIN -> values.stream().mapToDouble(Integer::doubleValue).min().orElseThrow();
      case MAX -> values.stream().mapToDouble(Integer::doubleValue).max().orElseThrow();
      default -> throw new IllegalArgumentException("not an exact function: " + f);
    };
  }
}
