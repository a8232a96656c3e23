package dev.aggregator.live;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.aggregation.Granularity;
import dev.aggregator.query.AggregateFunction;
import dev.aggregator.query.Fill;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryResult;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AnswerDiffTest {
  private static final Query Q =
      new Query("m", 0, 600_000, Granularity.M1, AggregateFunction.SUM, Fill.NONE);

  private static QueryResult answer(Query q, Object... timestampsAndValues) {
    QueryResult.Point[] points = new QueryResult.Point[timestampsAndValues.length / 2];
    for (int i = 0; i < points.length; i++) {
      points[i] =
          new QueryResult.Point(
              ((Number) timestampsAndValues[2 * i]).longValue(),
              (Double) timestampsAndValues[2 * i + 1]);
    }
    return new QueryResult(
        q, List.of(new QueryResult.Series(Map.of(), Arrays.asList(points))), List.of());
  }

  @Test
  void reportsNewAndChangedBucketsOnly() {
    AnswerDiff diff = new AnswerDiff();
    diff.sent(answer(Q, 0, 1.0, 60_000, 2.0));
    assertThat(AnswerDiff.isEmpty(diff.changes(answer(Q, 0, 1.0, 60_000, 2.0)))).isTrue();

    QueryResult changed = diff.changes(answer(Q, 0, 5.0, 60_000, 2.0, 120_000, 1.0));
    assertThat(changed.data())
        .containsExactly(new QueryResult.Point(0, 5.0), new QueryResult.Point(120_000, 1.0));
    assertThat(AnswerDiff.isEmpty(diff.changes(answer(Q, 0, 5.0, 60_000, 2.0, 120_000, 1.0))))
        .isTrue();
  }

  @Test
  void aValueBecomingNullIsAChangeAndSlidOutBucketsAreForgotten() {
    AnswerDiff diff = new AnswerDiff();
    diff.sent(answer(Q, 0, 1.0, 60_000, 2.0));
    assertThat(diff.changes(answer(Q, 0, 1.0, 60_000, null)).data())
        .containsExactly(new QueryResult.Point(60_000, null));

    Query later = new Query("m", 60_000, 660_000, Granularity.M1, AggregateFunction.SUM, Fill.NONE);
    diff.changes(answer(later, 60_000, null));
    Query back = new Query("m", 0, 600_000, Granularity.M1, AggregateFunction.SUM, Fill.NONE);
    assertThat(diff.changes(answer(back, 0, 1.0)).data())
        .as("bucket 0 slid out and was forgotten: it is new again")
        .containsExactly(new QueryResult.Point(0, 1.0));
  }

  @Test
  void groupedSeriesAreComparedSeriesBySeries() {
    Query grouped =
        new Query(
            "m",
            0,
            600_000,
            Granularity.M1,
            AggregateFunction.SUM,
            Fill.NONE,
            Map.of(),
            List.of("country"),
            10,
            null);
    AnswerDiff diff = new AnswerDiff();
    diff.sent(
        new QueryResult(
            grouped,
            List.of(
                new QueryResult.Series(
                    Map.of("country", "DE"), List.of(new QueryResult.Point(0, 1.0))),
                new QueryResult.Series(
                    Map.of("country", "FR"), List.of(new QueryResult.Point(0, 1.0)))),
            List.of()));
    QueryResult changed =
        diff.changes(
            new QueryResult(
                grouped,
                List.of(
                    new QueryResult.Series(
                        Map.of("country", "DE"), List.of(new QueryResult.Point(0, 1.0))),
                    new QueryResult.Series(
                        Map.of("country", "FR"), List.of(new QueryResult.Point(0, 2.0)))),
                List.of()));
    assertThat(changed.series()).hasSize(1);
    assertThat(changed.series().get(0).dimensions()).containsEntry("country", "FR");
  }
}
