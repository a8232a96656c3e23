package dev.aggregator.aggregation;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * What the catalog keeps as rollup series, and the bounds that keep its memory bounded under a
 * cardinality explosion (a client that sends a user id or a URL with query string as a dimension).
 *
 * <p>Every event updates its type's total and one <em>marginal</em> series per dimension value it
 * carries; {@code combinations} adds a series per combination of values of the declared keys (for
 * multi-key dashboards). Whatever a bound leaves out of the rollups is still exact through the raw
 * event store.
 *
 * @param maxEventTypes event types at most; events of further types fail (dead-lettered)
 * @param maxDimensions dimension keys per event type (at most 64); further keys are not dimensions
 * @param maxDimensionValues distinct values per dimension of an event type kept as marginal series;
 *     further values are not in the rollups
 * @param maxSeries series per declared combination of an event type; further combinations are not
 *     in the rollups
 * @param maxFields numeric fields per event type; further fields are not summarized
 * @param maxValueBytes bytes (UTF-8) of the values kept per dimension of an event type, a second
 *     bound besides {@code maxDimensionValues}
 * @param maxCatalogBytes estimated memory of every dimension key, field name and value kept, across
 *     event types: the bound a client sending ever new keys and values meets; past it, new ones are
 *     left out of the rollups as if capped (health says degraded)
 * @param combinations the declared combinations: each a set of two or more dimension keys
 */
public record CatalogLimits(
    int maxEventTypes,
    int maxDimensions,
    int maxDimensionValues,
    int maxSeries,
    int maxFields,
    long maxValueBytes,
    long maxCatalogBytes,
    List<List<String>> combinations) {

  /** Default bound on value bytes per dimension: 100,000 URLs of 80 characters. */
  public static final long DEFAULT_VALUE_BYTES = 8L << 20;

  /** Default bound on the whole catalog: ~1.5 M values of 40 characters. */
  public static final long DEFAULT_CATALOG_BYTES = 256L << 20;

  public static CatalogLimits defaults() {
    // 100,000 values per dimension: the marginal series of the standard workload (5 dimensions,
    // 278 values per type) are far fewer rows per checkpoint than the 1,000 full combinations of
    // the previous design, and a URL dimension keeps its first 100,000 pages in the rollups.
    return new CatalogLimits(10_000, 32, 100_000, 100_000, 256);
  }

  /** Limits with the default value-byte bound and no declared combinations. */
  public CatalogLimits(
      int maxEventTypes, int maxDimensions, int maxDimensionValues, int maxSeries, int maxFields) {
    this(
        maxEventTypes,
        maxDimensions,
        maxDimensionValues,
        maxSeries,
        maxFields,
        DEFAULT_VALUE_BYTES,
        DEFAULT_CATALOG_BYTES,
        List.of());
  }

  public CatalogLimits {
    if (maxEventTypes < 1
        || maxDimensions < 0
        || maxDimensions > 64 // a shape is a 64-bit mask of dimensions
        || maxDimensionValues < 1
        || maxSeries < 1
        || maxFields < 0
        || maxValueBytes < 1
        || maxCatalogBytes < 1) {
      throw new IllegalArgumentException("catalog limits must be positive");
    }
    List<List<String>> normalized = new ArrayList<>();
    for (List<String> c : combinations) {
      List<String> keys = List.copyOf(new LinkedHashSet<>(c));
      if (keys.size() < 2 || keys.size() > 8) {
        throw new IllegalArgumentException(
            "a declared combination names 2 to 8 distinct dimensions: " + String.join("+", c));
      }
      if (normalized.stream().noneMatch(n -> n.size() == keys.size() && n.containsAll(keys))) {
        normalized.add(keys);
      }
    }
    combinations = List.copyOf(normalized);
  }

  /** These limits with {@code combinations} declared. */
  public CatalogLimits withCombinations(List<List<String>> combinations) {
    return new CatalogLimits(
        maxEventTypes,
        maxDimensions,
        maxDimensionValues,
        maxSeries,
        maxFields,
        maxValueBytes,
        maxCatalogBytes,
        combinations);
  }

  /**
   * Parses a {@code rollups} setting: combinations separated by commas, keys within one by {@code
   * +}, e.g. {@code country+device,page+country}; blank for none.
   */
  public static List<List<String>> parseCombinations(String text) {
    List<List<String>> out = new ArrayList<>();
    for (String part : text.split(",")) {
      String p = part.strip();
      if (p.isEmpty()) {
        continue;
      }
      List<String> keys = new ArrayList<>();
      for (String k : p.split("\\+")) {
        if (k.isBlank()) {
          throw new IllegalArgumentException("empty dimension name in combination " + p);
        }
        keys.add(k.strip());
      }
      out.add(keys);
    }
    return out;
  }
}
