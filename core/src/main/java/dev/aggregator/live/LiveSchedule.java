package dev.aggregator.live;

import dev.aggregator.aggregation.Catalog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * When live subscriptions get an update, without any transport: a subscription is due once events
 * of its metric's type have been aggregated, and gets an update at most every {@code minGap};
 * subscriptions with the same query — a dashboard open in many browsers — are grouped so that one
 * run of the query serves them all (each then takes its own {@link AnswerDiff}). The server's
 * WebSocket layer (LiveSockets) drives it from one event loop; any thread may report changes.
 *
 * @param <C> the handle of a connection (a WebSocket in the server)
 */
public final class LiveSchedule<C> {

  /** One subscription: its query's parameters, what was sent, whether an update is due. */
  public static final class Subscription {
    public final String id;
    public final Map<String, List<String>> params;
    public final AnswerDiff diff = new AnswerDiff();
    final String metric;
    volatile boolean due;
    long lastUpdateNanos; // the snapshot's time; then only on the scheduling thread

    /**
     * @param params GET /api/analytics/query's parameters; {@code metric} required
     * @param nowNanos when its snapshot was taken ({@link System#nanoTime})
     */
    public Subscription(String id, Map<String, List<String>> params, long nowNanos) {
      this.id = id;
      this.params = params;
      this.metric = params.get("metric").get(0);
      this.lastUpdateNanos = nowNanos;
    }
  }

  /** A subscription whose update is due, and the connection to send it to. */
  public record Target<C>(C connection, Subscription subscription) {}

  private final long minGapNanos;
  private final Set<String> changedTypes = ConcurrentHashMap.newKeySet();

  public LiveSchedule(Duration minGap) {
    this.minGapNanos = minGap.toNanos();
  }

  /** Events of these types have been aggregated (any thread). */
  public void typesChanged(Set<String> types) {
    changedTypes.addAll(types);
  }

  /**
   * The subscriptions due an update now, grouped by identical parameters, each marked as updated. A
   * subscription whose data changed but that was updated less than {@code minGap} ago, or whose
   * connection does not keep up ({@code keepsUp} false: its queue is full), stays due and comes in
   * a later call with every change since.
   */
  public Map<Map<String, List<String>>, List<Target<C>>> due(
      Map<C, ? extends Collection<Subscription>> connections, long nowNanos, Predicate<C> keepsUp) {
    List<String> types = new ArrayList<>(changedTypes);
    changedTypes.removeAll(types);
    Map<Map<String, List<String>>, List<Target<C>>> byQuery = new LinkedHashMap<>();
    for (Map.Entry<C, ? extends Collection<Subscription>> e : connections.entrySet()) {
      C connection = e.getKey();
      for (Subscription sub : e.getValue()) {
        for (String type : types) {
          if (Catalog.isMetricOf(sub.metric, type)) {
            sub.due = true;
            break;
          }
        }
        if (sub.due && nowNanos - sub.lastUpdateNanos >= minGapNanos && keepsUp.test(connection)) {
          sub.due = false;
          sub.lastUpdateNanos = nowNanos;
          byQuery
              .computeIfAbsent(sub.params, k -> new ArrayList<>())
              .add(new Target<>(connection, sub));
        }
      }
    }
    return byQuery;
  }
}
