package dev.aggregator.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small HTTP client for tests against a real server. */
final class TestClient {
  static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private final String key;

  /** A client with the test servers' admin key. */
  TestClient(int port) {
    this(port, TestServers.ADMIN_KEY);
  }

  /** A client that sends {@code key} as its bearer token; null sends none. */
  TestClient(int port, String key) {
    this.base = "http://127.0.0.1:" + port;
    this.key = key;
  }

  /** The same server, with another key (null: none). */
  TestClient as(String otherKey) {
    return new TestClient(Integer.parseInt(base.substring(base.lastIndexOf(':') + 1)), otherKey);
  }

  /** A response with its body parsed as JSON (null if it is not JSON). */
  record Reply(int status, String body, JsonNode json, HttpResponse<String> raw) {}

  Reply get(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  Reply post(String path, String contentType, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return send(b);
  }

  Reply postJson(String path, String body) {
    return post(path, "application/json", body);
  }

  Reply putJson(String path, String body) {
    return send(
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(body)));
  }

  Reply method(String method, String path) {
    return send(
        HttpRequest.newBuilder(URI.create(base + path))
            .method(method, HttpRequest.BodyPublishers.noBody()));
  }

  private Reply send(HttpRequest.Builder b) {
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    try {
      HttpResponse<String> r =
          http.send(
              b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
      JsonNode json = null;
      try {
        json = JSON.readTree(r.body());
      } catch (IOException notJson) {
        // leave null
      }
      return new Reply(r.statusCode(), r.body(), json, r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
