package dev.aggregator.query;

/** A query that cannot be answered as asked; the message says why and what would work. */
public final class InvalidQueryException extends Exception {
  private static final long serialVersionUID = 1L;
  private final String parameter;

  public InvalidQueryException(String parameter, String message) {
    super(message, null, false, false);
    this.parameter = parameter;
  }

  /** The offending parameter, e.g. {@code granularity}. */
  public String parameter() {
    return parameter;
  }
}
