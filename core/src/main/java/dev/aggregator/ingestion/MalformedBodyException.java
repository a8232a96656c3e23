package dev.aggregator.ingestion;

/**
 * A JSON body that cannot be parsed as a whole (broken syntax outside one NDJSON line, or not an
 * array/object); nothing in it is kept.
 */
public final class MalformedBodyException extends Exception {
  private static final long serialVersionUID = 1L;

  public MalformedBodyException(String message) {
    super(message, null, false, false);
  }
}
