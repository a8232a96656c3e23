package dev.aggregator.alerting;

import java.util.Locale;

/** How urgent a rule's alerts are; carried in notifications for the receiver to route on. */
public enum Severity {
  INFO,
  WARNING,
  CRITICAL;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @throws IllegalArgumentException naming the accepted values
   */
  public static Severity parse(String text) {
    for (Severity s : values()) {
      if (s.wire().equalsIgnoreCase(text.strip())) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "unknown severity '" + text + "'; use info, warning or critical");
  }
}
