package dev.aggregator.aggregation;

import java.time.Duration;

/**
 * Parses and prints the short durations of the API and configuration: {@code 500ms, 30s, 5m, 6h,
 * 30d, 1w}.
 */
public final class Durations {
  private Durations() {}

  /**
   * @throws IllegalArgumentException with a sentence saying what is accepted
   */
  public static Duration parse(String text) {
    String s = text.trim();
    int split = 0;
    while (split < s.length() && Character.isDigit(s.charAt(split))) {
      split++;
    }
    if (split == 0 || split == s.length()) {
      throw bad(text);
    }
    long n;
    try {
      n = Long.parseLong(s.substring(0, split));
    } catch (NumberFormatException e) {
      throw bad(text);
    }
    long unit =
        switch (s.substring(split)) {
          case "ms" -> 1L;
          case "s" -> 1_000L;
          case "m" -> 60_000L;
          case "h" -> 3_600_000L;
          case "d" -> 86_400_000L;
          case "w" -> 604_800_000L;
          default -> throw bad(text);
        };
    // Bounded so that any time arithmetic with it (now - d, bucket counts) cannot overflow.
    if (n > MAX_MILLIS / unit) {
      throw new IllegalArgumentException(
          "'" + text + "' is longer than 10,000 years, the longest duration accepted");
    }
    return Duration.ofMillis(n * unit);
  }

  /** The longest duration {@link #parse} accepts: 10,000 years of 365.25 days. */
  public static final long MAX_MILLIS = 10_000L * 36_525L * 86_400_000L / 100;

  /** The shortest exact form: {@code 90s} stays {@code 90s}, {@code 6h} prints {@code 6h}. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms == 0) {
      return "0s";
    }
    long[] units = {604_800_000L, 86_400_000L, 3_600_000L, 60_000L, 1_000L};
    String[] names = {"w", "d", "h", "m", "s"};
    for (int i = 0; i < units.length; i++) {
      if (ms != 0 && ms % units[i] == 0) {
        return ms / units[i] + names[i];
      }
    }
    return ms + "ms";
  }

  private static IllegalArgumentException bad(String text) {
    return new IllegalArgumentException(
        "'" + text + "' is not a duration; use a number and a unit: ms, s, m, h, d or w (e.g. 5m)");
  }
}
