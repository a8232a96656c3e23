package dev.aggregator.cluster.flink;

import dev.aggregator.event.EventProperties;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.LoggedEvent;
import java.nio.ByteBuffer;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Reads a record of the {@code events} topic into a {@link LogRecord} (decoding it once). */
final class LogRecordDeserializer implements KafkaRecordDeserializationSchema<LogRecord> {
  private static final long serialVersionUID = 1L;

  private transient EventProperties.Builder scratch;

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<LogRecord> out) {
    if (scratch == null) {
      scratch = EventProperties.builder();
    }
    LoggedEvent e = EventCodec.decode(record.offset(), ByteBuffer.wrap(record.value()), scratch);
    out.collect(
        new LogRecord(
            e.event().eventType(),
            e.assignedId() ? null : e.event().id(),
            record.partition(),
            record.offset(),
            record.value()));
  }

  @Override
  public TypeInformation<LogRecord> getProducedType() {
    return TypeInformation.of(LogRecord.class);
  }
}
