package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.event.Event;
import dev.aggregator.testing.StandardWorkload;
import dev.aggregator.testing.StandardWorkload.Kind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Sends the standard workload (docs/DESIGN.md §9) to a server as NDJSON batches, retrying a batch
 * answered 429, and counts what the server made of it.
 *
 * <p>The workload's clock walks evenly through {@code [from, to)} instead of standing at now, so
 * that minute and hour buckets fill. Its "too far ahead" invalid events are ahead of that clock
 * only, so they are moved 30 minutes ahead of the server's.
 *
 * <pre>{@code
 * WorkloadSender.Totals t = WorkloadSender.send(client, 42, 200_000, from, to, now, 5_000, events -> {});
 * }</pre>
 */
final class WorkloadSender {
  private static final Pattern TIMESTAMP = Pattern.compile("\"timestamp\":\"[^\"]*\"");
  private static final Pattern GOOD_TYPE = Pattern.compile("\"eventType\":\"[A-Za-z0-9_.:-]+\"");

  /** What the server answered, summed over batches, and what was sent. */
  record Totals(long accepted, long duplicates, long rejected, long sentValid, long sentInvalid) {
    Totals plus(Totals o) {
      return new Totals(
          accepted + o.accepted,
          duplicates + o.duplicates,
          rejected + o.rejected,
          sentValid + o.sentValid,
          sentInvalid + o.sentInvalid);
    }
  }

  private WorkloadSender() {}

  /**
   * Sends {@code events} events of workload {@code seed}; once a batch is taken, hands its valid
   * events (duplicates included) to {@code taken}.
   *
   * @param serverNow the server's clock, about: invalid future events are put 30 min past it
   */
  static Totals send(
      TestClient client,
      long seed,
      int events,
      long from,
      long to,
      long serverNow,
      int batch,
      Consumer<List<Event>> taken) {
    long[] tick = {0};
    StandardWorkload workload =
        new StandardWorkload(seed, () -> from + tick[0]++ * (to - from) / events);
    String future = "\"timestamp\":\"" + Instant.ofEpochMilli(serverNow + 30 * 60_000L) + "\"";
    Totals totals = new Totals(0, 0, 0, 0, 0);
    for (int sent = 0; sent < events; ) {
      int n = Math.min(batch, events - sent);
      StringBuilder body = new StringBuilder(n * 230);
      List<Event> valid = new ArrayList<>(n);
      int invalid = 0;
      for (int i = 0; i < n; i++) {
        StandardWorkload.Generated g = workload.next();
        String json = g.json();
        if (g.kind() == Kind.INVALID) {
          invalid++;
          if (json.contains("\"timestamp\"")
              && !json.contains("\"tags\"")
              && GOOD_TYPE.matcher(json).find()) {
            json = TIMESTAMP.matcher(json).replaceFirst(future);
          }
        } else {
          valid.add(g.event());
        }
        body.append(json).append('\n');
      }
      totals = totals.plus(post(client, body.toString(), valid.size(), invalid));
      taken.accept(valid);
      sent += n;
    }
    return totals;
  }

  /** Posts one NDJSON batch until it is taken (429 is retried after 20 ms). */
  static Totals post(TestClient client, String body, int valid, int invalid) {
    for (int attempt = 0; ; attempt++) {
      TestClient.Reply reply = client.post("/api/events/batch", "application/x-ndjson", body);
      if (reply.status() == 429 && attempt < 6_000) {
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
        continue;
      }
      assertThat(reply.status()).as("batch answer: %s", reply.body()).isEqualTo(200);
      return new Totals(
          reply.json().get("accepted").asLong(),
          reply.json().get("duplicates").asLong(),
          reply.json().get("rejected").asLong(),
          valid,
          invalid);
    }
  }

  /** Waits until the server has aggregated, expired or failed every event it accepted. */
  static void awaitAggregated(TestClient client, long accepted, long timeoutMillis) {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    com.fasterxml.jackson.databind.JsonNode lifecycle = null;
    while (System.nanoTime() < deadline) {
      lifecycle = client.get("/api/events/health").json().get("lifecycle");
      long settled =
          lifecycle.get("aggregated").asLong()
              + lifecycle.get("expired").asLong()
              + lifecycle.get("failed").asLong();
      if (settled == accepted) {
        return;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    throw new AssertionError(
        "not every accepted event (" + accepted + ") was aggregated: " + lifecycle);
  }
}
