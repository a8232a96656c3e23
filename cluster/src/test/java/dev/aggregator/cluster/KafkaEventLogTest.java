package dev.aggregator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventIds;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.Timestamps;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.LogFullException;
import dev.aggregator.storage.LoggedEvent;
import dev.aggregator.storage.RecordBuffer;
import dev.aggregator.testing.StandardWorkload;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/** The event log on a real Kafka broker: what a read-committed reader of the topic gets. */
class KafkaEventLogTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-12-03T12:00:00Z");
  private static final AtomicInteger TOPICS = new AtomicInteger();

  private final LocalKafka kafka;

  KafkaEventLogTest() throws Exception {
    kafka = LocalKafka.shared();
  }

  private String newTopic(int partitions) throws Exception {
    String topic = "events-" + TOPICS.incrementAndGet();
    kafka.createTopic(topic, partitions);
    return topic;
  }

  @Test
  void everyAcknowledgedEventIsInTheTopicAsItsLogRecordWithAClientsRetriesInOnePartition()
      throws Exception {
    String topic = newTopic(3);
    StandardWorkload workload = new StandardWorkload(3, () -> NOW);
    List<Event> sent = new ArrayList<>();
    List<CompletableFuture<Long>> acks = new ArrayList<>();
    try (KafkaEventLog log =
        KafkaEventLog.open(
            KafkaEventLog.Options.defaults(kafka.bootstrap(), topic, "test-" + topic))) {
      for (int append = 0; append < 20; append++) {
        RecordBuffer records = new RecordBuffer(64 << 10);
        for (int i = 0; i < 100; i++) {
          Event e = next(workload);
          if (i % 10 == 0) { // sent without an id: the server's UUIDv7
            UUID id = EventIds.newId(NOW);
            e =
                new Event(
                    id.toString(),
                    e.eventType(),
                    e.userId(),
                    e.timestamp(),
                    e.source(),
                    e.properties());
            EventCodec.encode(e, id, NOW, records);
          } else {
            EventCodec.encode(e, NOW, records);
          }
          sent.add(e);
        }
        acks.add(log.append(records.array(), records.length(), records.records()));
      }
      for (CompletableFuture<Long> ack : acks) {
        assertThat(ack.get(60, TimeUnit.SECONDS)).isEqualTo(KafkaEventLog.NO_SEQUENCE);
      }
      assertThat(log.stats().records()).isEqualTo(2_000);
    }

    List<ConsumerRecord<byte[], byte[]>> read = readAll(topic, 2_000);
    List<Event> got = new ArrayList<>();
    Map<String, Integer> partitionOfId = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : read) {
      LoggedEvent e =
          EventCodec.decode(r.offset(), ByteBuffer.wrap(r.value()), EventProperties.builder());
      got.add(e.event());
      assertThat(r.key() == null).as("keyed by the client's id only").isEqualTo(e.assignedId());
      Integer before = partitionOfId.put(e.event().id(), r.partition());
      assertThat(before == null || before == r.partition())
          .as("a retried id in one partition")
          .isTrue();
    }
    assertThat(got).containsExactlyInAnyOrderElementsOf(sent);
    assertThat(read.stream().map(ConsumerRecord::partition).distinct().count())
        .as("spread")
        .isEqualTo(3);
  }

  @Test
  void aFencedServerAcknowledgesNothingMoreAndReadersNeverSeeWhatItWasRefused() throws Exception {
    String topic = newTopic(1);
    StandardWorkload workload = new StandardWorkload(4, () -> NOW);
    try (KafkaEventLog first =
        KafkaEventLog.open(
            KafkaEventLog.Options.defaults(kafka.bootstrap(), topic, "same-" + topic))) {
      assertThat(append(first, workload, 10).get(60, TimeUnit.SECONDS)).isEqualTo(-1);
      // A second server started with the same transactional id: Kafka fences the first.
      try (KafkaEventLog second =
          KafkaEventLog.open(
              KafkaEventLog.Options.defaults(kafka.bootstrap(), topic, "same-" + topic))) {
        CompletableFuture<Long> refused = append(first, workload, 10);
        assertThatThrownBy(() -> refused.get(60, TimeUnit.SECONDS))
            .isInstanceOf(ExecutionException.class)
            .cause()
            .isInstanceOfAny(ProducerFencedException.class, InvalidProducerEpochException.class);
        assertThat(first.stats().failed()).isTrue();
        assertThat(append(second, workload, 5).get(60, TimeUnit.SECONDS)).isEqualTo(-1);
      }
    }
    assertThat(readAll(topic, 15))
        .as("10 + 5 acknowledged; the refused 10 are not there")
        .hasSize(15);
  }

  @Test
  void anAppendPastTheInFlightBudgetIsRefusedAtOnceAndNothingOfItIsSent() throws Exception {
    String topic = newTopic(1);
    StandardWorkload workload = new StandardWorkload(5, () -> NOW);
    KafkaEventLog.Options small =
        new KafkaEventLog.Options(
            kafka.bootstrap(),
            topic,
            "small-" + topic,
            4_096,
            1 << 20,
            Duration.ofSeconds(30),
            Map.of());
    try (KafkaEventLog log = KafkaEventLog.open(small)) {
      CompletableFuture<Long> big = append(log, workload, 100); // ~15 KB
      assertThatThrownBy(() -> big.get(1, TimeUnit.SECONDS))
          .hasCauseInstanceOf(LogFullException.class)
          .hasMessageContaining("4096 bytes in flight");
      assertThat(append(log, workload, 5).get(60, TimeUnit.SECONDS))
          .as("within budget")
          .isEqualTo(-1);
    }
    assertThat(readAll(topic, 5)).hasSize(5);
  }

  private static Event next(StandardWorkload workload) {
    while (true) {
      StandardWorkload.Generated g = workload.next();
      if (g.event() != null) {
        return g.event();
      }
    }
  }

  private static CompletableFuture<Long> append(KafkaEventLog log, StandardWorkload w, int n) {
    RecordBuffer records = new RecordBuffer(1024);
    for (int i = 0; i < n; i++) {
      EventCodec.encode(next(w), NOW, records);
    }
    return log.append(records.array(), records.length(), records.records());
  }

  /** Everything committed in the topic, read as the Flink job does (read_committed). */
  private List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected) {
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      consumer
          .partitionsFor(topic)
          .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      // Past the expected count, one more poll shows nothing else is there.
      int quiet = 0;
      while (System.nanoTime() < deadline && quiet < 2) {
        var batch = consumer.poll(Duration.ofMillis(500));
        batch.forEach(out::add);
        quiet = out.size() >= expected && batch.isEmpty() ? quiet + 1 : 0;
      }
    }
    return out;
  }
}
