package dev.aggregator.cluster;

import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.RollupSource;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.Fill;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The answers cluster tests compare: ~190 queries over the standard workload's last day. */
final class QueryAnswers {
  private static final Pattern VALUE = Pattern.compile("value=(-?[0-9]+\\.[0-9E-]+)");

  private QueryAnswers() {}

  /**
   * Exact functions (and, with {@code sketches}, percentiles and distinct users: equal only where
   * both read the same stored rows — KLL compaction flips coins as rows merge), plain, filtered by
   * one and two keys, grouped by one and two, in three tiers, "now" being {@code now}.
   */
  static List<String> of(RollupSource rollups, boolean sketches, long now) {
    return of(rollups, sketches, now, "page_view");
  }

  /** As above, of event type {@code type}. */
  static List<String> of(RollupSource rollups, boolean sketches, long now, String type) {
    QueryEngine q = new QueryEngine(rollups, () -> now);
    List<Map<String, List<String>>> filters =
        List.of(
            Map.of(),
            Map.of("country", List.of("US", "DE")),
            Map.of("country", List.of("US"), "device", List.of("mobile")));
    List<List<String>> groupings =
        List.of(List.of(), List.of("device"), List.of("country", "device"));
    List<String> out = new ArrayList<>();
    for (Granularity g : List.of(Granularity.M1, Granularity.H1, Granularity.D1)) {
      for (AggregateFunction f : AggregateFunction.values()) {
        if (f.needsSketch() && !sketches) {
          continue;
        }
        String metric = f.appliesToCount() ? type : type + "_value";
        for (Map<String, List<String>> filter : filters) {
          for (List<String> groupBy : groupings) {
            Query query =
                new Query(
                    metric, now - 86_400_000L, now, g, f, Fill.NONE, filter, groupBy, 5, null);
            try {
              out.add(query + " " + roundSums(q.run(query).series().toString()));
            } catch (InvalidQueryException refused) {
              out.add(query + " refused: " + refused.getMessage());
            }
          }
        }
      }
    }
    return out;
  }

  /**
   * Values to 12 significant digits: rows merged in another order (a checkpoint merges a row's
   * stored and in-memory deltas) may differ in the last bits, floating-point addition not being
   * associative.
   */
  private static String roundSums(String answer) {
    return VALUE
        .matcher(answer)
        .replaceAll(m -> "value=" + String.format("%.12g", Double.parseDouble(m.group(1))));
  }
}
