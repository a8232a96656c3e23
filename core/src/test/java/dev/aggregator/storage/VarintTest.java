package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class VarintTest {

  @Property
  void anIntRoundTripsInTheBytesSizeSays(@ForAll @IntRange(min = 0) int v) {
    ByteBuffer b = ByteBuffer.allocate(10);
    Varint.put(b, v);
    assertThat(b.position()).isEqualTo(Varint.size(v));
    assertThat(Varint.get(b.flip())).isEqualTo(v);
  }

  @Property
  void aLongRoundTripsInTheBytesSizeSays(@ForAll long v) {
    ByteBuffer b = ByteBuffer.allocate(10);
    Varint.putLong(b, v);
    assertThat(b.position()).isEqualTo(Varint.sizeLong(v));
    assertThat(Varint.getLong(b.flip())).isEqualTo(v);
  }

  @Test
  void sizesStepEverySevenBits() {
    assertThat(Varint.size(0)).isEqualTo(1);
    assertThat(Varint.size(127)).isEqualTo(1);
    assertThat(Varint.size(128)).isEqualTo(2);
    assertThat(Varint.size(Integer.MAX_VALUE)).isEqualTo(5);
    assertThat(Varint.sizeLong(-1)).isEqualTo(10);
  }

  @Test
  void anIntVarintThatIsTooLongOrNegativeIsRefused() {
    byte[] six = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0};
    assertThatThrownBy(() -> Varint.get(ByteBuffer.wrap(six)))
        .isInstanceOf(IllegalArgumentException.class);
    ByteBuffer negative = ByteBuffer.allocate(10);
    Varint.putLong(negative, 0xFFFF_FFFFL); // 5 bytes, bit 31 set: a negative int
    assertThatThrownBy(() -> Varint.get(negative.flip()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
