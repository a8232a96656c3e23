package dev.aggregator.server;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Starts the real server for a test: on a free port, over a data directory of the test's. */
final class TestServers {
  /** The admin key every test server is started with ({@code adminKey}). */
  static final String ADMIN_KEY = "test-admin-key-0123456789";

  private TestServers() {}

  /**
   * @param settings more settings, as environment variables ({@code AGGREGATOR_WEBHOOK_ALLOW}...);
   *     {@code AGGREGATOR_ADMIN_KEY} mapped to "" starts without a configured admin key
   */
  static AggregatorServer start(Path dataDir, Map<String, String> settings) throws Exception {
    Map<String, String> env = new HashMap<>(settings);
    env.put("AGGREGATOR_DATA_DIR", dataDir.toString());
    env.put("AGGREGATOR_PORT", "0");
    env.putIfAbsent("AGGREGATOR_ADMIN_KEY", ADMIN_KEY);
    return AggregatorServer.start(ServerConfig.load(new String[0], env));
  }

  static AggregatorServer start(Path dataDir) throws Exception {
    return start(dataDir, Map.of());
  }
}
