package dev.aggregator.storage;

/**
 * The log holds as much not yet durable as its budget allows; nothing of the refused append was
 * written, and a retry shortly may succeed (the server answers 429 with {@code Retry-After}).
 */
public final class LogFullException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LogFullException(String message) {
    super(message);
  }
}
