package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class LogPositionTest {

  @Test
  void aOnePartitionPositionIsASequence() {
    LogPosition p = LogPosition.of(41);
    assertThat(p.sequence()).isEqualTo(41);
    assertThat(p.covers(0, 41)).isTrue();
    assertThat(p.covers(0, 42)).isFalse();
    assertThat(LogPosition.START.covers(0, 0)).isFalse();
    assertThat(p).hasToString("0:41").isEqualTo(LogPosition.ofOffsets(41));
  }

  @Test
  void partitionsAreComparedOneByOneAndNeverMoveBack() {
    LogPosition p = LogPosition.ofOffsets(10, -1, 7);
    assertThat(p.covers(1, 0)).as("nothing of partition 1 yet").isFalse();
    assertThat(p.covers(3, 0)).as("a partition added to the topic since").isFalse();
    assertThat(p.advance(2, 3)).as("backwards").isSameAs(p);
    LogPosition q = p.advance(1, 5).advance(4, 0);
    assertThat(q).hasToString("0:10,1:5,2:7,3:-1,4:0");
    assertThat(p.coveredBy(q)).isTrue();
    assertThat(q.coveredBy(p)).isFalse();
    assertThatThrownBy(p::sequence).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> LogPosition.ofOffsets(-2))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Property
  void decodesWhatItEncodes(@ForAll("offsets") long[] offsets) {
    LogPosition p = LogPosition.ofOffsets(offsets);
    assertThat(LogPosition.decode(ByteBuffer.wrap(p.encode()))).isEqualTo(p);
  }

  @Test
  void refusesBytesThatAreNoPosition() {
    assertThatThrownBy(() -> LogPosition.decode(ByteBuffer.wrap(new byte[] {0, 0, 0, 9, 1})))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Provide
  Arbitrary<long[]> offsets() {
    return Arbitraries.longs()
        .between(-1, Long.MAX_VALUE)
        .array(long[].class)
        .ofMinSize(1)
        .ofMaxSize(64);
  }
}
