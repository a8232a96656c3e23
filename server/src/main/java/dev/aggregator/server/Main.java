package dev.aggregator.server;

import java.io.IOException;
import java.util.Arrays;

/**
 * {@code java -jar server/target/aggregator.jar [--host H] [--port N] [--data-dir DIR] [--config
 * FILE]}: starts the aggregator and prints where it listens, where its data is and, when it made
 * one, where its admin key is; {@code ... aggregator.jar keys ...} manages keys offline ({@link
 * KeysCommand}).
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
    if (args.length > 0 && args[0].equals("keys")) {
      System.exit(
          KeysCommand.run(
              Arrays.copyOfRange(args, 1, args.length), System.getenv(), System.out, System.err));
      return;
    }
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
    server
        .adminKeyFile()
        .ifPresent(
            f ->
                System.out.println(
                    "admin API key in "
                        + f.toAbsolutePath().normalize()
                        + " (send it as Authorization: Bearer <key>; make more with POST"
                        + " /api/keys)"));
    System.out.println(
        "aggregator listening on "
            + (config.security().tlsCert() != null ? "https://" : "http://")
            + config.host()
            + ":"
            + server.port()
            + " with data in "
            + config.engine().dataDir().toAbsolutePath().normalize());
  }
}
