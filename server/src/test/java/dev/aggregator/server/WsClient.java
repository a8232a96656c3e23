package dev.aggregator.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A WebSocket client of {@code /ws/analytics} for tests (the JDK's): collects JSON messages; one
 * made with {@code reading=false} never asks for a message, like a client that stopped reading.
 */
final class WsClient implements AutoCloseable {
  final BlockingQueue<JsonNode> messages = new LinkedBlockingQueue<>();
  final CompletableFuture<String> closed = new CompletableFuture<>();
  private final WebSocket ws;

  WsClient(int port, boolean reading) throws Exception {
    this(port, reading, null);
  }

  /** A client that sends {@code Origin: origin}, as a browser page of that origin does. */
  WsClient(int port, boolean reading, String origin) throws Exception {
    this(port, reading, origin, TestServers.ADMIN_KEY);
  }

  /** A client with {@code key} as its bearer token (null: none). */
  WsClient(int port, boolean reading, String origin, String key) throws Exception {
    WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder();
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    if (origin != null) {
      builder.header("Origin", origin);
    }
    this.ws =
        builder
            .buildAsync(
                URI.create("ws://127.0.0.1:" + port + "/ws/analytics"),
                new WebSocket.Listener() {
                  private final StringBuilder text = new StringBuilder();

                  @Override
                  public void onOpen(WebSocket w) {
                    if (reading) {
                      w.request(1);
                    }
                  }

                  @Override
                  public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    text.append(data);
                    if (last) {
                      try {
                        messages.add(TestClient.JSON.readTree(text.toString()));
                      } catch (IOException e) {
                        throw new UncheckedIOException(e);
                      }
                      text.setLength(0);
                    }
                    w.request(1);
                    return null;
                  }

                  @Override
                  public CompletionStage<?> onClose(WebSocket w, int status, String reason) {
                    closed.complete(status + " " + reason);
                    return null;
                  }

                  @Override
                  public void onError(WebSocket w, Throwable error) {
                    closed.complete("error " + error);
                  }
                })
            .get(10, TimeUnit.SECONDS);
  }

  /** Starts reading everything (a client that stopped reading, resuming). */
  void readAll() {
    ws.request(Long.MAX_VALUE);
  }

  void send(String json) {
    ws.sendText(json, true).join();
  }

  /** The next message that matches, skipping others; fails after 10 s. */
  JsonNode next(Predicate<JsonNode> wanted) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      JsonNode m = messages.poll(100, TimeUnit.MILLISECONDS);
      if (m != null && wanted.test(m)) {
        return m;
      }
    }
    throw new AssertionError("no such message within 10 s");
  }

  static Predicate<JsonNode> type(String type, String id) {
    return m -> m.path("type").asText().equals(type) && m.path("id").asText().equals(id);
  }

  @Override
  public void close() {
    ws.abort();
  }
}
