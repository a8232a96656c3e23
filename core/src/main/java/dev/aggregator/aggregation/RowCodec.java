package dev.aggregator.aggregation;

import java.nio.ByteBuffer;

/**
 * The stored form of a {@link RollupRow}:
 *
 * <pre>
 * varint  count
 * per field present, in index order:
 *   varint index + 1, varint count, double sum, double min, double max,
 *   varint sketch length (0 = none), sketch bytes ({@link ValueSketch#writeTo})
 * varint  0 (end of fields)
 * varint  users length (0 = none), users bytes ({@link UserSketch#writeTo})
 * </pre>
 *
 * Sketches carry their length so that a query that needs only sums skips them unread: most queries
 * never touch a sketch, and decoding one costs more than the rest of the row.
 */
public final class RowCodec {
  private RowCodec() {}

  /** The row's bytes. */
  public static byte[] encode(RollupRow row) {
    int size = varintSize(row.count) + 1 + 1 + 5;
    for (int i = 0; i < row.fields.length; i++) {
      FieldSummary f = row.fields[i];
      if (f != null) {
        int sketch = f.values == null ? 0 : f.values.serializedSize();
        size += varintSize(i + 1) + varintSize(f.count) + 24 + varintSize(sketch) + sketch;
      }
    }
    int users = row.users == null ? 0 : row.users.serializedSize();
    size += varintSize(users) + users;
    ByteBuffer out = ByteBuffer.allocate(size);
    putVarint(out, row.count);
    for (int i = 0; i < row.fields.length; i++) {
      FieldSummary f = row.fields[i];
      if (f == null) {
        continue;
      }
      putVarint(out, i + 1);
      putVarint(out, f.count);
      out.putDouble(f.sum).putDouble(f.min).putDouble(f.max);
      if (f.values == null) {
        putVarint(out, 0);
      } else {
        putVarint(out, f.values.serializedSize());
        f.values.writeTo(out);
      }
    }
    putVarint(out, 0);
    if (row.users == null) {
      putVarint(out, 0);
    } else {
      putVarint(out, users);
      row.users.writeTo(out);
    }
    byte[] bytes = new byte[out.position()];
    System.arraycopy(out.array(), 0, bytes, 0, bytes.length);
    return bytes;
  }

  /** Decodes the whole row. */
  /** Bytes that hold a stored row's event count, at most: it leads the row, as a varint. */
  public static final int COUNT_PREFIX_BYTES = 10;

  public static RollupRow decode(byte[] bytes) {
    RollupRow row = new RollupRow();
    mergeInto(bytes, row, -2, true, true);
    return row;
  }

  /**
   * Merges the stored row into {@code into}, reading only what a query needs.
   *
   * @param field the field index to merge, -1 for none (counts only), -2 for all
   * @param users whether to merge the distinct-users sketch
   * @param values whether to merge the wanted fields' value sketches
   */
  public static void mergeInto(
      byte[] bytes, RollupRow into, int field, boolean users, boolean values) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    into.count += getVarint(in);
    if (field == -1 && !users) {
      return; // the count alone: the bytes may be just the row's first (see COUNT_PREFIX_BYTES)
    }
    int index;
    while ((index = (int) getVarint(in)) != 0) {
      index--;
      long count = getVarint(in);
      double sum = in.getDouble();
      double min = in.getDouble();
      double max = in.getDouble();
      int sketchLength = (int) getVarint(in);
      boolean wanted = field == -2 || field == index;
      if (!wanted) {
        in.position(in.position() + sketchLength);
        continue;
      }
      FieldSummary f = into.fieldFor(index);
      f.count += count;
      f.sum += sum;
      f.min = Math.min(f.min, min);
      f.max = Math.max(f.max, max);
      if (sketchLength > 0 && values) {
        ValueSketch s = ValueSketch.readFrom(in.slice(in.position(), sketchLength));
        if (f.values == null) {
          f.values = s;
        } else {
          f.values.merge(s);
        }
      }
      in.position(in.position() + sketchLength);
    }
    int usersLength = (int) getVarint(in);
    if (usersLength > 0 && users) {
      UserSketch s = UserSketch.readFrom(in.slice(in.position(), usersLength));
      if (into.users == null) {
        into.users = s;
      } else {
        into.users.merge(s);
      }
    }
  }

  private static int varintSize(long v) {
    int n = 1;
    while ((v & ~0x7FL) != 0) {
      v >>>= 7;
      n++;
    }
    return n;
  }

  private static void putVarint(ByteBuffer out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  private static long getVarint(ByteBuffer in) {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = in.get();
      value |= (long) (b & 0x7F) << shift;
      if (b >= 0) {
        return value;
      }
    }
    throw new IllegalArgumentException("varint too long");
  }
}
