package dev.aggregator.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aggregator.testing.StandardWorkload;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Measures live update delivery on {@code /ws/analytics} (issue 5): {@code --subscribers} WebSocket
 * clients, one subscription each — most on the workload's busy event types (events per minute over
 * the last hour), every tenth on a probe metric — while the load generator runs in another process.
 * Once a second it posts a probe event and records, for every probe subscriber, the time from the
 * post's 202 to the first update carrying the probe's second.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.aggregator.bench.LiveBenchmark \
 *     --url http://127.0.0.1:8080 --subscribers 1000 --probes 60
 * </pre>
 */
public final class LiveBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    String url = o.getOrDefault("url", "http://127.0.0.1:8080");
    int subscribers = Integer.parseInt(o.getOrDefault("subscribers", "1000"));
    int probes = Integer.parseInt(o.getOrDefault("probes", "60"));
    String ws = url.replaceFirst("^http", "ws") + "/ws/analytics";

    HttpClient http = HttpClient.newHttpClient();
    AtomicLong updates = new AtomicLong();
    AtomicLong snapshots = new AtomicLong();
    // probe second (epoch ms) → when its 202 arrived (nanoTime)
    Map<Long, Long> acked = new ConcurrentHashMap<>();
    Histogram delivery = new ConcurrentHistogram(3_600_000_000L, 3);
    List<WebSocket> sockets = new ArrayList<>();
    for (int i = 0; i < subscribers; i++) {
      boolean probe = i % 10 == 0;
      String query =
          probe
              ? "{\"metric\":\"live_probe_count\",\"start\":\"now-2m\",\"granularity\":\"1s\"}"
              : "{\"metric\":\""
                  + StandardWorkload.EVENT_TYPES[i % StandardWorkload.EVENT_TYPES.length]
                  + "_count\",\"start\":\"now-1h\",\"granularity\":\"1m\"}";
      Map<Long, Boolean> seen = new ConcurrentHashMap<>();
      WebSocket socket =
          http.newWebSocketBuilder()
              .header("Authorization", BenchKey.authorization())
              .buildAsync(
                  URI.create(ws),
                  new WebSocket.Listener() {
                    private final StringBuilder text = new StringBuilder();

                    @Override
                    public CompletionStage<?> onText(WebSocket w, CharSequence d, boolean last) {
                      text.append(d);
                      if (last) {
                        long at = System.nanoTime();
                        try {
                          JsonNode m = JSON.readTree(text.toString());
                          String type = m.path("type").asText();
                          if (type.equals("snapshot")) {
                            snapshots.incrementAndGet();
                          } else if (type.equals("update")) {
                            updates.incrementAndGet();
                            if (probe) {
                              for (JsonNode p : m.get("result").get("data")) {
                                long second =
                                    Instant.parse(p.get("timestamp").asText()).toEpochMilli();
                                Long ack = acked.get(second);
                                if (ack != null && seen.putIfAbsent(second, true) == null) {
                                  delivery.recordValue(Math.max(0, (at - ack) / 1_000));
                                }
                              }
                            }
                          }
                        } catch (Exception e) {
                          // not ours to judge; counted as nothing
                        }
                        text.setLength(0);
                      }
                      w.request(1);
                      return null;
                    }
                  })
              .get(30, TimeUnit.SECONDS);
      socket.sendText(
          "{\"type\":\"subscribe\",\"id\":\"s" + i + "\",\"query\":" + query + "}", true);
      sockets.add(socket);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (snapshots.get() < subscribers && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    System.out.printf(
        Locale.ROOT, "%d subscribers, %d snapshots received%n", subscribers, snapshots.get());

    for (int k = 0; k < probes; k++) {
      long now = System.currentTimeMillis();
      long second = now / 1000 * 1000;
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(url + "/api/events"))
                  .header("Content-Type", "application/json")
                  .header("Authorization", BenchKey.authorization())
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"eventType\":\"live_probe\",\"timestamp\":" + now + "}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() == 202) {
        acked.put(second, System.nanoTime());
      }
      Thread.sleep(1000 - System.currentTimeMillis() % 1000 + 20); // next second
    }
    Thread.sleep(2_000);
    long expected = (long) acked.size() * ((subscribers + 9) / 10);
    System.out.printf(
        Locale.ROOT,
        "probe ack → update at the subscriber: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
            + " (%d of %d deliveries seen)%n%d updates received in all%n",
        delivery.getValueAtPercentile(50) / 1e3,
        delivery.getValueAtPercentile(90) / 1e3,
        delivery.getValueAtPercentile(99) / 1e3,
        delivery.getMaxValue() / 1e3,
        delivery.getTotalCount(),
        expected,
        updates.get());
    sockets.forEach(WebSocket::abort);
    System.exit(0);
  }
}
