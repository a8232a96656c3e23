package dev.aggregator.storage;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * How far into the log something reaches: per partition, the offset of the last record it covers
 * (-1: none yet). The embedded log has one partition whose offsets are its sequence numbers; a
 * Kafka topic has one offset per partition, and no single number orders records across them. A
 * checkpoint stores the position its rows cover; a reader compares positions partition by
 * partition. Immutable.
 */
public final class LogPosition {
  /** Before any record, in a one-partition log. */
  public static final LogPosition START = new LogPosition(new long[] {-1});

  private final long[] offsets;

  private LogPosition(long[] offsets) {
    this.offsets = offsets;
  }

  /** The position after record {@code sequence} of a one-partition log (-1: before any). */
  public static LogPosition of(long sequence) {
    return new LogPosition(new long[] {checked(sequence)});
  }

  /** The position after, per partition {@code p}, its record {@code offsets[p]} (-1: none). */
  public static LogPosition ofOffsets(long... offsets) {
    if (offsets.length == 0) {
      throw new IllegalArgumentException("a log has at least one partition");
    }
    long[] copy = offsets.clone();
    for (long o : copy) {
      checked(o);
    }
    return new LogPosition(copy);
  }

  private static long checked(long offset) {
    if (offset < -1) {
      throw new IllegalArgumentException("an offset is -1 or more: " + offset);
    }
    return offset;
  }

  public int partitions() {
    return offsets.length;
  }

  /** The last offset of {@code partition} covered, or -1. */
  public long offset(int partition) {
    return offsets[partition];
  }

  /** The one partition's offset; for the embedded log, the sequence of the last record covered. */
  public long sequence() {
    if (offsets.length != 1) {
      throw new IllegalStateException("a position in " + offsets.length + " partitions");
    }
    return offsets[0];
  }

  /**
   * Whether record {@code offset} of {@code partition} is covered (so replaying it would count it
   * twice).
   */
  public boolean covers(int partition, long offset) {
    return partition < offsets.length && offset <= offsets[partition];
  }

  /** This position moved on to cover {@code offset} of {@code partition} (never backwards). */
  public LogPosition advance(int partition, long offset) {
    if (covers(partition, offset)) {
      return this;
    }
    long[] next = Arrays.copyOf(offsets, Math.max(offsets.length, partition + 1));
    for (int p = offsets.length; p < next.length; p++) {
      next[p] = -1; // partitions added to the topic since
    }
    next[partition] = checked(offset);
    return new LogPosition(next);
  }

  /** Whether every record this covers, {@code other} covers too. */
  public boolean coveredBy(LogPosition other) {
    for (int p = 0; p < offsets.length; p++) {
      if (offsets[p] >= 0 && !other.covers(p, offsets[p])) {
        return false;
      }
    }
    return true;
  }

  /** Partition count, then each offset: 4 + 8 per partition bytes. */
  public byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(4 + 8 * offsets.length).putInt(offsets.length);
    for (long o : offsets) {
      b.putLong(o);
    }
    return b.array();
  }

  /** Reads what {@link #encode} wrote from {@code in}, advancing it. */
  public static LogPosition decode(ByteBuffer in) {
    int n = in.getInt();
    if (n < 1 || n > in.remaining() / 8) {
      throw new IllegalArgumentException("not a log position: " + n + " partitions");
    }
    long[] offsets = new long[n];
    for (int p = 0; p < n; p++) {
      offsets[p] = checked(in.getLong());
    }
    return new LogPosition(offsets);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LogPosition other && Arrays.equals(offsets, other.offsets);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(offsets);
  }

  /** {@code 0:41} for one partition; {@code 0:41,1:-1,2:7} for three. */
  @Override
  public String toString() {
    StringBuilder s = new StringBuilder();
    for (int p = 0; p < offsets.length; p++) {
      s.append(p == 0 ? "" : ",").append(p).append(':').append(offsets[p]);
    }
    return s.toString();
  }
}
