package dev.aggregator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.aggregation.CatalogLimits;
import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.StoredRollups;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventIds;
import dev.aggregator.event.Timestamps;
import dev.aggregator.ingestion.Deduplicator;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.RecordBuffer;
import dev.aggregator.storage.StaleWriteException;
import dev.aggregator.testing.StandardWorkload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode end to end on real components: events appended to a Kafka topic, aggregated by a
 * runner into PostgreSQL, answered by a reader with no engine — as an in-memory engine answers the
 * same events — also when the runner dies between checkpoints and another takes over.
 */
class EventSourceRunnerTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-12-03T12:00:00Z");
  private static final long[] PARTITIONS = {3_600, 1_440, 720, 366};
  private static final CatalogLimits LIMITS =
      CatalogLimits.defaults().withCombinations(List.of(List.of("country", "device")));

  @Test
  void answersAsTheEmbeddedEngineAndResumesExactlyOnceAfterARunnerDies() throws Exception {
    LocalKafka kafka = LocalKafka.shared();
    LocalPostgres pg = LocalPostgres.shared();
    String topic = "runner-events";
    kafka.createTopic(topic, 3);
    String schema = pg.newSchema();

    // 24,000 standard events (20 % late, 1 % retried ids in the first half), a sixth without id.
    StandardWorkload workload = new StandardWorkload(9, () -> NOW, 20_000);
    List<List<Event>> halves = List.of(new ArrayList<>(), new ArrayList<>());
    RollupEngine oracle = engine(null);
    Set<String> seen = new HashSet<>();
    for (int half = 0; half < 2; half++) {
      while (halves.get(half).size() < 12_000) {
        StandardWorkload.Generated g = workload.next();
        if (g.event() == null || (half == 1 && g.kind() == StandardWorkload.Kind.DUPLICATE)) {
          continue; // the second runner cannot know ids the first saw: no retries across it
        }
        Event e = g.event();
        if (halves.get(half).size() % 6 == 0 && g.kind() != StandardWorkload.Kind.DUPLICATE) {
          e = new Event(null, e.eventType(), e.userId(), e.timestamp(), e.source(), e.properties());
        }
        halves.get(half).add(e);
        if (e.id() == null || seen.add(e.id())) {
          oracle.apply(List.of(e), NOW, (i, x, o) -> {});
        }
      }
    }

    try (KafkaEventLog log =
            KafkaEventLog.open(
                KafkaEventLog.Options.defaults(kafka.bootstrap(), topic, "runner-test"));
        PostgresRollupStore store =
            PostgresRollupStore.open(pg.jdbcUrl(), pg.properties(), schema, PARTITIONS)) {
      append(log, halves.get(0));

      KafkaEventSource firstSource = new KafkaEventSource(kafka.bootstrap(), topic, Map.of());
      RollupEngine firstEngine = engine(store);
      EventSourceRunner first = runner(firstSource, firstEngine);
      int consumed = 0;
      while (consumed < 12_000) {
        consumed += first.step(Duration.ofSeconds(1));
      }
      assertThat(first.duplicates()).as("retried ids").isPositive();
      first.checkpoint();
      append(log, halves.get(1));
      for (int i = 0; i < 3; i++) {
        first.step(Duration.ofSeconds(1)); // applied, never checkpointed: the runner dies now
      }
      firstSource.close();

      try (KafkaEventSource source = new KafkaEventSource(kafka.bootstrap(), topic, Map.of())) {
        EventSourceRunner second = runner(source, engine(store)); // from the stored checkpoint
        while (second.applied() < 12_000) {
          second.step(Duration.ofSeconds(1));
        }
        second.step(Duration.ofMillis(500));
        assertThat(second.applied())
            .as("exactly the records after the checkpoint")
            .isEqualTo(12_000);
        second.checkpoint();
        assertThatThrownBy(firstEngine::checkpoint)
            .as("the dead runner, were it still there")
            .isInstanceOf(StaleWriteException.class);
      }

      try (StoredRollups reader = new StoredRollups(store, Tier.DEFAULTS)) {
        assertThat(reader.position().partitions()).isEqualTo(3);
        List<QueryAnswers.Answer> expected = QueryAnswers.of(oracle, false, NOW);
        assertThat(expected)
            .filteredOn(a -> !a.toString().contains(" refused: ") && !a.toString().endsWith(" []"))
            .hasSizeGreaterThan(expected.size() / 2);
        assertThat(QueryAnswers.of(reader, false, NOW)).isEqualTo(expected);
      }
    }
  }

  private static RollupEngine engine(PostgresRollupStore store) {
    return new RollupEngine(Tier.DEFAULTS, LIMITS, 10_000_000, Duration.ofMinutes(1), store);
  }

  private static EventSourceRunner runner(KafkaEventSource source, RollupEngine engine) {
    return new EventSourceRunner(
        source,
        engine,
        new Deduplicator(Duration.ofHours(24), 1_000_000),
        Duration.ofHours(1), // checkpoints only when the test says
        () -> NOW);
  }

  /** As an ingest server does: ids assigned to events without one, 1,000 events an append. */
  private static void append(KafkaEventLog log, List<Event> events) throws Exception {
    List<CompletableFuture<Long>> acks = new ArrayList<>();
    for (int from = 0; from < events.size(); from += 1_000) {
      RecordBuffer records = new RecordBuffer(256 << 10);
      for (Event e : events.subList(from, Math.min(events.size(), from + 1_000))) {
        if (e.id() == null) {
          UUID id = EventIds.newId(NOW);
          EventCodec.encode(
              new Event(
                  id.toString(),
                  e.eventType(),
                  e.userId(),
                  e.timestamp(),
                  e.source(),
                  e.properties()),
              id,
              NOW,
              records);
        } else {
          EventCodec.encode(e, NOW, records);
        }
      }
      acks.add(log.append(records.array(), records.length(), records.records()));
    }
    for (CompletableFuture<Long> a : acks) {
      a.get(60, TimeUnit.SECONDS);
    }
  }
}
