package dev.aggregator.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.storage.LogPosition;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class StoredCheckpointTest {

  @Test
  void aRecordWrittenBeforePositionsHadPartitionsReadsAsOnePartition() {
    byte[] old =
        ByteBuffer.allocate(24).putLong(4_999).putLong(1_764_504_000_000L).putLong(37).array();

    StoredCheckpoint c = StoredCheckpoint.decode(old);

    assertThat(c.position()).isEqualTo(LogPosition.of(4_999));
    assertThat(c.watermark()).isEqualTo(1_764_504_000_000L);
    assertThat(c.journalEntries()).isEqualTo(37);
  }

  @Test
  void decodesWhatItEncodesForAnyPartitionCount() {
    for (LogPosition p :
        new LogPosition[] {LogPosition.START, LogPosition.of(7), LogPosition.ofOffsets(3, -1, 9)}) {
      StoredCheckpoint c = new StoredCheckpoint(p, Long.MIN_VALUE, 0);
      assertThat(c.encode().length).as("never the old record's length").isNotEqualTo(24);
      assertThat(StoredCheckpoint.decode(c.encode())).isEqualTo(c);
    }
  }
}
