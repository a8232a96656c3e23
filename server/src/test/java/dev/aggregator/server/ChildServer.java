package dev.aggregator.server;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server in a JVM of its own ({@link Main}), for tests that kill it, bound its heap or restart it
 * on the same data: started, and returned once it logs the port it listens on.
 */
record ChildServer(Process process, int port, TestClient client) {
  private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");

  /**
   * Starts {@code java <jvmFlags> Main <args>}; every later line of its output goes to {@code
   * lines} (on a daemon thread). A server that does not start within 90 s is destroyed and the test
   * fails with what it printed.
   */
  static ChildServer start(List<String> jvmFlags, List<String> args, Consumer<String> lines)
      throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmFlags);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    StringBuilder seen = new StringBuilder();
    while (System.nanoTime() < deadline) {
      String line = out.readLine();
      if (line == null) {
        break;
      }
      seen.append(line).append('\n');
      Matcher m = LISTENING.matcher(line);
      if (m.find()) {
        // Drained to the end: a child whose pipe fills blocks on its next log line.
        Thread drain = new Thread(() -> out.lines().forEach(lines), "drain");
        drain.setDaemon(true);
        drain.start();
        int port = Integer.parseInt(m.group(1));
        return new ChildServer(process, port, new TestClient(port));
      }
    }
    process.destroyForcibly();
    throw new AssertionError("the server did not start:\n" + seen);
  }

  /** A server on {@code dataDir} with the tests' admin key and any further arguments. */
  static ChildServer start(List<String> jvmFlags, Path dataDir, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("--port", "0", "--data-dir", dataDir.toString()));
    all.addAll(List.of(args));
    all.addAll(List.of("--admin-key", TestServers.ADMIN_KEY));
    return start(jvmFlags, all, line -> {});
  }
}
