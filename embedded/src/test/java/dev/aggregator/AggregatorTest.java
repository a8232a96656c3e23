package dev.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.ingestion.BodyFormat;
import dev.aggregator.ingestion.DecodedBatch;
import dev.aggregator.query.QueryResult;
import dev.aggregator.testing.TestEvents;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The assembled engine over a real data directory, across restarts. */
class AggregatorTest {
  @TempDir Path dir;

  private static final Map<String, List<String>> SEED_QUERY =
      Map.of(
          "metric", List.of("page_view_count"),
          "start", List.of("2024-01-15T00:00:00Z"),
          "end", List.of("2024-01-16T00:00:00Z"),
          "granularity", List.of("1h"));

  private static QueryResult query(Aggregator agg, Map<String, List<String>> params)
      throws Exception {
    return agg.queries().run(agg.queryParser().parse(n -> params.getOrDefault(n, List.of())));
  }

  private static void ingest(Aggregator agg, String ndjson) throws Exception {
    DecodedBatch batch =
        agg.decoder()
            .decodeBatch(ndjson.getBytes(StandardCharsets.UTF_8), BodyFormat.NDJSON, "http");
    agg.pipeline().submit(batch.events()).join();
    long target = agg.log().nextSequence() - 1;
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (agg.runner().appliedUpTo() < target && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
  }

  @Test
  void rebuildsRollupsAndDedupMemoryFromTheLogOnRestart() throws Exception {
    String sample =
        TestEvents.SEED_SAMPLE.replace("{\"eventType\"", "{\"id\":\"e1\",\"eventType\"");
    try (Aggregator agg = Aggregator.open(EngineConfig.defaults(dir))) {
      ingest(agg, sample + "\n" + TestEvents.SEED_SAMPLE + "\n");
      assertThat(query(agg, SEED_QUERY).data())
          .extracting(QueryResult.Point::value)
          .containsExactly(2.0);
    }

    try (Aggregator agg = Aggregator.open(EngineConfig.defaults(dir))) {
      assertThat(agg.recovery().replayed())
          .as("closing wrote a last checkpoint: nothing to replay")
          .isZero();
      assertThat(query(agg, SEED_QUERY).data())
          .extracting(QueryResult.Point::value)
          .as("the same answer after a restart")
          .containsExactly(2.0);
      ingest(agg, sample + "\n");
      assertThat(query(agg, SEED_QUERY).data())
          .extracting(QueryResult.Point::value)
          .as("a retried id is still a duplicate after the restart")
          .containsExactly(2.0);
      assertThat(agg.lifecycle().snapshot()).containsEntry("duplicate", 1L);
    }
  }

  @Test
  void deadLettersAnEventOlderThanEveryTierOnceAcrossRestarts() throws Exception {
    EngineConfig finite =
        EngineConfig.defaults(dir)
            .withTiers(dev.aggregator.aggregation.Tier.parseList("1m:1d,1h:30d"));
    try (Aggregator agg = Aggregator.open(finite)) {
      ingest(agg, TestEvents.SEED_SAMPLE + "\n");
      assertThat(agg.lifecycle().snapshot())
          .containsEntry("expired", 1L)
          .containsEntry("aggregated", 0L);
      List<dev.aggregator.storage.DeadLetter> dead = agg.deadLetters().newest(10, "expired");
      assertThat(dead).hasSize(1);
      assertThat(dead.get(0).sequence()).isZero();
      assertThat(dead.get(0).event()).contains("\"timestamp\":\"2024-01-15T10:30:00Z\"");
      assertThat(dead.get(0).problems().get(0).message())
          .contains("older than the retention of every rollup tier");
    }
    try (Aggregator agg = Aggregator.open(finite)) {
      assertThat(agg.deadLetters().newest(10, null))
          .as("replaying the log does not dead-letter the event a second time")
          .hasSize(1);
    }
  }
}
