package dev.aggregator.live;

import dev.aggregator.query.QueryResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Remembers the points of a query's answer a client has been sent, and tells which points of a
 * newer answer differ: buckets that are new or whose value changed — a late event's correction of
 * an old bucket included. A client that applies each difference by timestamp (per series) to what
 * it holds has the newer answer. Buckets that leave a sliding range are not reported: the client
 * drops what falls before its range.
 *
 * <p>Not thread-safe: one subscription uses it from one task at a time.
 */
public final class AnswerDiff {
  private final Map<Map<String, String>, Map<Long, Double>> sent = new HashMap<>();

  /** Records {@code answer} as sent in full (a snapshot). */
  public void sent(QueryResult answer) {
    sent.clear();
    changes(answer);
  }

  /**
   * The answer's points that differ from those sent, series by series (series with none left out),
   * and records them as sent.
   */
  public QueryResult changes(QueryResult answer) {
    List<QueryResult.Series> out = new ArrayList<>();
    for (QueryResult.Series s : answer.series()) {
      Map<Long, Double> known = sent.computeIfAbsent(s.dimensions(), k -> new HashMap<>());
      List<QueryResult.Point> changed = new ArrayList<>();
      for (QueryResult.Point p : s.data()) {
        if (!known.containsKey(p.timestamp())
            || !Objects.equals(known.get(p.timestamp()), p.value())) {
          changed.add(p);
          known.put(p.timestamp(), p.value());
        }
      }
      long first = answer.query().firstBucket();
      known.keySet().removeIf(t -> t < first); // slid out of the range: forget it
      if (!changed.isEmpty()) {
        out.add(new QueryResult.Series(s.dimensions(), changed));
      }
    }
    return new QueryResult(answer.query(), out, answer.warnings(), answer.source());
  }

  /** Whether a difference holds no point. */
  public static boolean isEmpty(QueryResult difference) {
    return difference.series().isEmpty();
  }
}
