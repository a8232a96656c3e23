package dev.aggregator.storage;

import java.nio.ByteBuffer;

/**
 * Unsigned LEB128 varints in a {@link ByteBuffer}: the one implementation behind the log records,
 * the rollup rows and the sketches' images. ({@link RecordBuffer} writes the same format straight
 * into its byte array, on the ingest hot path.)
 */
public final class Varint {
  private Varint() {}

  /** Bytes {@link #put(ByteBuffer, int)} writes for {@code v >= 0}: 1 up to 127, 2 up to 16,383. */
  public static int size(int v) {
    return (32 - Integer.numberOfLeadingZeros(v | 1) + 6) / 7;
  }

  /** Bytes {@link #putLong} writes for {@code v}; a negative value takes 10. */
  public static int sizeLong(long v) {
    return (64 - Long.numberOfLeadingZeros(v | 1) + 6) / 7;
  }

  public static void put(ByteBuffer out, int v) {
    while ((v & ~0x7F) != 0) {
      out.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  public static void putLong(ByteBuffer out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  /**
   * @throws IllegalArgumentException if the varint is longer than 5 bytes or negative
   */
  public static int get(ByteBuffer in) {
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

  /**
   * @throws IllegalArgumentException if the varint is longer than 10 bytes
   */
  public static long getLong(ByteBuffer in) {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = in.get();
      value |= (long) (b & 0x7F) << shift;
      if (b >= 0) {
        return value;
      }
    }
    throw new IllegalArgumentException("malformed varint");
  }
}
