package dev.aggregator.cluster;

import dev.aggregator.event.EventProperties;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.EventSource;
import dev.aggregator.storage.LogPosition;
import dev.aggregator.storage.LoggedEvent;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The events topic read back, as {@link KafkaEventLog} wrote it: every partition assigned to this
 * one consumer (no consumer group: the position lives in the rollup store's checkpoint, not in
 * Kafka's offsets, so that rows and position commit together), {@code read_committed}, so records
 * of an aborted transaction — appends answered with an error — are never seen.
 */
public final class KafkaEventSource implements EventSource {
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final List<TopicPartition> partitions = new ArrayList<>();
  private final Deque<ConsumerRecord<byte[], byte[]>> buffered = new ArrayDeque<>();
  private final EventProperties.Builder scratch = EventProperties.builder();
  private long[] offsets;

  /**
   * @param consumer further consumer settings (security), applied last
   */
  public KafkaEventSource(String bootstrapServers, String topic, Map<String, Object> consumer) {
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.putAll(consumer);
    this.consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<PartitionInfo> infos = this.consumer.partitionsFor(topic, Duration.ofSeconds(30));
    if (infos == null || infos.isEmpty()) {
      this.consumer.close();
      throw new IllegalStateException("topic " + topic + " does not exist");
    }
    for (PartitionInfo p : infos) {
      partitions.add(new TopicPartition(topic, p.partition()));
    }
    partitions.sort(java.util.Comparator.comparingInt(TopicPartition::partition));
    this.consumer.assign(partitions);
    seek(LogPosition.START);
  }

  @Override
  public void seek(LogPosition position) {
    buffered.clear();
    offsets = new long[partitions.size()];
    for (int i = 0; i < partitions.size(); i++) {
      TopicPartition tp = partitions.get(i);
      long last = tp.partition() < position.partitions() ? position.offset(tp.partition()) : -1;
      offsets[i] = last;
      consumer.seek(tp, last + 1);
    }
  }

  @Override
  public List<LoggedEvent> poll(int max, Duration timeout) {
    if (buffered.isEmpty()) {
      consumer.poll(timeout).forEach(buffered::add);
    }
    List<LoggedEvent> out = new ArrayList<>(Math.min(max, buffered.size()));
    while (out.size() < max && !buffered.isEmpty()) {
      ConsumerRecord<byte[], byte[]> r = buffered.peekFirst();
      out.add(EventCodec.decode(r.offset(), ByteBuffer.wrap(r.value()), scratch));
      buffered.pollFirst();
      offsets[indexOf(r.partition())] = r.offset();
    }
    return out;
  }

  private int indexOf(int partition) {
    for (int i = 0; i < partitions.size(); i++) {
      if (partitions.get(i).partition() == partition) {
        return i;
      }
    }
    throw new IllegalStateException("a record of unassigned partition " + partition);
  }

  /** Indexed by partition number (partitions are numbered 0..n-1). */
  @Override
  public LogPosition position() {
    long[] byPartition = new long[partitions.get(partitions.size() - 1).partition() + 1];
    java.util.Arrays.fill(byPartition, -1);
    for (int i = 0; i < partitions.size(); i++) {
      byPartition[partitions.get(i).partition()] = offsets[i];
    }
    return LogPosition.ofOffsets(byPartition);
  }

  @Override
  public void close() {
    consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
  }
}
