package dev.aggregator.server;

import java.io.IOException;
import java.util.Arrays;

/**
 * {@code java -jar server/target/aggregator.jar [--host H] [--port N] [--data-dir DIR] [--config
 * FILE]}: starts the aggregator and prints where it listens and where its data is.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // An OutOfMemoryError once killed the log writer, aggregation and alert threads while the
    // process stayed "up" and acknowledged nothing more. A server in that state is worse than a
    // stopped one: exit at once, so that a supervisor restarts it; the log replays every
    // acknowledged event. (Every budget exists so that this never happens.)
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, e) -> {
          if (e instanceof VirtualMachineError) {
            try {
              System.err.println(
                  "aggregator: fatal " + e + " in thread " + thread.getName() + "; exiting");
            } finally {
              Runtime.getRuntime().halt(70);
            }
          }
          System.err.println("aggregator: uncaught " + e + " in thread " + thread.getName());
          e.printStackTrace();
        });
    if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
      System.out.print(ServerConfig.usage());
      return;
    }
    ServerConfig config;
    try {
      config = ServerConfig.load(args, System.getenv());
    } catch (ServerConfig.ConfigException e) {
      System.err.println("aggregator: " + e.getMessage());
      System.exit(2);
      return;
    }
    AggregatorServer server;
    try {
      server = AggregatorServer.start(config);
    } catch (IOException e) {
      System.err.println("aggregator: " + e.getMessage());
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
    System.out.println(
        "aggregator listening on http://"
            + config.host()
            + ":"
            + server.port()
            + " with data in "
            + config.engine().dataDir().toAbsolutePath().normalize());
  }
}
