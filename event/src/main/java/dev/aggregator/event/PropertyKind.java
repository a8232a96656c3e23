package dev.aggregator.event;

/** The JSON type a property had; numbers become fields, strings and booleans dimensions. */
public enum PropertyKind {
  STRING,
  NUMBER,
  BOOLEAN;

  private static final PropertyKind[] VALUES = values();

  /** The kind with the given {@link #ordinal()}, as stored in the log. */
  public static PropertyKind ofOrdinal(int ordinal) {
    return VALUES[ordinal];
  }
}
