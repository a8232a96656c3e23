package dev.aggregator.alerting;

import java.net.URI;

/**
 * Where a rule's transitions are announced besides the log.
 *
 * @param type {@link Type#WEBHOOK} or {@link Type#WEBSOCKET}
 * @param url the webhook's URL (null for WebSocket)
 * @param secret the HMAC-SHA256 key that signs webhook payloads, or null for unsigned
 */
public record NotifyTarget(Type type, URI url, String secret) {

  /** The kinds of target. */
  public enum Type {
    /** An HTTP POST of the transition as JSON, retried with backoff. */
    WEBHOOK,
    /** An {@code alert} message to every client of {@code /ws/analytics}. */
    WEBSOCKET
  }

  public static NotifyTarget websocket() {
    return new NotifyTarget(Type.WEBSOCKET, null, null);
  }

  public static NotifyTarget webhook(URI url, String secret) {
    return new NotifyTarget(Type.WEBHOOK, url, secret);
  }
}
