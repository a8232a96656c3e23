package dev.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.aggregation.Granularity;
import dev.aggregator.event.Timestamps;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QueryParserTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-11-30T12:00:00Z");
  private final QueryParser parser = new QueryParser(() -> NOW, 11_000);

  private Query parse(String... keyValues) throws InvalidQueryException {
    Map<String, List<String>> params = new HashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      params.computeIfAbsent(keyValues[i], k -> new java.util.ArrayList<>()).add(keyValues[i + 1]);
    }
    return parser.parse(name -> params.getOrDefault(name, List.of()));
  }

  private void assertRejected(String parameter, String message, String... keyValues) {
    assertThatThrownBy(() -> parse(keyValues))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining(message)
        .extracting(e -> ((InvalidQueryException) e).parameter())
        .isEqualTo(parameter);
  }

  @Test
  void parsesTheSeedQuery() throws Exception {
    Query q =
        parse(
            "metric", "page_view_count",
            "start", "2024-01-15T00:00:00Z",
            "end", "2024-01-16T00:00:00Z",
            "granularity", "1h");

    assertThat(q.metric()).isEqualTo("page_view_count");
    assertThat(q.start()).isEqualTo(Timestamps.parseRfc3339("2024-01-15T00:00:00Z"));
    assertThat(q.end()).isEqualTo(Timestamps.parseRfc3339("2024-01-16T00:00:00Z"));
    assertThat(q.granularity()).isEqualTo(Granularity.H1);
    assertThat(q.function()).as("sum is the seed's default").isEqualTo(AggregateFunction.SUM);
    assertThat(q.fill()).isEqualTo(Fill.NONE);
    assertThat(q.bucketCount()).isEqualTo(24);
  }

  @Test
  void defaultsToTheLastHourAtAnAutomaticGranularity() throws Exception {
    Query q = parse("metric", "x");
    assertThat(q.end()).isEqualTo(NOW);
    assertThat(q.start()).isEqualTo(NOW - 3_600_000L);
    assertThat(q.granularity()).as("finest with at most 1,000 buckets").isEqualTo(Granularity.S10);
  }

  @Test
  void acceptsEpochMillisAndRelativeTimes() throws Exception {
    Query q = parse("metric", "x", "start", "now-24h", "end", Long.toString(NOW - 1000));
    assertThat(q.start()).isEqualTo(NOW - 86_400_000L);
    assertThat(q.end()).isEqualTo(NOW - 1000);
  }

  @Test
  void requiresAMetric() {
    assertRejected("metric", "metric is required", "start", "now-1h");
  }

  @Test
  void rejectsAnUnknownGranularityNamingTheValidOnes() {
    assertRejected(
        "granularity",
        "unknown granularity '2m'; use one of 1s, 10s",
        "metric",
        "x",
        "granularity",
        "2m");
  }

  @Test
  void rejectsAnUnknownFunction() {
    assertRejected("function", "unknown function 'median'", "metric", "x", "function", "median");
  }

  @Test
  void rejectsAnUnknownFill() {
    assertRejected("fill", "unknown fill 'linear'", "metric", "x", "fill", "linear");
  }

  @Test
  void rejectsStartAfterEnd() {
    assertRejected(
        "start",
        "start 2024-01-16T00:00:00Z is after end 2024-01-15T00:00:00Z",
        "metric",
        "x",
        "start",
        "2024-01-16T00:00:00Z",
        "end",
        "2024-01-15T00:00:00Z");
  }

  @Test
  void rejectsARangeTooLargeForTheGranularitySuggestingOneThatFits() {
    assertRejected(
        "granularity",
        "the range spans 86400 buckets of 1s; at most 11000 per query; use granularity 10s or coarser",
        "metric",
        "x",
        "start",
        "now-24h",
        "end",
        "now",
        "granularity",
        "1s");
  }

  @Test
  void rejectsATimeThatIsNotATime() {
    assertRejected("start", "start 'yesterday' is not a time", "metric", "x", "start", "yesterday");
    assertRejected("end", "end: 'xh' is not a duration", "metric", "x", "end", "now-xh");
  }

  @Test
  void rejectsARepeatedSingleParameter() {
    assertRejected("metric", "metric is given 2 times", "metric", "a", "metric", "b");
  }

  @Test
  void parsesFiltersGroupByLimitAndTimeZone() throws Exception {
    Query q =
        parse(
            "metric", "x",
            "filter", "country:DE|FR",
            "filter", "device:mobile",
            "filter", "country:FR|US",
            "groupBy", "page, device",
            "limit", "5",
            "tz", "Europe/Berlin");

    assertThat(q.filters())
        .containsExactly(
            java.util.Map.entry("country", List.of("FR")),
            java.util.Map.entry("device", List.of("mobile")));
    assertThat(q.groupBy()).containsExactly("page", "device");
    assertThat(q.limit()).isEqualTo(5);
    assertThat(q.zone()).isEqualTo(java.time.ZoneId.of("Europe/Berlin"));
  }

  @Test
  void rejectsMalformedFiltersGroupByLimitAndZones() {
    assertRejected(
        "filter", "filter 'country' must be key:value", "metric", "x", "filter", "country");
    assertRejected("filter", "has an empty value", "metric", "x", "filter", "country:DE|");
    assertRejected("groupBy", "groupBy names page twice", "metric", "x", "groupBy", "page,page");
    assertRejected("groupBy", "has an empty name", "metric", "x", "groupBy", "page,");
    assertRejected("groupBy", "at most 4 dimensions", "metric", "x", "groupBy", "a,b,c,d,e");
    assertRejected(
        "limit", "limit must be a whole number from 1 to 1000", "metric", "x", "limit", "0");
    assertRejected("tz", "unknown time zone 'Mars/Olympus'", "metric", "x", "tz", "Mars/Olympus");
  }
}
