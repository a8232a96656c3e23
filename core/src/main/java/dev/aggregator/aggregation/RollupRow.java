package dev.aggregator.aggregation;

import java.util.Arrays;

/**
 * One bucket of one series: how many events, a {@link FieldSummary} per numeric field (by the
 * field's index in its {@link EventSchema}), and the distinct users (in tiers that keep sketches).
 * Mutable and mergeable: rows of many series and buckets merge into the answer of a query.
 */
public final class RollupRow {
  private static final FieldSummary[] NO_FIELDS = new FieldSummary[0];

  long count;
  FieldSummary[] fields = NO_FIELDS;
  UserSketch users;

  /** Approximate heap bytes of this row with its summaries and sketches (for memory budgets). */
  long heapBytes() {
    long n = 32;
    if (fields.length > 0) {
      n += 16 + 4L * fields.length;
      for (FieldSummary f : fields) {
        if (f != null) {
          n += 48 + (f.values == null ? 0 : f.values.heapBytes());
        }
      }
    }
    return users == null ? n : n + users.heapBytes();
  }

  public long count() {
    return count;
  }

  /** The summary of field {@code index}, or null if no event of this row carried it. */
  public FieldSummary field(int index) {
    return index < fields.length ? fields[index] : null;
  }

  /** Distinct users, or null where the tier keeps no sketches or no event had a user. */
  public UserSketch users() {
    return users;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  /**
   * Counts one event.
   *
   * @param fieldIndexes the fields it carries ({@code fieldIndexes[from..from + fieldCount)})
   * @param values whether to feed the fields' value sketches (percentiles)
   * @param users whether to feed the user sketch with {@code userHash}
   */
  void add(
      int[] fieldIndexes,
      double[] fieldValues,
      int from,
      int fieldCount,
      boolean values,
      boolean users,
      long userHash) {
    count++;
    for (int i = from, end = from + fieldCount; i < end; i++) {
      fieldFor(fieldIndexes[i]).add(fieldValues[i], values);
    }
    if (users) {
      if (this.users == null) {
        this.users = new UserSketch();
      }
      this.users.add(userHash);
    }
  }

  FieldSummary fieldFor(int index) {
    if (index >= fields.length) {
      fields = Arrays.copyOf(fields, index + 1);
    }
    FieldSummary f = fields[index];
    if (f == null) {
      f = new FieldSummary();
      fields[index] = f;
    }
    return f;
  }

  /**
   * Merges in only what a query needs of {@code other}: its count, one field ({@code -1} none,
   * {@code -2} all) with or without value sketches, and with or without users. Merging sketches a
   * query does not need would cost more than the rest of the query.
   */
  public void merge(RollupRow other, int field, boolean withUsers, boolean withValues) {
    count += other.count;
    for (int i = 0; i < other.fields.length; i++) {
      FieldSummary f = other.fields[i];
      if (f != null && (field == -2 || field == i)) {
        FieldSummary into = fieldFor(i);
        into.count += f.count;
        into.sum += f.sum;
        into.min = Math.min(into.min, f.min);
        into.max = Math.max(into.max, f.max);
        if (withValues && f.values != null) {
          if (into.values == null) {
            into.values = new ValueSketch();
          }
          into.values.merge(f.values);
        }
      }
    }
    if (withUsers && other.users != null) {
      if (users == null) {
        users = new UserSketch();
      }
      users.merge(other.users);
    }
  }

  /** Merges {@code other} in; never changes it. */
  public void merge(RollupRow other) {
    count += other.count;
    for (int i = 0; i < other.fields.length; i++) {
      if (other.fields[i] != null) {
        fieldFor(i).merge(other.fields[i]);
      }
    }
    if (other.users != null) {
      if (users == null) {
        users = new UserSketch();
      }
      users.merge(other.users);
    }
  }
}
