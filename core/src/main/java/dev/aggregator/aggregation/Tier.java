package dev.aggregator.aggregation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One rollup resolution, how long it is kept, and how much it keeps.
 *
 * @param resolution the bucket width
 * @param retention how far behind now its buckets are kept; {@code null} keeps them forever
 * @param totalsOnly whether it keeps only each event type's exact totals: no dimensions, no
 *     sketches. The default 1 s tier does: kept per dimension combination with sketches, it would
 *     hold a row per series per second (~6 GB per 6 h at 400k events/s of the standard workload).
 */
public record Tier(Granularity resolution, Duration retention, boolean totalsOnly) {

  /** 1 s (totals) kept 6 h, 1 m kept 30 d, 1 h and 1 d kept forever (docs/DESIGN.md §4). */
  public static final List<Tier> DEFAULTS = parseList("1s:6h:totals,1m:30d,1h,1d");

  public Tier {
    if (retention != null && (retention.isNegative() || retention.isZero())) {
      throw new IllegalArgumentException(
          "retention of the " + resolution.label() + " tier must be positive");
    }
    if (resolution == Granularity.W1) {
      throw new IllegalArgumentException("a tier may be at most 1d wide");
    }
  }

  public Tier(Granularity resolution, Duration retention) {
    this(resolution, retention, false);
  }

  public boolean keepsForever() {
    return retention == null;
  }

  /**
   * The start of the oldest bucket this tier holds at {@code nowMillis}: events before it are not
   * added, buckets before it are dropped. {@link Long#MIN_VALUE} when kept forever.
   */
  public long cutoff(long nowMillis) {
    return retention == null
        ? Long.MIN_VALUE
        : resolution.bucketStart(nowMillis - retention.toMillis());
  }

  /** How the tier reads in configuration and errors: {@code 1m kept 30d}. */
  public String describe() {
    return resolution.label()
        + (totalsOnly ? " totals" : "")
        + (keepsForever() ? " kept forever" : " kept " + Durations.format(retention));
  }

  /**
   * Parses {@code 1s:6h:totals,1m:30d,1h,1d}: a resolution, an optional retention (no retention or
   * {@code forever} keeps it forever) and an optional {@code totals} (only each event type's exact
   * totals: no dimensions, no sketches).
   */
  public static List<Tier> parseList(String spec) {
    List<Tier> tiers = new ArrayList<>();
    for (String part : spec.split(",")) {
      String[] fields = part.trim().split(":", -1);
      Granularity g = Granularity.parse(fields[0].trim());
      if (g == null) {
        throw new IllegalArgumentException(
            "unknown tier resolution '"
                + fields[0].trim()
                + "'; use one of "
                + Granularity.labels());
      }
      String retentionText = fields.length > 1 ? fields[1].trim() : "";
      Duration retention =
          retentionText.isEmpty() || retentionText.equals("forever")
              ? null
              : Durations.parse(retentionText);
      boolean totals = false;
      if (fields.length > 2) {
        if (!fields[2].trim().equals("totals") || fields.length > 3) {
          throw new IllegalArgumentException(
              "tier '" + part.trim() + "': after the retention only 'totals' may follow");
        }
        totals = true;
      }
      tiers.add(new Tier(g, retention, totals));
    }
    tiers.sort(Comparator.comparingLong(t -> t.resolution().millis()));
    for (int i = 1; i < tiers.size(); i++) {
      if (tiers.get(i).resolution() == tiers.get(i - 1).resolution()) {
        throw new IllegalArgumentException(
            "tier " + tiers.get(i).resolution().label() + " given twice");
      }
    }
    if (tiers.isEmpty()) {
      throw new IllegalArgumentException("at least one tier is needed");
    }
    return List.copyOf(tiers);
  }

  /**
   * Buckets per store partition, by resolution: a partition is the unit retention drops at once, so
   * it spans a small part of a tier's retention (1 h of 1 s buckets, a day of minutes). Every store
   * (RocksDB, PostgreSQL) of the same tiers uses these.
   */
  public static long[] bucketsPerPartition(List<Tier> tiers) {
    long[] buckets = new long[tiers.size()];
    for (int i = 0; i < buckets.length; i++) {
      long res = tiers.get(i).resolution().millis();
      long span =
          res < 60_000L
              ? 3_600_000L
              : res < 3_600_000L
                  ? 86_400_000L
                  : res < 86_400_000L ? 30 * 86_400_000L : 366 * 86_400_000L;
      buckets[i] = Math.max(1, span / res);
    }
    return buckets;
  }
}
