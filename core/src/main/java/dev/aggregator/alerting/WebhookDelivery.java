package dev.aggregator.alerting;

import java.net.URI;
import java.util.Arrays;
import java.util.Objects;

/**
 * One notification to POST to a webhook: the same {@code deliveryId} is sent on every retry, so a
 * receiver that got an attempt whose response was lost can recognise the retry and drop it.
 *
 * <p>The body is not copied (notifications are built once and handed over); do not change it after
 * constructing the delivery, or the signature and the bytes sent may differ between attempts.
 *
 * @param deliveryId unique per notification; sent as {@code X-Aggregator-Delivery}, so it must be
 *     printable ASCII
 * @param url where to POST; checked against the {@link WebhookPolicy} before each attempt
 * @param secret the key for the {@code X-Aggregator-Signature} HMAC, or null to send unsigned
 * @param body the JSON payload, sent byte for byte
 */
public record WebhookDelivery(String deliveryId, URI url, String secret, byte[] body) {
  public WebhookDelivery {
    Objects.requireNonNull(deliveryId, "deliveryId");
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(body, "body");
    if (deliveryId.isBlank() || !deliveryId.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
      throw new IllegalArgumentException(
          "deliveryId must be non-blank printable ASCII (it is sent as an HTTP header)");
    }
    if (secret != null && secret.isEmpty()) {
      // An empty HMAC key signs nothing a receiver could trust; null says "unsigned" honestly.
      throw new IllegalArgumentException("webhook secret must be null (unsigned) or non-empty");
    }
  }

  /** Compares the body's bytes, not the array's identity. */
  @Override
  public boolean equals(Object o) {
    return o instanceof WebhookDelivery d
        && deliveryId.equals(d.deliveryId)
        && url.equals(d.url)
        && Objects.equals(secret, d.secret)
        && Arrays.equals(body, d.body);
  }

  @Override
  public int hashCode() {
    return Objects.hash(deliveryId, url, secret, Arrays.hashCode(body));
  }

  /** Leaves out the secret and the body, so a delivery can be logged as is. */
  @Override
  public String toString() {
    return "WebhookDelivery[id="
        + deliveryId
        + ", host="
        + url.getHost()
        + ", signed="
        + (secret != null)
        + ", body="
        + body.length
        + " bytes]";
  }
}
