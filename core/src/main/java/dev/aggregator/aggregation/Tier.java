package dev.aggregator.aggregation;

import java.time.Duration;

/**
 * One rollup resolution and how long it is kept.
 *
 * @param resolution the bucket width
 * @param retention how far behind now its buckets are kept; {@code null} keeps them forever
 */
public record Tier(Granularity resolution, Duration retention) {

  /** 1 s kept 6 h, 1 m kept 30 d, 1 h and 1 d kept forever (DESIGN §4). */
  public static final java.util.List<Tier> DEFAULTS =
      java.util.List.of(
          new Tier(Granularity.S1, Duration.ofHours(6)),
          new Tier(Granularity.M1, Duration.ofDays(30)),
          new Tier(Granularity.H1, null),
          new Tier(Granularity.D1, null));

  public Tier {
    if (retention != null && (retention.isNegative() || retention.isZero())) {
      throw new IllegalArgumentException(
          "retention of the " + resolution.label() + " tier must be positive");
    }
    if (resolution == Granularity.W1) {
      throw new IllegalArgumentException("a tier may be at most 1d wide");
    }
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

  /**
   * Parses {@code 1s:6h,1m:30d,1h,1d}: resolution, then an optional retention (s, m, h, d); no
   * retention means forever.
   */
  public static java.util.List<Tier> parseList(String spec) {
    java.util.List<Tier> tiers = new java.util.ArrayList<>();
    for (String part : spec.split(",")) {
      String[] kv = part.trim().split(":", 2);
      Granularity g = Granularity.parse(kv[0].trim());
      if (g == null) {
        throw new IllegalArgumentException(
            "unknown tier resolution '" + kv[0].trim() + "'; use one of " + Granularity.labels());
      }
      Duration retention =
          kv.length == 1 || kv[1].isBlank() || kv[1].trim().equals("forever")
              ? null
              : Durations.parse(kv[1].trim());
      tiers.add(new Tier(g, retention));
    }
    tiers.sort(java.util.Comparator.comparingLong(t -> t.resolution().millis()));
    for (int i = 1; i < tiers.size(); i++) {
      if (tiers.get(i).resolution() == tiers.get(i - 1).resolution()) {
        throw new IllegalArgumentException(
            "tier " + tiers.get(i).resolution().label() + " given twice");
      }
    }
    if (tiers.isEmpty()) {
      throw new IllegalArgumentException("at least one tier is needed");
    }
    return java.util.List.copyOf(tiers);
  }
}
