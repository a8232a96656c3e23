package dev.aggregator.event;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The flattened properties of an event, in the order the client sent them.
 *
 * <p>Stored as parallel arrays rather than a map: an event has a handful of properties, a linear
 * scan is faster than hashing, and the hot path allocates four arrays instead of one entry per
 * property. Booleans keep their kind and read as {@code "true"}/{@code "false"}.
 */
public final class EventProperties {
  private static final EventProperties EMPTY =
      new EventProperties(new String[0], new PropertyKind[0], new String[0], new double[0]);

  private final String[] keys;
  private final PropertyKind[] kinds;
  private final String[] strings;
  private final double[] numbers;

  private EventProperties(String[] keys, PropertyKind[] kinds, String[] strings, double[] numbers) {
    this.keys = keys;
    this.kinds = kinds;
    this.strings = strings;
    this.numbers = numbers;
  }

  public static EventProperties empty() {
    return EMPTY;
  }

  public static Builder builder() {
    return new Builder();
  }

  public int size() {
    return keys.length;
  }

  public String key(int i) {
    return keys[i];
  }

  public PropertyKind kind(int i) {
    return kinds[i];
  }

  /** The value of a string or boolean property. */
  public String string(int i) {
    return strings[i];
  }

  /** The value of a number property. */
  public double number(int i) {
    return numbers[i];
  }

  /** The index of {@code key}, or -1. */
  public int indexOf(String key) {
    for (int i = 0; i < keys.length; i++) {
      if (keys[i].equals(key)) {
        return i;
      }
    }
    return -1;
  }

  /** The properties as a map of Java values (String, Double, Boolean), for display and tests. */
  public Map<String, Object> toMap() {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keys.length; i++) {
      map.put(
          keys[i],
          switch (kinds[i]) {
            case NUMBER -> numbers[i];
            case BOOLEAN -> Boolean.valueOf(strings[i]);
            case STRING -> strings[i];
          });
    }
    return map;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EventProperties other
        && Arrays.equals(keys, other.keys)
        && Arrays.equals(kinds, other.kinds)
        && Arrays.equals(strings, other.strings)
        && Arrays.equals(numbers, other.numbers);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(keys) * 31 + Arrays.hashCode(numbers);
  }

  @Override
  public String toString() {
    return toMap().toString();
  }

  /** Collects properties; reusable after {@link #build()}. */
  public static final class Builder {
    private String[] keys = new String[8];
    private PropertyKind[] kinds = new PropertyKind[8];
    private String[] strings = new String[8];
    private double[] numbers = new double[8];
    private int size;

    public Builder string(String key, String value) {
      return add(key, PropertyKind.STRING, value, 0);
    }

    public Builder number(String key, double value) {
      return add(key, PropertyKind.NUMBER, null, value);
    }

    public Builder bool(String key, boolean value) {
      return add(key, PropertyKind.BOOLEAN, value ? "true" : "false", 0);
    }

    public int size() {
      return size;
    }

    /** Whether {@code key} was already added. */
    public boolean contains(String key) {
      for (int i = 0; i < size; i++) {
        if (keys[i].equals(key)) {
          return true;
        }
      }
      return false;
    }

    private Builder add(String key, PropertyKind kind, String string, double number) {
      if (size == keys.length) {
        int n = size * 2;
        keys = Arrays.copyOf(keys, n);
        kinds = Arrays.copyOf(kinds, n);
        strings = Arrays.copyOf(strings, n);
        numbers = Arrays.copyOf(numbers, n);
      }
      keys[size] = key;
      kinds[size] = kind;
      strings[size] = string;
      numbers[size] = number;
      size++;
      return this;
    }

    public Builder clear() {
      Arrays.fill(keys, 0, size, null);
      Arrays.fill(strings, 0, size, null);
      size = 0;
      return this;
    }

    /** The properties collected so far; the builder is cleared for the next event. */
    public EventProperties build() {
      if (size == 0) {
        return EMPTY;
      }
      EventProperties built =
          new EventProperties(
              Arrays.copyOf(keys, size),
              Arrays.copyOf(kinds, size),
              Arrays.copyOf(strings, size),
              Arrays.copyOf(numbers, size));
      clear();
      return built;
    }
  }
}
