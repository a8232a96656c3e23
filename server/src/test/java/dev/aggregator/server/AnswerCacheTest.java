package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.aggregation.Granularity;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.Fill;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AnswerCacheTest {
  private static final long MIN = 60_000;
  private static final long T = 1_796_300_000_000L / MIN * MIN; // a minute's start

  private static Query query(long start, long end) {
    return new Query("page_view", start, end, Granularity.M1, AggregateFunction.COUNT, Fill.NONE);
  }

  private static QueryResult answer(Query q, int points) {
    List<QueryResult.Point> data = new ArrayList<>();
    for (int i = 0; i < points; i++) {
      data.add(new QueryResult.Point(q.firstBucket() + i * MIN, (double) i));
    }
    return new QueryResult(q, List.of(new QueryResult.Series(Map.of(), data)), List.of());
  }

  @Test
  void aHitIsTheSameBucketsAnsweredForTheAskingQuery() {
    AnswerCache cache = new AnswerCache(1_000);
    Query first = query(T - 60 * MIN + 5, T + 5);
    cache.put(7, answer(first, 60));
    Query later = query(T - 60 * MIN + 40_000, T + 40_000); // same minute: the same 61 buckets
    QueryResult hit = cache.get(7, later);
    assertThat(hit).isNotNull();
    assertThat(hit.query()).isEqualTo(later);
    assertThat(hit.series()).isEqualTo(answer(first, 60).series());
    assertThat(cache.get(7, query(T - 59 * MIN + 5, T + MIN + 5))).as("next minute").isNull();
    assertThat(cache.get(8, later)).as("after the rollups changed").isNull();
    assertThat(cache.hits()).isEqualTo(1);
    assertThat(cache.misses()).isEqualTo(2);
  }

  @Test
  void keepsAtMostItsPointsLeastRecentlyUsedOutAndNoHugeAnswer() {
    AnswerCache cache = new AnswerCache(1_000);
    for (int i = 0; i < 20; i++) {
      cache.put(1, answer(query(T + i * 1_000 * MIN, T + (i + 1) * 1_000 * MIN), 90));
      assertThat(cache.points()).isLessThanOrEqualTo(1_000);
    }
    assertThat(cache.get(1, query(T, T + 1_000 * MIN))).as("the oldest, evicted").isNull();
    assertThat(cache.get(1, query(T + 19_000 * MIN, T + 20_000 * MIN))).isNotNull();
    cache.put(1, answer(query(T - 500 * MIN, T), 500)); // over a tenth of the budget
    assertThat(cache.get(1, query(T - 500 * MIN, T))).isNull();
  }
}
