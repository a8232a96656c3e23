package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Parquet export read back by an independent reader — npm {@code hyparquet}, pure JavaScript,
 * which shares no code with DuckDB (the writer) — and compared with the query API, hour by hour.
 */
class ExportReaderTest {
  private static final long DAY_START = 1_705_276_800_000L; // 2024-01-15T00:00:00Z
  private static final long HOUR = 3_600_000L;

  @TempDir Path dir;

  @Test
  void hyparquetReadsTheExportAndItsCountsAndSumsMatchTheQueryApi() throws Exception {
    try (AggregatorServer server = TestServers.start(dir.resolve("data"))) {
      TestClient client = new TestClient(server.port());
      int n = 20_000;
      StringBuilder body = new StringBuilder();
      for (int i = 0; i < n; i++) {
        body.append(
            String.format(
                "{\"eventType\":\"%s\",\"userId\":\"u%d\",\"timestamp\":%d,\"source\":\"s%d\","
                    + "\"properties\":{\"device\":\"%s\",\"page\":\"/p/%d\",\"value\":%d.25}}\n",
                i % 3 == 0 ? "buy" : "view",
                i % 101,
                DAY_START + (i * 7_919L) % (24 * HOUR),
                i % 4,
                i % 2 == 0 ? "ios" : "web",
                i % 997,
                i % 50));
        if ((i + 1) % 5_000 == 0) {
          assertThat(
                  client
                      .post("/api/events/batch", "application/x-ndjson", body.toString())
                      .json()
                      .get("accepted")
                      .asInt())
              .isEqualTo(5_000);
          body.setLength(0);
        }
      }
      String range = "start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z";
      String counts = "/api/analytics/query?metric=buy&function=count&granularity=1d&" + range;
      for (int i = 0; i < 500 && total(client, counts) < (n + 2) / 3; i++) {
        Thread.sleep(20); // aggregation follows the ack by milliseconds
      }
      Path file = dir.resolve("buy.parquet");
      HttpResponse<Path> export =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create(
                              "http://127.0.0.1:"
                                  + server.port()
                                  + "/api/events/export?format=parquet&eventType=buy&"
                                  + range))
                      .header("Authorization", "Bearer " + TestServers.ADMIN_KEY)
                      .build(),
                  HttpResponse.BodyHandlers.ofFile(file));
      assertThat(export.statusCode()).isEqualTo(200);

      JsonNode rows = TestClient.JSON.readTree(hyparquet(file));
      Map<Long, Long> perHour = new TreeMap<>();
      Map<Long, Double> iosSums = new TreeMap<>();
      for (JsonNode r : rows) {
        assertThat(r.get("event_type").asText()).isEqualTo("buy");
        long hour = Math.floorDiv(r.get("time_ms").asLong(), HOUR) * HOUR;
        perHour.merge(hour, 1L, Long::sum);
        if (r.get("device").asText().equals("ios")) {
          iosSums.merge(hour, r.get("value").asDouble(), Double::sum);
        }
      }
      assertThat(rows.size()).isEqualTo((n + 2) / 3);

      assertThat(
              hourly(
                  client, "/api/analytics/query?metric=buy&function=count&granularity=1h&" + range))
          .isEqualTo(toDoubles(perHour));
      Map<Long, Double> api =
          hourly(
              client,
              "/api/analytics/query?metric=buy_value&function=sum&granularity=1h"
                  + "&filter=device:ios&"
                  + range);
      assertThat(api.keySet()).isEqualTo(iosSums.keySet());
      for (Map.Entry<Long, Double> e : iosSums.entrySet()) {
        assertThat(api.get(e.getKey()))
            .isCloseTo(e.getValue(), org.assertj.core.data.Offset.offset(1e-6));
      }
    }
  }

  private static double total(TestClient client, String path) {
    double sum = 0;
    for (JsonNode p : client.get(path).json().get("data")) {
      sum += p.get("value").asDouble();
    }
    return sum;
  }

  private static Map<Long, Double> toDoubles(Map<Long, Long> m) {
    Map<Long, Double> out = new TreeMap<>();
    m.forEach((k, v) -> out.put(k, v.doubleValue()));
    return out;
  }

  /** The query's points by bucket start. */
  private static Map<Long, Double> hourly(TestClient client, String path) throws Exception {
    Map<Long, Double> out = new TreeMap<>();
    JsonNode data = client.get(path).json().get("data");
    for (JsonNode p : data) {
      out.put(
          java.time.Instant.parse(p.get("timestamp").asText()).toEpochMilli(),
          p.get("value").asDouble());
    }
    return out;
  }

  private static String hyparquet(Path file) throws Exception {
    Process p =
        new ProcessBuilder("node", "src/test/node/read-parquet.mjs", file.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    byte[] out = p.getInputStream().readAllBytes();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("node read-parquet.mjs").isZero();
    return new String(out, java.nio.charset.StandardCharsets.UTF_8);
  }
}
