package dev.aggregator.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.aggregator.live.AnswerDiff;
import dev.aggregator.live.LiveSchedule;
import dev.aggregator.live.LiveSchedule.Subscription;
import dev.aggregator.live.LiveSchedule.Target;
import dev.aggregator.query.EventsUnavailableException;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryResult;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /ws/analytics}: live query subscriptions and alert messages (docs/DESIGN.md §7).
 *
 * <p>A client sends {@code {"type":"subscribe","id":"s1","query":{...GET /query's parameters...}}}
 * and gets {@code {"type":"snapshot","id":"s1","result":{...GET /query's answer...}}}, then, at
 * most every {@value #UPDATE_MS} ms and only when events of the metric's type were aggregated,
 * {@code {"type":"update","id":"s1","result":{...}}} holding just the buckets that changed (late
 * corrections included) in the same shape; applying them by timestamp, per series, to the snapshot
 * gives the current answer. Relative times ({@code start=now-1h}) slide: each update re-reads the
 * range. {@code {"type":"unsubscribe","id":"s1"}} ends one. A bad message gets {@code
 * {"type":"error","id":...,"message":...}} and the connection stays open. Alert transitions come as
 * {@code {"type":"alert",...}}.
 *
 * <p>A slow client never holds anyone up: while its write queue is full its updates wait and
 * coalesce (the next one carries every change since the last sent); once it has been full for
 * {@value #SLOW_CLIENT_MS} ms the client is disconnected with a reason. Every 30 s a ping keeps
 * idle connections (and proxies) alive.
 */
final class LiveSockets {
  private static final Logger LOG = LoggerFactory.getLogger(LiveSockets.class);
  static final long HEARTBEAT_MS = 30_000;

  /** A subscription gets an update at most this often. */
  static final long UPDATE_MS = 250;

  /**
   * How often due subscriptions are looked at: a subscription quiet for a while is updated within
   * this of its data changing, not up to {@link #UPDATE_MS} later.
   */
  static final long TICK_MS = 50;

  static final long SLOW_CLIENT_MS = 5_000;
  static final int MAX_SUBSCRIPTIONS = 100;

  /** Bytes queued for one client before its updates wait. */
  static final int MAX_QUEUED_BYTES = 1 << 20;

  private final Engine agg;
  private final WorkerExecutor workers;
  private final Map<ServerWebSocket, Client> clients = new ConcurrentHashMap<>();
  private final Budget budget;
  private final java.util.concurrent.atomic.AtomicLong points =
      new java.util.concurrent.atomic.AtomicLong();
  private final LiveSchedule<ServerWebSocket> schedule =
      new LiveSchedule<>(Duration.ofMillis(UPDATE_MS));
  private final List<String> allowedOrigins;
  private final HostCheck hosts;

  /** Whether a round of updates is running (only touched on the timer's event loop). */
  private boolean updating;

  /** One connection: its subscriptions, and since when its queue has been full (0: it is not). */
  private static final class Client {
    final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();

    /**
     * Ids whose snapshot is being computed, reserved when the subscribe message arrives (on the
     * connection's event loop): a burst of 1,000 subscribes in one write once got 1,000 snapshots,
     * each checked against the cap before any had been added.
     */
    final java.util.Set<String> pending = new java.util.HashSet<>();

    volatile long fullSince;

    /**
     * Points reserved per subscription (pending or live), and their sum; touched only on the
     * connection's event loop.
     */
    final Map<String, Long> reserved = new java.util.HashMap<>();

    long points;
  }

  /**
   * What live subscriptions may keep: each remembers the answer it was last sent (~70 bytes a
   * point), so 100 subscriptions of 121,000 points each once held ~850 MB for one connection.
   * Reserved from the query's bound (series × buckets) before its snapshot is computed.
   *
   * @param perConnection points the subscriptions of one connection keep, at most
   * @param total points every connection's subscriptions keep together, at most
   */
  record Budget(long perConnection, long total) {}

  /**
   * @param allowedOrigins web origins that may connect besides the server's own ({@code *}: any)
   * @param hosts the server's own names: pages from them may connect
   */
  LiveSockets(
      Vertx vertx,
      Engine agg,
      WorkerExecutor workers,
      Budget budget,
      List<String> allowedOrigins,
      HostCheck hosts) {
    this.agg = agg;
    this.budget = budget;
    this.hosts = hosts;
    this.workers = workers;
    this.allowedOrigins = List.copyOf(allowedOrigins);
    agg.onRollupsChanged(this::typesChanged);
    vertx.setPeriodic(
        HEARTBEAT_MS,
        id -> {
          for (ServerWebSocket ws : clients.keySet()) {
            ws.writePing(Buffer.buffer("hb"));
          }
        });
    vertx.setPeriodic(TICK_MS, id -> updateAll());
  }

  /**
   * Upgrades {@code GET /ws/analytics}. A browser always sends {@code Origin}: a page of another
   * site must not use a visitor's access to this server (cross-site WebSocket hijacking), so an
   * origin not allowed gets 403. Clients that are not browsers send none and are let in.
   */
  void upgrade(RoutingContext ctx) {
    String origin = ctx.request().getHeader("Origin");
    if (origin != null && !originAllowed(origin)) {
      Http.error(
          ctx,
          403,
          "origin_not_allowed",
          "WebSocket connections from " + origin + " are not allowed; see allowedOrigins");
      return;
    }
    ctx.request()
        .toWebSocket()
        .onSuccess(
            ws -> {
              ws.setWriteQueueMaxSize(MAX_QUEUED_BYTES);
              clients.put(ws, new Client());
              ws.closeHandler(v -> closed(ws));
              ws.exceptionHandler(e -> closed(ws));
              ws.textMessageHandler(text -> onMessage(ws, text));
            })
        .onFailure(e -> LOG.debug("WebSocket upgrade failed: {}", e.toString()));
  }

  /**
   * An origin may connect if it is listed, or its host is one of the server's own names (loopback,
   * the bind address, {@code allowedHosts}). Never compared with the request's Host, which the
   * page's own site controls under DNS rebinding.
   */
  private boolean originAllowed(String origin) {
    if (allowedOrigins.contains("*") || allowedOrigins.contains(origin)) {
      return true;
    }
    try {
      String host = java.net.URI.create(origin).getHost();
      if (host != null && host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return hosts.names(host);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Sends an alert message (UTF-8 JSON) to every client that keeps up. */
  void broadcast(byte[] message) {
    String text;
    try {
      // Webhook URLs can carry tokens; sockets are read-scope, so they get scheme and host only.
      com.fasterxml.jackson.databind.JsonNode m = Http.JSON.readTree(message);
      AlertHandlers.shown(m.path("alert"), false);
      text = Http.JSON.writeValueAsString(m);
    } catch (java.io.IOException e) {
      return;
    }
    for (ServerWebSocket ws : clients.keySet()) {
      if (keepsUp(ws)) {
        ws.writeTextMessage(text);
      }
    }
  }

  int clients() {
    return clients.size();
  }

  /** Points the live subscriptions of every connection keep (reserved). */
  long points() {
    return points.get();
  }

  private void closed(ServerWebSocket ws) {
    Client client = clients.remove(ws);
    if (client != null) {
      points.addAndGet(-client.points);
      client.points = 0;
      client.reserved.clear();
    }
  }

  /**
   * Reserves what {@code query}'s answer can hold for subscription {@code id}, or says which budget
   * it would pass (null: reserved).
   */
  private String reserve(Client client, String id, Query query) {
    long n = query.maxPoints();
    if (client.points + n > budget.perConnection()) {
      return "this subscription could keep "
          + n
          + " points and this connection's keep "
          + client.points
          + "; at most "
          + budget.perConnection()
          + " per connection (maxLivePointsPerConnection): unsubscribe some, use a coarser"
          + " granularity or shorten the range";
    }
    long all = points.addAndGet(n);
    if (all > budget.total()) {
      points.addAndGet(-n);
      return "live subscriptions on this server keep "
          + (all - n)
          + " points; this one could add "
          + n
          + " of at most "
          + budget.total()
          + " (maxLivePoints): retry later or ask for fewer points";
    }
    client.reserved.put(id, n);
    client.points += n;
    return null;
  }

  private void release(Client client, String id) {
    Long n = client.reserved.remove(id); // null once the connection closed: released then
    if (n != null) {
      client.points -= n;
      points.addAndGet(-n);
    }
  }

  private void typesChanged(Set<String> types) {
    if (!clients.isEmpty()) {
      schedule.typesChanged(types);
    }
  }

  // ---- client messages ------------------------------------------------------------------------

  private void onMessage(ServerWebSocket ws, String text) {
    Client client = clients.get(ws);
    if (client == null) {
      return;
    }
    JsonNode msg;
    try {
      msg = Http.JSON.readTree(text);
    } catch (IOException e) {
      error(ws, null, "not JSON: send {\"type\":\"subscribe\",\"id\":...,\"query\":{...}}");
      return;
    }
    String id = msg.path("id").isTextual() ? msg.get("id").asText() : null;
    switch (msg.path("type").asText("")) {
      case "subscribe" -> subscribe(ws, client, id, msg.get("query"));
      case "unsubscribe" -> {
        if (id == null || client.subscriptions.remove(id) == null) {
          error(ws, id, "no subscription " + id);
        } else {
          release(client, id);
          send(ws, message("unsubscribed", id));
        }
      }
      default ->
          error(ws, id, "unknown message type; send subscribe or unsubscribe (with an \"id\")");
    }
  }

  private void subscribe(ServerWebSocket ws, Client client, String id, JsonNode query) {
    if (id == null || id.isEmpty() || id.length() > 100) {
      error(ws, id, "a subscription needs an \"id\": a string of 1 to 100 characters");
      return;
    }
    if (client.subscriptions.containsKey(id) || client.pending.contains(id)) {
      error(ws, id, "subscription " + id + " exists; unsubscribe it first");
      return;
    }
    if (!keepsUp(ws)) {
      error(ws, id, "read the messages already sent before subscribing again");
      return;
    }
    if (client.subscriptions.size() + client.pending.size() >= MAX_SUBSCRIPTIONS) {
      error(ws, id, "at most " + MAX_SUBSCRIPTIONS + " subscriptions per connection");
      return;
    }
    Map<String, List<String>> params = params(query);
    if (params == null || !params.containsKey("metric")) {
      error(
          ws,
          id,
          "\"query\" must be an object of GET /api/analytics/query's parameters, with a metric");
      return;
    }
    String refused;
    try {
      // Parsed here, on the connection's event loop, only to reserve the answer's bound before a
      // worker computes it: checked after, a burst of subscribes would all pass.
      refused = reserve(client, id, parse(params));
    } catch (InvalidQueryException e) {
      error(ws, id, e.parameter() + ": " + e.getMessage());
      return;
    }
    if (refused != null) {
      error(ws, id, refused);
      return;
    }
    Subscription sub = new Subscription(id, params, System.nanoTime());
    client.pending.add(id);
    workers
        .executeBlocking(
            () -> {
              QueryResult answer = run(sub.params);
              sub.diff.sent(answer);
              return answer;
            },
            false)
        .onComplete(
            done -> {
              client.pending.remove(id);
              if (done.succeeded()) {
                client.subscriptions.put(id, sub);
                send(ws, result("snapshot", id, done.result()));
                return;
              }
              release(client, id);
              if (done.cause() instanceof InvalidQueryException e) {
                error(ws, id, e.parameter() + ": " + e.getMessage());
              } else if (done.cause() instanceof EventsUnavailableException e) {
                error(ws, id, e.getMessage());
              } else {
                LOG.error("subscription {} failed", id, done.cause());
                error(ws, id, "the query failed; it has been logged");
              }
            });
  }

  /** The query object as request parameters: strings, numbers, or lists of them (filters). */
  private static Map<String, List<String>> params(JsonNode query) {
    if (query == null || !query.isObject()) {
      return null;
    }
    Map<String, List<String>> params = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> f : query.properties()) {
      List<String> values = new ArrayList<>();
      if (f.getValue().isArray()) {
        f.getValue().forEach(v -> values.add(v.asText()));
      } else if (f.getValue().isValueNode()) {
        values.add(f.getValue().asText());
      } else {
        return null;
      }
      params.put(f.getKey(), List.copyOf(values));
    }
    return params;
  }

  private QueryResult run(Map<String, List<String>> params) throws InvalidQueryException {
    return agg.query(parse(params));
  }

  private Query parse(Map<String, List<String>> params) throws InvalidQueryException {
    return agg.queryParser().parse(name -> params.getOrDefault(name, List.of()));
  }

  // ---- updates --------------------------------------------------------------------------------

  /**
   * Every {@value #TICK_MS} ms: re-reads the subscriptions {@link LiveSchedule} says are due (their
   * metric saw events, not updated in the last {@value #UPDATE_MS} ms, the client keeps up); those
   * with the same parameters share one run of their query, each then gets its own difference. One
   * round at a time: while one runs, changes wait for the next.
   */
  private void updateAll() {
    if (updating) {
      return;
    }
    Map<ServerWebSocket, Collection<Subscription>> subscriptions = new LinkedHashMap<>();
    clients.forEach((ws, client) -> subscriptions.put(ws, client.subscriptions.values()));
    Map<Map<String, List<String>>, List<Target<ServerWebSocket>>> byQuery =
        schedule.due(subscriptions, System.nanoTime(), this::keepsUp);
    if (byQuery.isEmpty()) {
      return;
    }
    updating = true;
    workers
        .executeBlocking(
            () -> {
              List<Map.Entry<ServerWebSocket, String>> out = new ArrayList<>();
              for (Map.Entry<Map<String, List<String>>, List<Target<ServerWebSocket>>> group :
                  byQuery.entrySet()) {
                QueryResult answer;
                try {
                  answer = run(group.getKey());
                } catch (InvalidQueryException e) {
                  continue; // valid at subscription, e.g. now past a tier's retention: no update
                } catch (EventsUnavailableException e) {
                  continue; // the event store is healing: the update follows once it has
                }
                for (Target<ServerWebSocket> t : group.getValue()) {
                  QueryResult changes = t.subscription().diff.changes(answer);
                  if (!AnswerDiff.isEmpty(changes)) {
                    out.add(
                        Map.entry(t.connection(), result("update", t.subscription().id, changes)));
                  }
                }
              }
              return out;
            },
            false)
        .onComplete(
            done -> {
              updating = false;
              if (done.succeeded()) {
                done.result().forEach(m -> m.getKey().writeTextMessage(m.getValue()));
              } else {
                LOG.warn("live updates failed: {}", done.cause().toString());
              }
            });
  }

  /**
   * Whether the client's queue has room; a client whose queue has been full for {@value
   * #SLOW_CLIENT_MS} ms is disconnected with a reason.
   */
  private boolean keepsUp(ServerWebSocket ws) {
    Client client = clients.get(ws);
    if (client == null) {
      return false;
    }
    if (!ws.writeQueueFull()) {
      client.fullSince = 0;
      return true;
    }
    long now = System.currentTimeMillis();
    if (client.fullSince == 0) {
      client.fullSince = now;
    } else if (now - client.fullSince > SLOW_CLIENT_MS) {
      clients.remove(ws);
      LOG.info("disconnecting a WebSocket client that has not read for {} ms", SLOW_CLIENT_MS);
      ws.close(
          (short) 1008,
          "too slow: more than "
              + MAX_QUEUED_BYTES
              + " bytes unread for "
              + SLOW_CLIENT_MS
              + " ms");
    }
    return false;
  }

  // ---- messages -------------------------------------------------------------------------------

  /** {@code {"type","id","result"}}, the result in GET /api/analytics/query's shape. */
  private static String result(String type, String id, QueryResult r) {
    return "{\"type\":\""
        + type
        + "\",\"id\":"
        + TextNode.valueOf(id)
        + ",\"result\":"
        + new String(QueryHandlers.write(r), StandardCharsets.UTF_8)
        + "}";
  }

  private static ObjectNode message(String type, String id) {
    ObjectNode o = Http.JSON.createObjectNode();
    o.put("type", type);
    if (id != null) {
      o.put("id", id);
    }
    return o;
  }

  private static void error(ServerWebSocket ws, String id, String text) {
    send(ws, message("error", id).put("message", text));
  }

  private static void send(ServerWebSocket ws, Object message) {
    ws.writeTextMessage(message.toString());
  }
}
