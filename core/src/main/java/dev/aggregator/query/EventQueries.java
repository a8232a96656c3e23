package dev.aggregator.query;

import dev.aggregator.aggregation.Catalog;
import dev.aggregator.event.Timestamps;
import dev.aggregator.storage.RawEvents;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Answers a {@link Query} exactly from the raw events of the {@link RawEvents}, with SQL run by
 * DuckDB: what the rollups cannot answer exactly (a filter or groupBy over dimensions past the
 * rollups' caps, a granularity only the totals tier holds, ...) is answered here, with the same
 * bucket, fill and top-N rules, so that both ways give the same numbers.
 *
 * <p>Percentiles are exact here (nearest rank, as {@code ValueSketch} is while exact), and {@code
 * unique_users} is an exact distinct count.
 */
final class EventQueries {
  /** How long a query waits for the events aggregated before it to reach the store's files. */
  private static final long VISIBLE_WAIT_MS = 10_000;

  private final RawEvents store;
  private final LongSupplier appliedSequence;

  /**
   * @param appliedSequence the log position aggregated so far: an answer includes every event up to
   *     it, as a rollup answer would
   */
  EventQueries(RawEvents store, LongSupplier appliedSequence) {
    this.store = store;
    this.appliedSequence = appliedSequence;
  }

  /** The metric to answer: its event type, and its numeric field or null for the event count. */
  record Target(String eventType, String field) {}

  /** A query in SQL: the WHERE clause's text and parameters, and the aggregate expression. */
  private record Sql(String where, List<Object> params, String value, String having) {}

  QueryResult run(Query q, Target t) throws InvalidQueryException {
    Buckets buckets = Buckets.of(q);
    List<String> warnings = new ArrayList<>();
    Sql sql = prepare(q, t, buckets, warnings);
    if (buckets.size() == 0) {
      return new QueryResult(
          q,
          q.groupBy().isEmpty() ? List.of(new QueryResult.Series(Map.of(), List.of())) : List.of(),
          warnings,
          QueryResult.EVENTS);
    }
    if (q.groupBy().isEmpty()) {
      Double[] values =
          perBucket(q, t, buckets, sql, "", List.of()).getOrDefault(-1, empty(buckets));
      return new QueryResult(
          q,
          List.of(new QueryResult.Series(Map.of(), buckets.points(values, q.fill()))),
          warnings,
          QueryResult.EVENTS);
    }
    return new QueryResult(q, grouped(q, t, buckets, sql), warnings, QueryResult.EVENTS);
  }

  /** The function's value over the whole range, as one bucket (alert windows); null if none. */
  Double total(Query q, Target t) throws InvalidQueryException {
    Buckets buckets = Buckets.of(q);
    if (buckets.size() == 0) {
      return null;
    }
    Sql sql = prepare(q, t, buckets, new ArrayList<>());
    return query(
        t,
        buckets,
        "SELECT " + sql.value() + " FROM events WHERE " + sql.where() + sql.having(),
        sql.params(),
        rs -> rs.next() ? number(rs, 1) : null);
  }

  private Sql prepare(Query q, Target t, Buckets buckets, List<String> warnings)
      throws InvalidQueryException {
    if (buckets.size() > 0 && buckets.starts[0] < store.horizonMillis()) {
      throw new InvalidQueryException(
          "start",
          "this query needs the raw events, and those before "
              + Timestamps.format(store.horizonMillis())
              + " were dropped (eventRetention, eventDiskBudget); use a later start");
    }
    try {
      if (!store.awaitVisible(appliedSequence.getAsLong(), VISIBLE_WAIT_MS)) {
        // Exact or refused: an answer without the newest events would look complete.
        throw new EventsUnavailableException(
            "this query needs the raw events, and the event store cannot show the newest of them"
                + " now (see /api/events/health); retry shortly");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the event store", e);
    }
    List<Object> params = new ArrayList<>();
    StringBuilder where = new StringBuilder("TRUE");
    for (Map.Entry<String, List<String>> f : q.filters().entrySet()) {
      String column = store.column(f.getKey(), false);
      if (column == null) {
        warnings.add("'" + f.getKey() + "' is not a dimension of " + t.eventType());
        where.append(" AND FALSE");
        continue;
      }
      where.append(" AND ").append(quote(column)).append(" IN (");
      for (int i = 0; i < f.getValue().size(); i++) {
        where.append(i == 0 ? "?" : ", ?");
        params.add(f.getValue().get(i));
      }
      where.append(')');
    }
    for (String key : q.groupBy()) {
      if (store.column(key, false) == null) {
        warnings.add("'" + key + "' is not a dimension of " + t.eventType());
      }
    }
    String field = t.field() == null ? null : store.column(t.field(), true);
    if (t.field() != null && field == null) {
      where.append(" AND FALSE"); // no stored event has the field: nothing to summarize
    }
    String f = field == null ? null : quote(field);
    AggregateFunction fn = q.function();
    String value;
    String having = "";
    if (t.field() == null) {
      value = fn == AggregateFunction.UNIQUE_USERS ? "count(DISTINCT user_id)" : "count(*)";
      having = " HAVING count(*) > 0";
    } else {
      value =
          switch (fn) {
            case COUNT -> "count(" + f + ")";
            // Ordered: a parallel sum adds in any order, and the same query must give the same
            // bits every time (49905.02 once, 49905.01999999999 the next, unordered).
            case SUM -> "sum(" + f + " ORDER BY " + f + ")";
            case AVG -> "sum(" + f + " ORDER BY " + f + ") / count(" + f + ")";
            case MIN -> "min(" + f + ")";
            case MAX -> "max(" + f + ")";
            case UNIQUE_USERS -> "count(DISTINCT user_id)";
            case P50, P90, P95, P99 -> percentile(f, fn);
          };
      // A bucket counts only where its events carry the field (a rollup row's field summary).
      having = " HAVING count(" + (f == null ? "NULL" : f) + ") > 0";
    }
    return new Sql(where.toString(), params, value, having);
  }

  /**
   * The nearest-rank quantile: the smallest value with at least {@code ceil(rank * n)} values at or
   * below it, rounding {@code rank * n} to 7 decimals first as DataSketches does — what {@code
   * ValueSketch} answers while exact.
   */
  private static String percentile(String f, AggregateFunction fn) {
    double rank =
        switch (fn) {
          case P50 -> 0.50;
          case P90 -> 0.90;
          case P95 -> 0.95;
          default -> 0.99;
        };
    return "list_sort(list("
        + f
        + "))[CAST(greatest(1, least(count("
        + f
        + "), ceil(round("
        + rank
        + " * count("
        + f
        + "), 7)))) AS BIGINT)]";
  }

  /** The SQL expression of an event's output bucket index. */
  private static String bucketOf(Buckets b) {
    boolean uniform = true;
    long width = b.ends[0] - b.starts[0];
    for (int i = 0; i < b.size() && uniform; i++) {
      uniform = b.ends[i] - b.starts[i] == width && b.starts[i] == b.starts[0] + i * width;
    }
    if (uniform) {
      return "CAST((time_ms - " + b.starts[0] + ") // " + width + " AS INTEGER)";
    }
    // Days and weeks in a time zone: 23- or 25-hour days, so search the bucket starts.
    StringBuilder list = new StringBuilder("[");
    for (int i = 0; i < b.size(); i++) {
      list.append(i == 0 ? "" : ",").append(b.starts[i]);
    }
    return "CAST(len(list_filter(" + list + "], s -> s <= time_ms)) - 1 AS INTEGER)";
  }

  /**
   * Values per bucket, keyed by group rank ({@code -1} for the one series of an ungrouped query,
   * the top groups' positions, {@code -2} for the rest).
   */
  private Map<Integer, Double[]> perBucket(
      Query q, Target t, Buckets b, Sql sql, String groupExpr, List<Object> groupParams)
      throws InvalidQueryException {
    String bucket = bucketOf(b);
    String g = groupExpr.isEmpty() ? "-1" : groupExpr;
    String text =
        "SELECT "
            + g
            + " AS g, "
            + bucket
            + " AS b, "
            + sql.value()
            + " AS v FROM events WHERE "
            + sql.where()
            + " GROUP BY 1, 2"
            + sql.having();
    List<Object> params = new ArrayList<>(groupParams);
    params.addAll(sql.params());
    return query(
        t,
        b,
        text,
        params,
        rs -> {
          Map<Integer, Double[]> out = new HashMap<>();
          while (rs.next()) {
            int group = rs.getInt(1);
            int i = rs.getInt(2);
            if (i >= 0 && i < b.size()) {
              out.computeIfAbsent(group, k -> empty(b))[i] = number(rs, 3);
            }
          }
          return out;
        });
  }

  private record Group(Map<String, String> dimensions, List<String> values, double total) {}

  /** Ranks groups by their total over the range, as the rollup path does, then reads the top. */
  private List<QueryResult.Series> grouped(Query q, Target t, Buckets b, Sql sql)
      throws InvalidQueryException {
    List<String> keys = q.groupBy();
    StringBuilder cols = new StringBuilder();
    for (int k = 0; k < keys.size(); k++) {
      String column = store.column(keys.get(k), false);
      cols.append(k == 0 ? "" : ", ")
          .append(column == null ? "CAST(NULL AS VARCHAR)" : quote(column))
          .append(" AS g")
          .append(k);
    }
    String groupBy = "GROUP BY ALL";
    List<Group> groups =
        query(
            t,
            b,
            "SELECT "
                + cols
                + ", "
                + sql.value()
                + " AS v FROM events WHERE "
                + sql.where()
                + " "
                + groupBy
                + sql.having(),
            sql.params(),
            rs -> {
              List<Group> out = new ArrayList<>();
              while (rs.next()) {
                Double v = number(rs, keys.size() + 1);
                if (v == null) {
                  continue;
                }
                Map<String, String> dims = new LinkedHashMap<>();
                List<String> values = new ArrayList<>();
                for (int k = 0; k < keys.size(); k++) {
                  dims.put(keys.get(k), rs.getString(k + 1));
                  values.add(rs.getString(k + 1));
                }
                out.add(new Group(dims, values, v.isNaN() ? Double.NEGATIVE_INFINITY : v));
              }
              return out;
            });
    // The rollup path's order: by total, descending, then by the dimensions' text; groups whose
    // every value is __other__ join the remainder.
    List<Group> ranked = new ArrayList<>();
    boolean folded = false;
    for (Group g : groups) {
      if (g.dimensions().values().stream().allMatch(Catalog.OTHER::equals)) {
        folded = true;
      } else {
        ranked.add(g);
      }
    }
    ranked.sort(
        Comparator.comparingDouble((Group g) -> -g.total())
            .thenComparing(g -> g.dimensions().toString()));
    int keep = Math.min(q.limit(), ranked.size());
    folded |= ranked.size() > keep;
    List<Group> top = ranked.subList(0, keep);
    // One pass for the top groups and the rest: each event's group is its position among the
    // top, or -2.
    StringBuilder expr = new StringBuilder("CASE");
    List<Object> params = new ArrayList<>();
    for (int i = 0; i < top.size(); i++) {
      expr.append(" WHEN ");
      for (int k = 0; k < keys.size(); k++) {
        String column = store.column(keys.get(k), false);
        String c = column == null ? "CAST(NULL AS VARCHAR)" : quote(column);
        expr.append(k == 0 ? "" : " AND ").append(c).append(" IS NOT DISTINCT FROM ?");
        params.add(top.get(i).values().get(k));
      }
      expr.append(" THEN ").append(i);
    }
    expr.append(" ELSE -2 END");
    Map<Integer, Double[]> values =
        top.isEmpty() && !folded ? Map.of() : perBucket(q, t, b, sql, expr.toString(), params);
    List<QueryResult.Series> out = new ArrayList<>();
    for (int i = 0; i < top.size(); i++) {
      out.add(
          new QueryResult.Series(
              top.get(i).dimensions(), b.points(values.getOrDefault(i, empty(b)), q.fill())));
    }
    if (folded) {
      Map<String, String> other = new LinkedHashMap<>();
      for (String key : keys) {
        other.put(key, Catalog.OTHER);
      }
      out.add(new QueryResult.Series(other, b.points(values.getOrDefault(-2, empty(b)), q.fill())));
    }
    return out;
  }

  private <T> T query(
      Target t, Buckets b, String sql, List<Object> params, RawEvents.ResultHandler<T> h)
      throws InvalidQueryException {
    try {
      return store.query(t.eventType(), b.starts[0], b.ends[b.size() - 1], sql, params, h);
    } catch (SQLException e) {
      throw new IllegalStateException("the event store could not answer: " + e.getMessage(), e);
    }
  }

  private static Double[] empty(Buckets b) {
    return new Double[b.size()];
  }

  private static Double number(ResultSet rs, int column) throws SQLException {
    double v = rs.getDouble(column);
    return rs.wasNull() ? null : v;
  }

  private static String quote(String identifier) {
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }
}
