package dev.aggregator.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aggregator.aggregation.UserSketch;
import dev.aggregator.aggregation.ValueSketch;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Holds the server's answers to the {@link QueryModel}'s: every point of every series, the ranking
 * of grouped series and the {@code __other__} series, with got/want messages naming the query.
 *
 * <p>count, min and max must be exact; sum and avg within {@value #REL_SUM} relative (the summation
 * order differs); a percentile must be one of its bucket's values, its true rank within twice
 * {@link ValueSketch#normalizedRankError()} of the one asked for (exact up to {@value #EXACT}
 * values); unique_users within three {@link UserSketch#relativeStandardError()}s of the distinct
 * count (exact up to {@value #EXACT} users). Grouped: the kept series must be groups the exact
 * totals allow at the top (ties, and totals within the sketch error, either way), in an order the
 * totals allow, followed by one {@code __other__} series, the rest merged: the groups past the
 * limit and any group whose every dimension is {@code __other__} (capped values, overflow).
 *
 * <p>Thread-safe.
 */
final class AnswerCheck {
  static final double REL_SUM = 1e-9;
  static final double RANK_ERROR = 2 * ValueSketch.normalizedRankError();
  static final double USER_ERROR = 3 * UserSketch.relativeStandardError();
  static final int EXACT = 32;
  private static final int MAX_REPORTED = 40;
  private static final int MAX_REPORTED_PER_QUERY = 2;

  private final QueryModel model;
  private final boolean warningsExpected;
  private final List<String> problems = new ArrayList<>();
  private final Map<String, Integer> problemsByQuery = new HashMap<>();
  private int problemCount;
  private final AtomicLong checked = new AtomicLong();
  private final Map<String, double[]> worstSketchError = new LinkedHashMap<>();

  /**
   * @param warningsExpected whether answers may carry warnings (caps reached); when not, a warning
   *     is a problem
   */
  AnswerCheck(QueryModel model, boolean warningsExpected) {
    this.model = model;
    this.warningsExpected = warningsExpected;
  }

  /**
   * A query as sent: the model's spec, {@code limit} (0: the default) and {@code fill} (null: the
   * default).
   */
  record Query(QueryModel.Spec spec, int limit, String fill) {
    /** The request path, start and end in epoch ms. */
    String url() {
      StringBuilder u = new StringBuilder("/api/analytics/query?metric=").append(spec.metric());
      param(u, "function", spec.function());
      param(u, "start", Long.toString(spec.start()));
      param(u, "end", Long.toString(spec.end()));
      param(u, "granularity", spec.granularity());
      if (spec.zone() != null) {
        param(u, "tz", spec.zone().getId());
      }
      spec.filters().forEach((k, v) -> param(u, "filter", k + ":" + String.join("|", v)));
      if (!spec.groupBy().isEmpty()) {
        param(u, "groupBy", String.join(",", spec.groupBy()));
      }
      if (limit > 0) {
        param(u, "limit", Integer.toString(limit));
      }
      if (fill != null) {
        param(u, "fill", fill);
      }
      return u.toString();
    }

    private static void param(StringBuilder u, String name, String value) {
      u.append('&')
          .append(name)
          .append('=')
          .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
    }
  }

  /** Checks the server's reply to {@code q}; what disagrees is kept in {@link #problems()}. */
  void check(Query q, TestClient.Reply reply) {
    checked.incrementAndGet();
    String url = q.url();
    if (reply.status() != 200) {
      problem(url, "status " + reply.status() + ": " + reply.body());
      return;
    }
    JsonNode json = reply.json();
    if (json.has("warnings") && !warningsExpected) {
      problem(url, "warnings (nothing should fold at these caps): " + json.get("warnings"));
    }
    QueryModel.Spec spec = q.spec();
    QueryModel.Answer want = model.answer(spec);
    if (spec.groupBy().isEmpty()) {
      QueryModel.Acc[] only =
          want.groups().isEmpty()
              ? new QueryModel.Acc[want.buckets()]
              : want.groups().values().iterator().next();
      compareSeries(url, "", json.get("data"), want.bounds(), only, spec, q.fill());
      return;
    }
    compareGroups(url, json.get("series"), want, spec, q.limit() > 0 ? q.limit() : 10, q.fill());
  }

  private void compareGroups(
      String url,
      JsonNode series,
      QueryModel.Answer want,
      QueryModel.Spec spec,
      int limit,
      String fill) {
    Map<List<String>, QueryModel.Acc[]> groups = want.groups();
    // A group whose every dimension is __other__ (capped values, the overflow series) is not
    // ranked: it joins the groups past the limit in the one __other__ series.
    Map<List<String>, QueryModel.Acc[]> ranked = new LinkedHashMap<>();
    groups.forEach(
        (g, accs) -> {
          if (!g.stream().allMatch(QueryModel.OTHER::equals)) {
            ranked.put(g, accs);
          }
        });
    int kept = Math.min(limit, ranked.size());
    boolean other = ranked.size() > limit || ranked.size() < groups.size();
    if (series == null || series.size() != kept + (other ? 1 : 0)) {
      problem(
          url,
          "got "
              + (series == null ? "no series" : series.size() + " series")
              + ", want "
              + (kept + (other ? 1 : 0))
              + " ("
              + ranked.size()
              + " ranked groups, "
              + (groups.size() - ranked.size())
              + " all __other__, limit "
              + limit
              + ")");
      return;
    }
    Map<List<String>, double[]> totals = new HashMap<>();
    ranked.forEach((g, accs) -> totals.put(g, allowed(spec, merge(accs))));
    List<List<String>> top = new ArrayList<>();
    for (int i = 0; i < kept; i++) {
      JsonNode s = series.get(i);
      List<String> dims = dimensions(s.get("dimensions"), spec.groupBy());
      if (!ranked.containsKey(dims) || top.contains(dims)) {
        problem(
            url,
            "series "
                + i
                + " "
                + dims
                + " is "
                + (top.contains(dims) ? "repeated" : "not a ranked group with data"));
        return;
      }
      if (!top.isEmpty()) {
        List<String> previous = top.get(top.size() - 1);
        if (totals.get(previous)[1] < totals.get(dims)[0]) {
          problem(
              url,
              "series "
                  + previous
                  + " (total at most "
                  + totals.get(previous)[1]
                  + ") ranks above "
                  + dims
                  + " (total at least "
                  + totals.get(dims)[0]
                  + ")");
        }
      }
      top.add(dims);
      compareSeries(
          url, " series " + dims, s.get("data"), want.bounds(), groups.get(dims), spec, fill);
    }
    List<QueryModel.Acc[]> rest = new ArrayList<>();
    for (Map.Entry<List<String>, QueryModel.Acc[]> g : groups.entrySet()) {
      if (top.contains(g.getKey())) {
        continue;
      }
      rest.add(g.getValue());
      for (List<String> kept1 : top) {
        if (ranked.containsKey(g.getKey()) && totals.get(kept1)[1] < totals.get(g.getKey())[0]) {
          problem(
              url,
              "kept "
                  + kept1
                  + " (total at most "
                  + totals.get(kept1)[1]
                  + ") but not "
                  + g.getKey()
                  + " (total at least "
                  + totals.get(g.getKey())[0]
                  + ")");
          break;
        }
      }
    }
    if (other) {
      JsonNode s = series.get(kept);
      List<String> dims = dimensions(s.get("dimensions"), spec.groupBy());
      if (!dims.stream().allMatch(QueryModel.OTHER::equals)) {
        problem(url, "last series " + dims + ", want every dimension __other__");
      }
      QueryModel.Acc[] merged = new QueryModel.Acc[want.buckets()];
      for (int b = 0; b < merged.length; b++) {
        List<QueryModel.Acc> parts = new ArrayList<>();
        for (QueryModel.Acc[] accs : rest) {
          if (accs[b] != null) {
            parts.add(accs[b]);
          }
        }
        merged[b] = parts.isEmpty() ? null : merge(parts.toArray(QueryModel.Acc[]::new));
      }
      compareSeries(url, " series __other__", s.get("data"), want.bounds(), merged, spec, fill);
    }
  }

  private static List<String> dimensions(JsonNode dims, List<String> keys) {
    List<String> out = new ArrayList<>();
    for (String k : keys) {
      JsonNode v = dims == null ? null : dims.get(k);
      out.add(v == null || v.isNull() ? null : v.asText());
    }
    return out;
  }

  private static QueryModel.Acc merge(QueryModel.Acc[] accs) {
    QueryModel.Acc total = new QueryModel.Acc();
    for (QueryModel.Acc a : accs) {
      if (a != null) {
        total.addAll(a);
      }
    }
    return total;
  }

  private double[] allowed(QueryModel.Spec spec, QueryModel.Acc a) {
    return QueryModel.allowed(
        spec.function(), a, spec.field() == null, REL_SUM, RANK_ERROR, EXACT, USER_ERROR, EXACT);
  }

  /** One series' points against the model's buckets. */
  private void compareSeries(
      String url,
      String which,
      JsonNode data,
      long[] bounds,
      QueryModel.Acc[] accs,
      QueryModel.Spec spec,
      String fill) {
    if (data == null || !data.isArray()) {
      problem(url, which + ": no data array");
      return;
    }
    Map<Long, JsonNode> got = new LinkedHashMap<>();
    long last = Long.MIN_VALUE;
    for (JsonNode p : data) {
      long ts = Instant.parse(p.get("timestamp").asText()).toEpochMilli();
      if (ts <= last) {
        problem(url, which + ": timestamps not ascending at " + p);
        return;
      }
      last = ts;
      got.put(ts, p.get("value"));
    }
    Set<Long> starts = new HashSet<>();
    Double previous = null;
    for (int b = 0; b < accs.length; b++) {
      long start = bounds[b];
      starts.add(start);
      JsonNode value = got.get(start);
      String at = which + " bucket " + Instant.ofEpochMilli(start) + " " + spec.function();
      if (accs[b] == null) {
        String mode = fill == null ? "none" : fill;
        boolean wantPoint =
            mode.equals("zero")
                || mode.equals("null")
                || (mode.equals("previous") && previous != null);
        if (!wantPoint) {
          if (value != null) {
            problem(url, at + ": got " + value + ", want no point (no events)");
          }
          continue;
        }
        if (value == null) {
          problem(url, at + ": no point, want one (fill=" + mode + ")");
          continue;
        }
        boolean ok =
            switch (mode) {
              case "zero" -> value.isNumber() && value.asDouble() == 0;
              case "null" -> value.isNull();
              default -> value.isNumber() && value.asDouble() == previous;
            };
        if (!ok) {
          problem(
              url,
              at
                  + ": got "
                  + value
                  + ", want "
                  + (mode.equals("zero") ? 0 : mode.equals("null") ? null : previous)
                  + " (fill="
                  + mode
                  + ")");
        }
        continue;
      }
      if (value == null || !value.isNumber()) {
        problem(url, at + ": got " + value + ", want the value of " + accs[b].count + " events");
        continue;
      }
      double v = value.asDouble();
      previous = v;
      String why =
          QueryModel.mismatch(
              spec.function(),
              accs[b],
              spec.field() == null,
              v,
              REL_SUM,
              RANK_ERROR,
              EXACT,
              USER_ERROR,
              EXACT);
      if (why != null) {
        problem(url, at + ": " + why);
      }
      noteSketchError(spec, accs[b], v);
    }
    for (Long ts : got.keySet()) {
      if (!starts.contains(ts)) {
        problem(
            url,
            which + ": point at " + Instant.ofEpochMilli(ts) + " is not a bucket of the query");
      }
    }
  }

  /** Keeps the worst observed sketch error per function, for the log. */
  private synchronized void noteSketchError(QueryModel.Spec spec, QueryModel.Acc a, double got) {
    String fn = spec.function();
    double error;
    if (fn.equals("unique_users")) {
      int exact = a.users.size();
      if (exact <= EXACT) {
        return;
      }
      error = Math.abs(got - exact) / exact;
    } else if (QueryModel.rank(fn) >= 0) {
      double[] s = a.sorted();
      if (s.length <= EXACT) {
        return;
      }
      double r = QueryModel.rank(fn);
      int below = 0;
      int atOrBelow = 0;
      for (double x : s) {
        below += x < got ? 1 : 0;
        atOrBelow += x <= got ? 1 : 0;
      }
      double lo = (double) below / s.length;
      double hi = (double) atOrBelow / s.length;
      error = r < lo ? lo - r : r > hi ? r - hi : 0;
    } else {
      return;
    }
    String key = fn.equals("unique_users") ? fn : "percentile rank";
    double[] worst = worstSketchError.computeIfAbsent(key, k -> new double[2]);
    worst[0] = Math.max(worst[0], error);
    worst[1]++;
  }

  /** The first problems found, at most two per query, each naming its query. */
  synchronized List<String> problems() {
    return List.copyOf(problems);
  }

  /** Problems found in all: a wrong answer may have many (one per bucket, say). */
  synchronized int problemCount() {
    return problemCount;
  }

  /** Queries answered wrong. */
  synchronized int wrongAnswers() {
    return problemsByQuery.size();
  }

  long checked() {
    return checked.get();
  }

  /** The worst sketch errors seen, against what is allowed, for the test's log. */
  synchronized String sketchSummary() {
    StringBuilder b = new StringBuilder();
    worstSketchError.forEach(
        (k, v) ->
            b.append(
                String.format(
                    "worst %s error %.5f (allowed %.5f) over %,.0f sketched buckets; ",
                    k, v[0], k.equals("unique_users") ? USER_ERROR : RANK_ERROR, v[1])));
    return b.toString();
  }

  synchronized void problem(String url, String message) {
    problemCount++;
    int forQuery = problemsByQuery.merge(url, 1, Integer::sum);
    if (problems.size() < MAX_REPORTED && forQuery <= MAX_REPORTED_PER_QUERY) {
      problems.add("GET " + url + "\n    " + message);
    }
  }
}
