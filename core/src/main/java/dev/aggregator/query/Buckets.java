package dev.aggregator.query;

import dev.aggregator.aggregation.Granularity;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The output buckets of a query: their starts and ends in UTC epoch ms.
 *
 * <p>Buckets align to the UTC epoch (weeks to Monday), except days and weeks of a query with a time
 * zone, which start at local midnight: a day in {@code Europe/Berlin} is 23 or 25 hours long on the
 * days daylight saving time starts or ends, and starts at 22:00 or 23:00 UTC.
 */
final class Buckets {
  final long[] starts;
  final long[] ends;

  private Buckets(long[] starts, long[] ends) {
    this.starts = starts;
    this.ends = ends;
  }

  static Buckets of(Query q) {
    Granularity g = q.granularity();
    if (q.zone() != null && (g == Granularity.D1 || g == Granularity.W1)) {
      return zoned(q.start(), q.end(), g, q.zone());
    }
    int n = (int) q.bucketCount();
    long[] starts = new long[n];
    long[] ends = new long[n];
    long first = q.firstBucket();
    for (int i = 0; i < n; i++) {
      starts[i] = first + i * g.millis();
      ends[i] = starts[i] + g.millis();
    }
    return new Buckets(starts, ends);
  }

  private static Buckets zoned(long start, long end, Granularity g, ZoneId zone) {
    LocalDate day = Instant.ofEpochMilli(start).atZone(zone).toLocalDate();
    if (g == Granularity.W1) {
      day = day.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
    }
    int step = g == Granularity.W1 ? 7 : 1;
    long[] starts = new long[16];
    long[] ends = new long[16];
    int n = 0;
    long s = day.atStartOfDay(zone).toInstant().toEpochMilli();
    while (s < end) {
      LocalDate next = day.plusDays(step);
      long e = next.atStartOfDay(zone).toInstant().toEpochMilli();
      if (n == starts.length) {
        starts = Arrays.copyOf(starts, n * 2);
        ends = Arrays.copyOf(ends, n * 2);
      }
      starts[n] = s;
      ends[n] = e;
      n++;
      day = next;
      s = e;
    }
    return new Buckets(Arrays.copyOf(starts, n), Arrays.copyOf(ends, n));
  }

  int size() {
    return starts.length;
  }

  /** The index of the bucket holding {@code t}, or -1. */
  int indexOf(long t) {
    int i = Arrays.binarySearch(starts, t);
    if (i < 0) {
      i = -i - 2;
    }
    return i >= 0 && t < ends[i] ? i : -1;
  }

  /**
   * The points of one series from its per-bucket values (null: nothing in that bucket), with {@code
   * fill} applied to the empty buckets. Shared by both ways of answering, so they agree.
   */
  List<QueryResult.Point> points(Double[] values, Fill fill) {
    List<QueryResult.Point> points = new ArrayList<>(Math.min(values.length, 4096));
    Double previous = null;
    for (int i = 0; i < values.length; i++) {
      Double value = values[i];
      if (value != null) {
        previous = value;
      } else {
        value =
            switch (fill) {
              case NONE, NULL -> null;
              case ZERO -> 0.0;
              case PREVIOUS -> previous;
            };
        if (value == null && fill != Fill.NULL) {
          continue;
        }
      }
      points.add(new QueryResult.Point(starts[i], value));
    }
    return Collections.unmodifiableList(points);
  }
}
