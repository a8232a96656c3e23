package dev.aggregator.event;

import java.time.Instant;

/**
 * Parses and formats RFC 3339 timestamps without allocating.
 *
 * <p>{@code OffsetDateTime.parse} costs ~1 µs and several objects per call, as much as decoding the
 * whole rest of an event; this parser reads the fixed layout directly. It accepts exactly RFC
 * 3339's {@code date-time}: {@code 2024-01-15T10:30:00Z}, an optional fraction of any length
 * (truncated to milliseconds), {@code Z} or a {@code ±hh:mm} offset, and {@code t}, {@code z} or a
 * space as RFC 3339 allows.
 */
public final class Timestamps {
  /** Returned by {@link #parseRfc3339} for text that is not an RFC 3339 date-time. */
  public static final long INVALID = Long.MIN_VALUE;

  private static final int[] DAYS_IN_MONTH = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  private Timestamps() {}

  /** UTC epoch milliseconds of an RFC 3339 date-time, or {@link #INVALID}. */
  public static long parseRfc3339(CharSequence s) {
    int n = s.length();
    if (n < 20) {
      return INVALID;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 2);
    int day = digits(s, 8, 2);
    int hour = digits(s, 11, 2);
    int minute = digits(s, 14, 2);
    int second = digits(s, 17, 2);
    char t = s.charAt(10);
    if (year < 0
        || month < 1
        || month > 12
        || day < 1
        || day > daysInMonth(year, month)
        || hour > 23
        || minute > 59
        || second > 60 // RFC 3339 allows a leap second; it lands on the next minute's first
        || s.charAt(4) != '-'
        || s.charAt(7) != '-'
        || (t != 'T' && t != 't' && t != ' ')
        || s.charAt(13) != ':'
        || s.charAt(16) != ':'
        || hour < 0
        || minute < 0
        || second < 0) {
      return INVALID;
    }
    int i = 19;
    int millis = 0;
    if (s.charAt(i) == '.') {
      i++;
      int start = i;
      int scale = 100;
      while (i < n && isDigit(s.charAt(i))) {
        millis += (s.charAt(i) - '0') * scale;
        scale /= 10;
        i++;
      }
      if (i == start) {
        return INVALID;
      }
    }
    if (i >= n) {
      return INVALID;
    }
    int offsetSeconds;
    char z = s.charAt(i);
    if (z == 'Z' || z == 'z') {
      offsetSeconds = 0;
      i++;
    } else if ((z == '+' || z == '-') && i + 6 == n && s.charAt(i + 3) == ':') {
      int oh = digits(s, i + 1, 2);
      int om = digits(s, i + 4, 2);
      if (oh < 0 || om < 0 || oh > 23 || om > 59) {
        return INVALID;
      }
      offsetSeconds = (oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
      i += 6;
    } else {
      return INVALID;
    }
    if (i != n) {
      return INVALID;
    }
    long days = daysFromCivil(year, month, day);
    long seconds = days * 86_400L + hour * 3600L + minute * 60L + second - offsetSeconds;
    return seconds * 1000L + millis;
  }

  /** Formats UTC epoch milliseconds as RFC 3339 in UTC, e.g. {@code 2024-01-15T10:30:00Z}. */
  public static String format(long epochMillis) {
    return Instant.ofEpochMilli(epochMillis).toString();
  }

  private static int daysInMonth(int year, int month) {
    if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))) {
      return 29;
    }
    return DAYS_IN_MONTH[month - 1];
  }

  /** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
  static long daysFromCivil(int year, int month, int day) {
    int y = month <= 2 ? year - 1 : year;
    int era = Math.floorDiv(y, 400);
    int yoe = y - era * 400;
    int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146_097L + doe - 719_468L;
  }

  private static int digits(CharSequence s, int from, int count) {
    int value = 0;
    for (int i = from; i < from + count; i++) {
      char c = s.charAt(i);
      if (!isDigit(c)) {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
