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
  static List<Answer> of(RollupSource rollups, boolean sketches, long now) {
    return of(rollups, sketches, now, "page_view");
  }

  /** As above, of event type {@code type}. */
  static List<Answer> of(RollupSource rollups, boolean sketches, long now, String type) {
    QueryEngine q = new QueryEngine(rollups, () -> now);
    List<Map<String, List<String>>> filters =
        List.of(
            Map.of(),
            Map.of("country", List.of("US", "DE")),
            Map.of("country", List.of("US"), "device", List.of("mobile")));
    List<List<String>> groupings =
        List.of(List.of(), List.of("device"), List.of("country", "device"));
    List<Answer> out = new ArrayList<>();
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
              out.add(Answer.of(query + " " + q.run(query).series()));
            } catch (InvalidQueryException refused) {
              out.add(Answer.of(query + " refused: " + refused.getMessage()));
            }
          }
        }
      }
    }
    return out;
  }

  /**
   * One answer, equal to another when its text is the same but for values, and the values agree to
   * 1e-9 relative: rows merged in another order (a checkpoint merges a row's stored and in-memory
   * deltas) differ in the last bits, floating-point addition not being associative. Rounding both
   * to some digits is not enough: an average of exactly x.xxxxxx5 rounds either way (it did).
   *
   * @param shape the text with each value replaced by {@code #}
   */
  record Answer(String shape, double[] values) {
    static Answer of(String text) {
      java.util.regex.Matcher m = VALUE.matcher(text);
      List<Double> values = new ArrayList<>();
      while (m.find()) {
        values.add(Double.parseDouble(m.group(1)));
      }
      return new Answer(
          VALUE.matcher(text).replaceAll("value=#"),
          values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Answer other)
          || !shape.equals(other.shape)
          || values.length != other.values.length) {
        return false;
      }
      for (int i = 0; i < values.length; i++) {
        double a = values[i];
        double b = other.values[i];
        if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.max(Math.abs(a), Math.abs(b)))) {
          return false;
        }
      }
      return true;
    }

    @Override
    public int hashCode() {
      return shape.hashCode(); // equal answers have equal shapes
    }

    @Override
    public String toString() {
      StringBuilder out = new StringBuilder();
      String[] parts = shape.split("value=#", -1);
      for (int i = 0; i < parts.length; i++) {
        out.append(parts[i]);
        if (i < values.length) {
          out.append("value=").append(values[i]);
        }
      }
      return out.toString();
    }
  }
}
