package dev.aggregator.storage;

import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * A growable buffer of framed log records: {@code [int length][int crc32c][payload]}, big-endian.
 *
 * <p>Records are framed where they are encoded (on the request's event loop), so the log writer
 * only copies bytes and the CRC work spreads over all cores.
 *
 * <p>Not thread-safe; one per request.
 */
public final class RecordBuffer {
  /** Bytes before each payload: its length and its CRC32C. */
  public static final int HEADER_BYTES = 8;

  private final CRC32C crc = new CRC32C();
  private byte[] bytes;
  private int position;
  private int recordStart = -1;
  private int records;

  public RecordBuffer(int initialCapacity) {
    bytes = new byte[Math.max(64, initialCapacity)];
  }

  /** Starts a record; its payload follows. */
  public void beginRecord() {
    ensure(HEADER_BYTES);
    recordStart = position;
    position += HEADER_BYTES;
  }

  /** Ends the record begun last, writing its length and checksum into its header. */
  public void endRecord() {
    int payload = position - recordStart - HEADER_BYTES;
    crc.reset();
    crc.update(bytes, recordStart + HEADER_BYTES, payload);
    putInt(bytes, recordStart, payload);
    putInt(bytes, recordStart + 4, (int) crc.getValue());
    recordStart = -1;
    records++;
  }

  /** Drops everything, keeping the allocated array. */
  public void clear() {
    position = 0;
    records = 0;
    recordStart = -1;
  }

  public byte[] array() {
    return bytes;
  }

  public int length() {
    return position;
  }

  public int records() {
    return records;
  }

  public void putByte(int b) {
    ensure(1);
    bytes[position++] = (byte) b;
  }

  public void putLong(long v) {
    ensure(8);
    for (int shift = 56; shift >= 0; shift -= 8) {
      bytes[position++] = (byte) (v >>> shift);
    }
  }

  public void putDouble(double v) {
    putLong(Double.doubleToRawLongBits(v));
  }

  /** An unsigned LEB128 varint. */
  public void putVarint(int v) {
    ensure(5);
    while ((v & ~0x7F) != 0) {
      bytes[position++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    bytes[position++] = (byte) v;
  }

  /** A string as varint byte length + UTF-8; ASCII (the common case) is copied char by char. */
  public void putString(String s) {
    int n = s.length();
    ensure(5 + n);
    int lengthAt = position;
    boolean ascii = n < 128;
    if (ascii) {
      for (int i = 0; i < n; i++) {
        char c = s.charAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        bytes[lengthAt + 1 + i] = (byte) c;
      }
    }
    if (ascii) {
      bytes[lengthAt] = (byte) n;
      position += 1 + n;
    } else {
      byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      putVarint(utf8.length);
      ensure(utf8.length);
      System.arraycopy(utf8, 0, bytes, position, utf8.length);
      position += utf8.length;
    }
  }

  private void ensure(int more) {
    if (position + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, position + more));
    }
  }

  static void putInt(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }
}
