package dev.aggregator.server;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /ws/analytics}: the WebSocket clients, and what is pushed to them — alert transitions as
 * {@code {"type":"alert",...}} messages.
 *
 * <p>A slow client never holds anyone up: a message is written only if the client's write queue has
 * room; one that falls a whole queue behind is closed with a reason, to reconnect and re-read the
 * state. Every 30 s a ping keeps idle connections (and proxies) alive.
 */
final class LiveSockets {
  private static final Logger LOG = LoggerFactory.getLogger(LiveSockets.class);
  static final long HEARTBEAT_MS = 30_000;

  /** Bytes queued for one client at most before it counts as too slow. */
  static final int MAX_QUEUED_BYTES = 1 << 20;

  private final Set<ServerWebSocket> sockets = ConcurrentHashMap.newKeySet();

  LiveSockets(Vertx vertx) {
    vertx.setPeriodic(
        HEARTBEAT_MS,
        id -> {
          for (ServerWebSocket ws : sockets) {
            ws.writePing(Buffer.buffer("hb"));
          }
        });
  }

  /** Upgrades {@code GET /ws/analytics}. */
  void upgrade(RoutingContext ctx) {
    ctx.request()
        .toWebSocket()
        .onSuccess(
            ws -> {
              ws.setWriteQueueMaxSize(MAX_QUEUED_BYTES);
              sockets.add(ws);
              ws.closeHandler(v -> sockets.remove(ws));
              ws.exceptionHandler(e -> sockets.remove(ws));
              ws.textMessageHandler(
                  text ->
                      ws.writeTextMessage(
                          Http.JSON
                              .createObjectNode()
                              .put("type", "error")
                              .put(
                                  "message",
                                  "this server pushes alert messages; it accepts no messages yet")
                              .toString()));
            })
        .onFailure(e -> LOG.debug("WebSocket upgrade failed: {}", e.toString()));
  }

  /** Sends {@code message} (UTF-8 JSON) to every client; cuts off the ones too far behind. */
  void broadcast(byte[] message) {
    String text = new String(message, java.nio.charset.StandardCharsets.UTF_8);
    for (ServerWebSocket ws : sockets) {
      if (ws.writeQueueFull()) {
        sockets.remove(ws);
        ws.close((short) 1008, "too slow: more than " + MAX_QUEUED_BYTES + " bytes queued");
        continue;
      }
      ws.writeTextMessage(text);
    }
  }

  int clients() {
    return sockets.size();
  }

  Map<String, Object> describe() {
    return Map.of("clients", sockets.size());
  }
}
