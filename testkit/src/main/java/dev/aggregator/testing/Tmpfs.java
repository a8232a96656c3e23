package dev.aggregator.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.opentest4j.TestAbortedException;

/**
 * A real, small file system (tmpfs) for tests that need a disk to run full. Mounting needs root (or
 * CAP_SYS_ADMIN); elsewhere the test is skipped with a sentence, unless {@code
 * AGGREGATOR_REQUIRE_MOUNT} is set, as {@code .ci/run} does where it can mount.
 */
public final class Tmpfs implements AutoCloseable {
  private final Path dir;

  private Tmpfs(Path dir) {
    this.dir = dir;
  }

  /** Mounts a tmpfs of {@code size} (as mount takes it: 16m, 256m) on {@code dir}. */
  public static Tmpfs mount(Path dir, String size) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    if (run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString()) != 0) {
      String why = "cannot mount a tmpfs here (needs root); this disk-full test is skipped";
      if (System.getenv("AGGREGATOR_REQUIRE_MOUNT") != null) {
        throw new AssertionError(why + ", but AGGREGATOR_REQUIRE_MOUNT is set");
      }
      throw new TestAbortedException(why);
    }
    return new Tmpfs(dir);
  }

  public Path dir() {
    return dir;
  }

  /** Writes {@code file} until the file system is full (the last write fails part way). */
  public static void fill(Path file) throws IOException {
    byte[] block = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(file)) {
      while (true) {
        out.write(block);
      }
    } catch (IOException full) {
      // no space left on the device: what the caller wants
    }
  }

  @Override
  public void close() throws IOException {
    try {
      run("umount", "-l", dir.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor();
  }
}
