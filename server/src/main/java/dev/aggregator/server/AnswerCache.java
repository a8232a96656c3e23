package dev.aggregator.server;

import dev.aggregator.query.Query;
import dev.aggregator.query.QueryResult;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A cluster server's answers, kept until the rollups it reads change. Rollups change only when a
 * checkpoint of the job lands (the server's refresh bumps the version), so until then the same
 * query over the same output buckets has the same answer: a dashboard or live panel asked by many
 * clients, or through {@code start=now-1h} once a second, is computed once per checkpoint and
 * minute instead of once per request (BENCHMARKS: "Redis for a shared answer cache").
 *
 * <p>Keyed by the version and everything an answer depends on, with the range as its output buckets
 * (first bucket and count) rather than its millisecond bounds; a hit is returned with the asking
 * query, so its {@code start} and {@code end} are the caller's. Bounded by the points it holds,
 * least recently used first out; an answer larger than a tenth of that is not kept.
 */
final class AnswerCache {
  private final long maxPoints;
  private long points; // guarded by this
  private final LinkedHashMap<String, QueryResult> answers = new LinkedHashMap<>(64, 0.75f, true);
  private long hits;
  private long misses;

  AnswerCache(long maxPoints) {
    this.maxPoints = maxPoints;
  }

  /** The answer to {@code q} computed at {@code version}, as an answer to {@code q}; or null. */
  synchronized QueryResult get(long version, Query q) {
    QueryResult r = answers.get(key(version, q));
    if (r == null) {
      misses++;
      return null;
    }
    hits++;
    return new QueryResult(q, r.series(), r.warnings(), r.source());
  }

  /** Keeps {@code r}, the answer to its query computed over the rollups at {@code version}. */
  synchronized void put(long version, QueryResult r) {
    long n = points(r);
    if (n > maxPoints / 10) {
      return;
    }
    QueryResult old = answers.put(key(version, r.query()), r);
    points += n - (old == null ? 0 : points(old));
    Iterator<QueryResult> eldest = answers.values().iterator();
    while (points > maxPoints && eldest.hasNext()) {
      points -= points(eldest.next());
      eldest.remove();
    }
  }

  synchronized long points() {
    return points;
  }

  synchronized long hits() {
    return hits;
  }

  synchronized long misses() {
    return misses;
  }

  private static long points(QueryResult r) {
    long n = 1;
    for (QueryResult.Series s : r.series()) {
      n += s.data().size() + 1;
    }
    return n;
  }

  private static String key(long version, Query q) {
    // A time zone's days start at its midnights: its buckets depend on the exact bounds.
    String range =
        q.zone() == null
            ? q.firstBucket() + "+" + q.bucketCount()
            : q.start() + "-" + q.end() + "@" + q.zone().getId();
    Map<String, ?> filters = new TreeMap<>(q.filters());
    return version
        + "|"
        + q.metric()
        + "|"
        + q.granularity()
        + "|"
        + q.function()
        + "|"
        + q.fill()
        + "|"
        + range
        + "|"
        + filters
        + "|"
        + q.groupBy()
        + "|"
        + q.limit();
  }
}
