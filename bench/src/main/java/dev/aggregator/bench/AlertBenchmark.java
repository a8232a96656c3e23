package dev.aggregator.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.aggregator.testing.StandardWorkload;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Measures how fast an alert fires (issue 4): from the acknowledgement of the event that breaches a
 * rule to the rule's {@code triggered} transition, and to its webhook's arrival, with many rules
 * active — while the load generator sends the standard workload in another process.
 *
 * <pre>
 * java -jar server/target/aggregator.jar --webhook-allow 127.0.0.0/8 &amp;
 * java -cp bench/target/benchmarks.jar dev.aggregator.bench.LoadGenerator --rate 100000 --duration 120s &amp;
 * java -cp bench/target/benchmarks.jar dev.aggregator.bench.AlertBenchmark --rules 1000 --probes 200
 * </pre>
 *
 * <p>It creates {@code --rules - --probes} background rules over the workload's metrics (counts,
 * sums, averages, p95s and unique users, with and without filters, thresholds out of reach so they
 * stay quiet but are evaluated whenever their event type changes, i.e. all the time), and {@code
 * --probes} probe rules {@code alert_probe count > 0 over 1m} with the filter {@code probe:N} and a
 * webhook to a receiver this process runs. Then, one probe at a time, {@code --gap} apart: post the
 * probe's event, note when the 202 arrives, and wait for the webhook. Ack → triggered uses the
 * transition's own time ({@code triggeredAt}, ms); ack → webhook uses this process's clock. Client,
 * server and load generator share the machine, so these are upper bounds.
 */
