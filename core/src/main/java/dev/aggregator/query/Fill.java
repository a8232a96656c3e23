package dev.aggregator.query;

import java.util.Locale;

/** What an output bucket without data shows. */
public enum Fill {
  /** Left out (the default, as in the seed). */
  NONE,
  /** Present with value 0. */
  ZERO,
  /** Present with value {@code null}, so charts draw a gap. */
  NULL,
  /** Present with the last value before it (left out before the first value). */
  PREVIOUS;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Fill parse(String label) {
    for (Fill f : values()) {
      if (f.label().equals(label)) {
        return f;
      }
    }
    return null;
  }
}
