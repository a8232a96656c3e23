package dev.aggregator.aggregation;

import java.nio.ByteBuffer;

/** Unsigned LEB128 varints in a {@link ByteBuffer}, as the event log writes them. */
final class Varint {
  private Varint() {}

  /** Bytes {@link #put} writes for {@code v >= 0}: 1 up to 127, 2 up to 16,383, ... */
  static int size(int v) {
    return (32 - Integer.numberOfLeadingZeros(v | 1) + 6) / 7;
  }

  static void put(ByteBuffer out, int v) {
    while ((v & ~0x7F) != 0) {
      out.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  /**
   * @throws IllegalArgumentException if the varint is longer than 5 bytes or negative
   */
  static int get(ByteBuffer in) {
    int value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      byte b = in.get();
      value |= (b & 0x7F) << shift;
      if (b >= 0) {
        if (value < 0) {
          break;
        }
        return value;
      }
    }
    throw new IllegalArgumentException("malformed varint");
  }
}
