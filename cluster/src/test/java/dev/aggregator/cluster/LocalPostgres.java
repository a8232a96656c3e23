package dev.aggregator.cluster;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL server for tests: Debian's binaries ({@code /usr/lib/postgresql/<v>/bin}), a
 * fresh cluster in a temp dir on a free loopback port, started once per test JVM and stopped at its
 * exit. As root it runs as the {@code postgres} user (PostgreSQL refuses root). Each test takes a
 * schema of its own ({@link #newSchema}).
 */
public final class LocalPostgres {
  private static LocalPostgres shared;
  private static final AtomicInteger SCHEMAS = new AtomicInteger();

  private final Path dir;
  private final Path bin;
  private final int port;
  private final boolean asPostgresUser;

  private LocalPostgres(Path dir, Path bin, int port, boolean asPostgresUser) {
    this.dir = dir;
    this.bin = bin;
    this.port = port;
    this.asPostgresUser = asPostgresUser;
  }

  /** The server of this JVM, started on first use. */
  public static synchronized LocalPostgres shared() throws IOException, InterruptedException {
    if (shared == null) {
      shared = start();
      LocalPostgres s = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(s::stop, "postgres-stop"));
    }
    return shared;
  }

  private static LocalPostgres start() throws IOException, InterruptedException {
    Path bin = installed();
    if (bin == null) {
      String missing = "PostgreSQL is not installed (apt-get install postgresql)";
      if (System.getenv("AGGREGATOR_REQUIRE_POSTGRES") != null) {
        throw new IOException(missing + "; AGGREGATOR_REQUIRE_POSTGRES is set (.ci/run)");
      }
      // Like the browser test without Chromium: skipped on a machine without it, never in CI.
      Assumptions.abort(missing + ": skipping the tests that need it");
    }
    boolean root = "root".equals(System.getProperty("user.name"));
    Path dir = Files.createTempDirectory("aggregator-pg");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    LocalPostgres pg = new LocalPostgres(dir, bin, port, root);
    if (root) {
      pg.run(List.of("chown", "postgres", dir.toString()), false);
    }
    Path data = dir.resolve("data");
    pg.run(
        List.of(
            bin.resolve("initdb").toString(),
            "-D",
            data.toString(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync"),
        true);
    pg.pgCtlStart();
    return pg;
  }

  private void pgCtlStart() throws IOException, InterruptedException {
    run(
        List.of(
            bin.resolve("pg_ctl").toString(),
            "-D",
            dir.resolve("data").toString(),
            "-l",
            dir.resolve("log").toString(),
            "-w",
            "-o",
            "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1",
            "start"),
        true);
  }

  /**
   * Stops the server as a crash would ({@code -m immediate}: no shutdown checkpoint, recovery from
   * the WAL at start), waits {@code down}, and starts it again on the same port: every connection
   * open before is broken.
   */
  public void crashAndRestart(java.time.Duration down) throws IOException, InterruptedException {
    pgCtlStop();
    Thread.sleep(down.toMillis());
    pgCtlStart();
  }

  private void pgCtlStop() throws IOException, InterruptedException {
    run(
        List.of(
            bin.resolve("pg_ctl").toString(),
            "-D",
            dir.resolve("data").toString(),
            "-m",
            "immediate",
            "-w",
            "stop"),
        true);
  }

  /** Debian's newest PostgreSQL binaries (by major version), or null. */
  private static Path installed() throws IOException {
    Path root = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(root)) {
      return null;
    }
    try (Stream<Path> versions = Files.list(root)) {
      return versions
          .filter(v -> v.getFileName().toString().matches("[0-9]+"))
          .map(v -> v.resolve("bin"))
          .filter(b -> Files.isExecutable(b.resolve("initdb")))
          .max(
              Comparator.comparingInt(
                  b -> Integer.parseInt(b.getParent().getFileName().toString())))
          .orElse(null);
    }
  }

  private void run(List<String> command, boolean asServerUser)
      throws IOException, InterruptedException {
    List<String> full = new ArrayList<>();
    if (asServerUser && asPostgresUser) {
      full.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    full.addAll(command);
    Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", full) + " failed:\n" + out);
    }
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
  }

  public Properties properties() {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    return p;
  }

  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl(), properties());
  }

  /** A schema name no other test of this JVM uses (the store creates it). */
  public String newSchema() {
    return "t" + ProcessHandle.current().pid() + "_" + SCHEMAS.incrementAndGet();
  }

  /** Runs SQL as the superuser (tests that look under the store). */
  public void execute(String sql) throws SQLException {
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  private void stop() {
    try {
      pgCtlStop();
    } catch (IOException | InterruptedException e) {
      // the JVM is exiting; the temp dir is removed below either way
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind
    }
  }
}
