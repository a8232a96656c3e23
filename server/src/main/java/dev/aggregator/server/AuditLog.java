package dev.aggregator.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who did what as an admin (docs/DESIGN.md §11): one JSON line per alert or key change, export,
 * read of dead letters or delete, naming the key that did it and the status it got, in {@code
 * audit.log} of the data directory. Lines are written and fsynced by one worker as requests finish.
 * Past {@link #MAX_BYTES} the file moves to {@code audit.log.1} (one generation kept), so the log
 * cannot fill the disk.
 */
final class AuditLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
  static final String FILE = "audit.log";
  static final long MAX_BYTES = 64L << 20;

  /** Entries one {@code GET /api/audit} returns at most. */
  static final int MAX_READ = 1_000;

  /** Longest line read back; longer ones (not written by us) are skipped. */
  private static final int MAX_LINE = 16 * 1024;

  private final Path file;
  private FileChannel out; // guarded by this
  private long bytes; // guarded by this

  AuditLog(Path dir) throws IOException {
    this.file = dir.resolve(FILE);
    open();
  }

  private void open() throws IOException {
    out =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    bytes = out.size();
  }

  /**
   * Records an action; blocks for an fsync (~1 ms), so callers run it on a worker thread.
   *
   * @param target what was acted on: an alert or key id, a query string; null for none
   */
  synchronized void record(ApiKeys.Key by, String action, String target, int status)
      throws IOException {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("time", Instant.now().toString());
    e.put("keyId", by.id());
    e.put("keyName", by.name());
    e.put("action", action);
    if (target != null) {
      e.put("target", target.length() > 1024 ? target.substring(0, 1024) + "…" : target);
    }
    e.put("status", status);
    byte[] line = (Http.JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8);
    if (bytes + line.length > MAX_BYTES) {
      out.close();
      Files.move(file, file.resolveSibling(FILE + ".1"), StandardCopyOption.REPLACE_EXISTING);
      open();
    }
    ByteBuffer buf = ByteBuffer.wrap(line);
    while (buf.hasRemaining()) {
      out.write(buf);
    }
    out.force(false);
    bytes += line.length;
  }

  /** The newest {@code limit} entries, newest first, in constant memory beyond them. */
  synchronized List<JsonNode> newest(int limit) throws IOException {
    ArrayDeque<JsonNode> kept = new ArrayDeque<>(limit);
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      char[] chunk = new char[8192];
      StringBuilder line = new StringBuilder();
      boolean tooLong = false;
      int n;
      while ((n = in.read(chunk)) >= 0) {
        for (int i = 0; i < n; i++) {
          char c = chunk[i];
          if (c != '\n') {
            if (line.length() < MAX_LINE) {
              line.append(c);
            } else {
              tooLong = true;
            }
            continue;
          }
          if (!tooLong && !line.isEmpty()) {
            try {
              kept.addLast(Http.JSON.readTree(line.toString()));
              if (kept.size() > limit) {
                kept.removeFirst();
              }
            } catch (IOException notJson) {
              LOG.warn("skipping an audit line that is not JSON");
            }
          }
          line.setLength(0);
          tooLong = false;
        }
      }
    }
    List<JsonNode> newestFirst = new ArrayList<>(kept);
    Collections.reverse(newestFirst);
    return newestFirst;
  }

  @Override
  public synchronized void close() {
    try {
      out.close();
    } catch (IOException e) {
      // nothing buffered: every record was forced
    }
  }
}
