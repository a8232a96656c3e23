package dev.aggregator.aggregation;

import dev.aggregator.storage.Varint;
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
    int size = Varint.sizeLong(row.count) + 1 + 1 + 5;
    for (int i = 0; i < row.fields.length; i++) {
      FieldSummary f = row.fields[i];
      if (f != null) {
        int sketch = f.values == null ? 0 : f.values.serializedSize();
        size +=
            Varint.sizeLong(i + 1)
                + Varint.sizeLong(f.count)
                + 24
                + Varint.sizeLong(sketch)
                + sketch;
      }
    }
    int users = row.users == null ? 0 : row.users.serializedSize();
    size += Varint.sizeLong(users) + users;
    ByteBuffer out = ByteBuffer.allocate(size);
    Varint.putLong(out, row.count);
    for (int i = 0; i < row.fields.length; i++) {
      FieldSummary f = row.fields[i];
      if (f == null) {
        continue;
      }
      Varint.putLong(out, i + 1);
      Varint.putLong(out, f.count);
      out.putDouble(f.sum).putDouble(f.min).putDouble(f.max);
      if (f.values == null) {
        Varint.putLong(out, 0);
      } else {
        Varint.putLong(out, f.values.serializedSize());
        f.values.writeTo(out);
      }
    }
    Varint.putLong(out, 0);
    if (row.users == null) {
      Varint.putLong(out, 0);
    } else {
      Varint.putLong(out, users);
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
    into.count += Varint.getLong(in);
    if (field == -1 && !users) {
      return; // the count alone: the bytes may be just the row's first (see COUNT_PREFIX_BYTES)
    }
    int index;
    while ((index = (int) Varint.getLong(in)) != 0) {
      index--;
      long count = Varint.getLong(in);
      double sum = in.getDouble();
      double min = in.getDouble();
      double max = in.getDouble();
      int sketchLength = (int) Varint.getLong(in);
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
    int usersLength = (int) Varint.getLong(in);
    if (usersLength > 0 && users) {
      UserSketch s = UserSketch.readFrom(in.slice(in.position(), usersLength));
      if (into.users == null) {
        into.users = s;
      } else {
        into.users.merge(s);
      }
    }
  }
}
