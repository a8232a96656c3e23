package dev.aggregator.server;

import java.util.Locale;

/**
 * What an API key may do (docs/DESIGN.md §11). {@code admin} implies the other two: an operator's
 * key can do everything an SDK's or a dashboard's can.
 */
enum Scope {
  /** Send events: the key an SDK or a browser page carries. */
  INGEST,
  /** Queries, the catalog, the dashboard's data, alerts (read-only), metrics, the WebSocket. */
  READ,
  /** Alert and key changes, dead letters, export, deletes, the audit log. */
  ADMIN;

  String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @throws IllegalArgumentException naming the scopes there are
   */
  static Scope parse(String s) {
    for (Scope scope : values()) {
      if (scope.label().equals(s)) {
        return scope;
      }
    }
    throw new IllegalArgumentException(
        "unknown scope '" + shorten(s) + "'; scopes are ingest, read and admin");
  }

  private static String shorten(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }
}
