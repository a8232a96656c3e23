package dev.aggregator.ingestion;

import java.util.Locale;

/** How a batch body is framed, from its {@code Content-Type}. */
public enum BodyFormat {
  /** A JSON array of events, or an object {@code {"events": [...]}}. */
  JSON,
  /** One JSON event per line ({@code application/x-ndjson}). */
  NDJSON;

  /**
   * The format for a {@code Content-Type} header value, or {@code null} if unsupported. A missing
   * header is read as JSON, as most HTTP clients send JSON without saying so.
   */
  public static BodyFormat ofContentType(String contentType) {
    if (contentType == null || contentType.isBlank()) {
      // Refused: a cross-site page can POST without a Content-Type (or with text/plain) in
      // no-cors mode, without a preflight; application/json needs one.
      return null;
    }
    String mime = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    return switch (mime) {
      case "application/json", "text/json" -> JSON;
      case "application/x-ndjson",
          "application/ndjson",
          "application/jsonlines",
          "application/x-jsonlines" ->
          NDJSON;
      default -> null;
    };
  }
}