public final class AlertBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new java.util.HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    String url = o.getOrDefault("url", "http://127.0.0.1:8080");
    int rules = Integer.parseInt(o.getOrDefault("rules", "1000"));
    int probes = Integer.parseInt(o.getOrDefault("probes", "200"));
    long gapMs = Long.parseLong(o.getOrDefault("gap", "250"));

    Map<String, Long> arrivals = new ConcurrentHashMap<>(); // alert id → nanoTime of arrival
    HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext(
        "/hook",
        exchange -> {
          long at = System.nanoTime();
          JsonNode body = JSON.readTree(exchange.getRequestBody().readAllBytes());
          if (body.path("event").asText().equals("triggered")) {
            arrivals.putIfAbsent(body.get("alert").get("id").asText(), at);
          }
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    receiver.start();
    String hook = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    List<String> created = new ArrayList<>();
    String[] functions = {"count", "sum", "avg", "p95", "unique_users"};
    for (int i = 0; i < rules - probes; i++) {
      String type = StandardWorkload.EVENT_TYPES[i % StandardWorkload.EVENT_TYPES.length];
      String fn = functions[i % functions.length];
      String metric = fn.equals("count") || fn.equals("unique_users") ? type : type + "_value";
      String filter =
          i % 2 == 0 ? "" : ",\"filter\":\"country:" + StandardWorkload.COUNTRIES[i % 50] + "\"";
      created.add(
          create(
              http,
              url,
              "{\"name\":\"background "
                  + i
                  + "\",\"metric\":\""
                  + metric
                  + "\",\"function\":\""
                  + fn
                  + "\",\"condition\":\"greater_than\",\"threshold\":1e12,\"window\":\"5m\""
                  + filter
                  + ",\"notify\":[]}"));
    }
    String[] probeIds = new String[probes];
    for (int i = 0; i < probes; i++) {
      probeIds[i] =
          create(
              http,
              url,
              "{\"name\":\"probe "
                  + i
                  + "\",\"metric\":\"alert_probe_count\",\"condition\":\"greater_than\","
                  + "\"threshold\":0,\"window\":\"1m\",\"filter\":\"probe:p"
                  + i
                  + "\",\"notify\":[{\"type\":\"webhook\",\"url\":\""
                  + hook
                  + "\"}]}");
      created.add(probeIds[i]);
    }
    System.out.printf(Locale.ROOT, "%d rules created (%d probes)%n", created.size(), probes);
    Thread.sleep(2_000); // every rule evaluated once: active → normal

    Histogram toTriggered = new Histogram(3_600_000_000L, 3);
    Histogram toWebhook = new Histogram(3_600_000_000L, 3);
    Histogram sendToTriggered = new Histogram(3_600_000_000L, 3);
    int missed = 0;
    for (int i = 0; i < probes; i++) {
      String event =
          "{\"eventType\":\"alert_probe\",\"timestamp\":"
              + System.currentTimeMillis()
              + ",\"properties\":{\"probe\":\"p"
              + i
              + "\"}}";
      long sentMillis = System.currentTimeMillis();
      HttpResponse<String> r = post(http, url + "/api/events", event);
      long ackNanos = System.nanoTime();
      long ackMillis = System.currentTimeMillis();
      if (r.statusCode() != 202) {
        throw new IllegalStateException("probe event answered " + r.statusCode() + " " + r.body());
      }
      long deadline = ackNanos + TimeUnit.SECONDS.toNanos(10);
      while (!arrivals.containsKey(probeIds[i]) && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      Long arrived = arrivals.get(probeIds[i]);
      JsonNode alert = JSON.readTree(get(http, url + "/api/alerts/" + probeIds[i]).body());
      if (arrived == null || !alert.get("status").asText().equals("triggered")) {
        missed++;
      } else {
        long triggeredAt =
            java.time.Instant.parse(alert.get("triggeredAt").asText()).toEpochMilli();
        toTriggered.recordValue(Math.max(0, triggeredAt - ackMillis) * 1_000);
        sendToTriggered.recordValue(Math.max(0, triggeredAt - sentMillis) * 1_000);
        toWebhook.recordValue(Math.max(0, (arrived - ackNanos) / 1_000));
      }
      Thread.sleep(gapMs);
    }
    System.out.printf(
        Locale.ROOT,
        "ack → triggered: p50 %.1f ms, p99 %.1f ms, max %.1f ms (ms resolution; 0 = before"
            + " the 202 reached the client)%n"
            + "send → triggered: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n"
            + "ack → webhook:   p50 %.1f ms, p99 %.1f ms, max %.1f ms%n"
            + "%d of %d probes measured, %d missed%n",
        toTriggered.getValueAtPercentile(50) / 1e3,
        toTriggered.getValueAtPercentile(99) / 1e3,
        toTriggered.getMaxValue() / 1e3,
        sendToTriggered.getValueAtPercentile(50) / 1e3,
        sendToTriggered.getValueAtPercentile(99) / 1e3,
        sendToTriggered.getMaxValue() / 1e3,
        toWebhook.getValueAtPercentile(50) / 1e3,
        toWebhook.getValueAtPercentile(99) / 1e3,
        toWebhook.getMaxValue() / 1e3,
        probes - missed,
        probes,
        missed);
    JsonNode health = JSON.readTree(get(http, url + "/api/events/health").body());
    System.out.println("alerts: " + health.get("alerts"));
    for (String id : created) {
      http.send(
          HttpRequest.newBuilder(URI.create(url + "/api/alerts/" + id))
              .header("Authorization", BenchKey.authorization())
              .DELETE()
              .build(),
          HttpResponse.BodyHandlers.discarding());
    }
    receiver.stop(0);
    System.exit(missed == 0 ? 0 : 1);
  }

  private static String create(HttpClient http, String url, String rule)
      throws IOException, InterruptedException {
    HttpResponse<String> r = post(http, url + "/api/alerts", rule);
    if (r.statusCode() != 201) {
      throw new IllegalStateException(
          "creating a rule answered " + r.statusCode() + " " + r.body());
    }
    return JSON.readTree(r.body()).get("id").asText();
  }

  private static HttpResponse<String> post(HttpClient http, String url, String body)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/json")
            .header("Authorization", BenchKey.authorization())
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(HttpClient http, String url)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(URI.create(url))
            .header("Authorization", BenchKey.authorization())
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
