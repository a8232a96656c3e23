package dev.aggregator.cluster.flink;

/**
 * One record of the {@code events} topic as it travels between the job's operators: the encoded
 * event as {@code KafkaEventLog} wrote it, where it came from, and the two things the job keys by.
 * A Flink POJO (public fields, a no-argument constructor), so Flink serializes it with its own POJO
 * serializer, not Kryo.
 */
public class LogRecord {
  /** The event's type: what the rollups are keyed by. */
  public String eventType;

  /** The client's id, what dedup is keyed by; null when the server assigned the id (no retries). */
  public String clientId;

  /** The Kafka partition and offset: what a partition's checkpoint position covers. */
  public int partition;

  public long offset;

  /** The record's value: {@code EventCodec}'s encoding. */
  public byte[] bytes;

  public LogRecord() {}

  LogRecord(String eventType, String clientId, int partition, long offset, byte[] bytes) {
    this.eventType = eventType;
    this.clientId = clientId;
    this.partition = partition;
    this.offset = offset;
    this.bytes = bytes;
  }
}
