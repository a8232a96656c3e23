package dev.aggregator.aggregation;

import java.util.Arrays;

/**
 * Maps a dimension tuple (an {@code int[]} of value codes) to the series it names, without
 * allocating on lookup: the event's tuple is built in a scratch array and copied only when a new
 * series is created. Open addressing with linear probing.
 */
final class TupleIndex {
  private int[][] keys = new int[64][];
  private int[] values = new int[64];
  private int size;

  /** The series of {@code tuple[0..length)}, or -1. */
  int get(int[] tuple, int length) {
    int mask = keys.length - 1;
    for (int i = hash(tuple, length) & mask; keys[i] != null; i = (i + 1) & mask) {
      if (equal(keys[i], tuple, length)) {
        return values[i];
      }
    }
    return -1;
  }

  /** Adds a copy of {@code tuple[0..length)} naming {@code series}; it must not be present. */
  void put(int[] tuple, int length, int series) {
    if ((size + 1) * 2 > keys.length) {
      grow();
    }
    insert(Arrays.copyOf(tuple, length), series);
    size++;
  }

  int size() {
    return size;
  }

  private void insert(int[] key, int series) {
    int mask = keys.length - 1;
    int i = hash(key, key.length) & mask;
    while (keys[i] != null) {
      i = (i + 1) & mask;
    }
    keys[i] = key;
    values[i] = series;
  }

  private void grow() {
    int[][] oldKeys = keys;
    int[] oldValues = values;
    keys = new int[oldKeys.length * 2][];
    values = new int[oldKeys.length * 2];
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != null) {
        insert(oldKeys[i], oldValues[i]);
      }
    }
  }

  private static int hash(int[] tuple, int length) {
    int h = 1;
    for (int i = 0; i < length; i++) {
      h = 31 * h + tuple[i];
    }
    return h ^ (h >>> 16) * 0x45d9f3b;
  }

  private static boolean equal(int[] key, int[] tuple, int length) {
    if (key.length != length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (key[i] != tuple[i]) {
        return false;
      }
    }
    return true;
  }
}
