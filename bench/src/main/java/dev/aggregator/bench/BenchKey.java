package dev.aggregator.bench;

/**
 * The API key the tools here send: {@code AGGREGATOR_KEY}, e.g. {@code export AGGREGATOR_KEY=$(cat
 * data/admin.key)} for a server started on {@code ./data}.
 */
final class BenchKey {
  private BenchKey() {}

  /** The {@code Authorization} header's value; fails with what to do when the key is not set. */
  static String authorization() {
    String key = System.getenv("AGGREGATOR_KEY");
    if (key == null || key.isBlank()) {
      throw new IllegalStateException(
          "set AGGREGATOR_KEY to an API key of the server, e.g."
              + " export AGGREGATOR_KEY=$(cat data/admin.key)");
    }
    return "Bearer " + key.strip();
  }
}
