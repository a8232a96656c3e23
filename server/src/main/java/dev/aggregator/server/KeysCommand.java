package dev.aggregator.server;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code java -jar aggregator.jar keys create|list|delete ...}: API keys of a data directory while
 * its server is stopped (a running server holds the keys' lock; then use {@code /api/keys}).
 *
 * <pre>{@code
 * java -jar aggregator.jar keys create --name sdk --scopes ingest [--rate-limit 100] [--data-dir DIR]
 * java -jar aggregator.jar keys list [--data-dir DIR]
 * java -jar aggregator.jar keys delete k_1a2b3c4d5e6f [--data-dir DIR]
 * }</pre>
 */
final class KeysCommand {
  static final String USAGE =
      "usage: java -jar aggregator.jar keys create --name NAME --scopes ingest,read,admin"
          + " [--rate-limit N] [--data-dir DIR]\n"
          + "       java -jar aggregator.jar keys list [--data-dir DIR]\n"
          + "       java -jar aggregator.jar keys delete ID [--data-dir DIR]\n";

  private KeysCommand() {}

  /**
   * Runs the command.
   *
   * @return the exit status: 0 done, 1 could not, 2 bad usage
   */
  static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      err.print(USAGE);
      return 2;
    }
    String verb = args[0];
    String name = null;
    String scopes = null;
    String id = null;
    int rate = -1;
    List<String> rest = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      boolean hasValue = i + 1 < args.length;
      switch (a) {
        case "--name" -> name = hasValue ? args[++i] : null;
        case "--scopes" -> scopes = hasValue ? args[++i] : null;
        case "--rate-limit" -> {
          try {
            rate = hasValue ? Integer.parseInt(args[++i]) : -2;
          } catch (NumberFormatException e) {
            rate = -2;
          }
          if (rate < 0) {
            err.println("aggregator keys: --rate-limit takes requests per second, 0 or more");
            return 2;
          }
        }
        default -> {
          if (!a.startsWith("--") && verb.equals("delete") && id == null) {
            id = a;
          } else {
            rest.add(a);
          }
        }
      }
    }
    ServerConfig config;
    try {
      config = ServerConfig.load(rest.toArray(String[]::new), env);
    } catch (ServerConfig.ConfigException e) {
      err.println("aggregator keys: " + e.getMessage());
      return 2;
    }
    try (ApiKeys keys =
        ApiKeys.open(config.engine().dataDir(), null, config.security().keyRateLimit())) {
      keys.generatedAdminFile()
          .filter(f -> verb.equals("create"))
          .ifPresent(f -> err.println("aggregator keys: an admin key was generated into " + f));
      switch (verb) {
        case "create" -> {
          Set<Scope> s = EnumSet.noneOf(Scope.class);
          if (scopes != null) {
            for (String part : scopes.split(",")) {
              s.add(Scope.parse(part.strip()));
            }
          }
          ApiKeys.Created c = keys.create(name, s, rate, "keys command");
          out.println(c.secret());
          err.println(
              "aggregator keys: created "
                  + c.key().id()
                  + " '"
                  + c.key().name()
                  + "' with scopes "
                  + c.key().scopeLabels()
                  + "; the line above is its secret, shown this once");
          return 0;
        }
        case "list" -> {
          for (ApiKeys.Key k : keys.list()) {
            out.println(
                k.id()
                    + "\t"
                    + k.name()
                    + "\t"
                    + String.join(",", k.scopeLabels())
                    + "\t"
                    + k.rateLimit());
          }
          return 0;
        }
        case "delete" -> {
          if (id == null) {
            err.print(USAGE);
            return 2;
          }
          if (!keys.delete(id)) {
            err.println("aggregator keys: no key " + id);
            return 1;
          }
          err.println("aggregator keys: deleted " + id);
          return 0;
        }
        default -> {
          err.print(USAGE);
          return 2;
        }
      }
    } catch (ApiKeys.KeyException e) {
      err.println("aggregator keys: " + e.getMessage());
      return 2;
    } catch (IllegalArgumentException e) {
      err.println("aggregator keys: " + e.getMessage());
      return 2;
    } catch (IOException e) {
      err.println(
          "aggregator keys: "
              + e.getMessage()
              + "; while the server runs, use POST /api/keys with an admin key");
      return 1;
    }
  }
}
