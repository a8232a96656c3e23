package dev.aggregator.storage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The newest dead letters, bounded in memory and on disk ({@code deadletters.ndjson}).
 *
 * <p>Adding never blocks ingestion: entries go to a bounded queue that a background thread writes
 * and fsyncs about once a second; when that queue is full the entry is still shown but not
 * persisted, and counted as {@link #unpersisted()}. The file is rewritten with only the newest
 * {@code capacity} entries once it holds twice that many.
 *
 * <p>Entries for events that reached the event log carry their sequence number. Replaying the log
 * on start re-derives those dead letters; {@link #persistedUpTo()} lets the caller skip the ones
 * already on disk, so a restart never lists an event twice.
 */
public final class DeadLetterLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterLog.class);
  private static final JsonFactory JSON = new JsonFactory();
  static final String FILE = "deadletters.ndjson";

  /** Queued by {@link #close()} to wake the writer at once; never written. */
  private static final DeadLetter WAKE = new DeadLetter(0, "", null, List.of(), "");

  private final Path file;
  private final int capacity;
  private final Deque<DeadLetter> newest = new ArrayDeque<>();
  private final BlockingQueue<DeadLetter> toWrite;
  private final AtomicLong total = new AtomicLong();
  private final AtomicLong unpersisted = new AtomicLong();
  private final Thread writer;
  private final CountDownLatch closing = new CountDownLatch(1);
  private final long persistedUpTo;
  private volatile boolean closed;
  private long linesOnDisk;

  /**
   * @param capacity entries kept (default 10,000)
   */
  public DeadLetterLog(Path dir, int capacity) throws IOException {
    Files.createDirectories(dir);
    this.file = dir.resolve(FILE);
    this.capacity = capacity;
    this.toWrite = new ArrayBlockingQueue<>(Math.max(1024, capacity));
    long maxSequence = -1;
    if (Files.exists(file)) {
      long[] max = {-1};
      long skipped =
          forEachLine(
              file,
              line -> {
                linesOnDisk++;
                DeadLetter d = parse(line);
                if (d == null) {
                  return; // a torn last line after a crash
                }
                if (d.sequence() != null) {
                  max[0] = Math.max(max[0], d.sequence());
                }
                remember(d.bounded());
              });
      if (skipped > 0) {
        LOG.warn("skipped {} dead-letter lines over {} bytes", skipped, MAX_LINE_BYTES);
      }
      maxSequence = max[0];
      endTornLine();
    }
    this.persistedUpTo = maxSequence;
    this.total.set(newest.size());
    this.writer = new Thread(this::writeLoop, "deadletter-writer");
    this.writer.setDaemon(true);
    this.writer.start();
  }

  /** The highest log sequence number among persisted entries, or -1. */
  public long persistedUpTo() {
    return persistedUpTo;
  }

  public void add(DeadLetter d) {
    d = d.bounded();
    synchronized (newest) {
      remember(d);
    }
    total.incrementAndGet();
    if (!toWrite.offer(d)) {
      unpersisted.incrementAndGet();
    }
  }

  /** The newest entries first, at most {@code limit}, optionally only of one reason. */
  public List<DeadLetter> newest(int limit, String reason) {
    List<DeadLetter> out = new ArrayList<>(Math.min(limit, capacity));
    synchronized (newest) {
      var it = newest.descendingIterator();
      while (it.hasNext() && out.size() < limit) {
        DeadLetter d = it.next();
        if (reason == null || reason.equals(d.reason())) {
          out.add(d);
        }
      }
    }
    return out;
  }

  /** Entries held now (at most the capacity). */
  public int size() {
    synchronized (newest) {
      return newest.size();
    }
  }

  /** Entries added since start, plus those loaded from disk. */
  public long total() {
    return total.get();
  }

  /** Entries shown but not written to disk because the writer fell behind. */
  public long unpersisted() {
    return unpersisted.get();
  }

  private void remember(DeadLetter d) {
    newest.addLast(d);
    if (newest.size() > capacity) {
      newest.removeFirst();
    }
  }

  private void writeLoop() {
    List<DeadLetter> batch = new ArrayList<>();
    while (!closed || !toWrite.isEmpty()) {
      try {
        DeadLetter first = toWrite.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        toWrite.drainTo(batch);
        batch.removeIf(d -> d == WAKE);
        if (!batch.isEmpty()) {
          append(batch);
          batch.clear();
          if (linesOnDisk > 2L * capacity) {
            compact();
          }
        }
        if (!closed) {
          // One fsync a second at most: dead letters are not acknowledged data. close() ends the
          // wait; the loop then drains what is left.
          closing.await(1, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        // not expected (close() does not interrupt); the loop drains what is left
      } catch (IOException e) {
        LOG.warn("writing dead letters to {}: {}", file, e.toString());
        unpersisted.addAndGet(batch.size());
        batch.clear();
      }
    }
  }

  private void append(List<DeadLetter> batch) throws IOException {
    StringBuilder text = new StringBuilder(batch.size() * 256);
    for (DeadLetter d : batch) {
      text.append(toJson(d)).append('\n');
    }
    try (FileChannel ch =
            FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        OutputStream out = Channels.newOutputStream(ch)) {
      out.write(text.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      ch.force(false);
    }
    linesOnDisk += batch.size();
  }

  /**
   * Rewrites the file with its newest {@code capacity} lines. Reads the file, not the in-memory
   * list: the list may hold entries still queued for writing, which would then be written twice.
   */
  private void compact() throws IOException {
    long drop = Math.max(0, linesOnDisk - capacity); // counted at open and by every append
    Path tmp = file.resolveSibling(FILE + ".tmp");
    long[] kept = {0};
    try (FileChannel ch =
            FileChannel.open(
                tmp,
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        java.io.Writer out =
            new java.io.BufferedWriter(
                new java.io.OutputStreamWriter(
                    Channels.newOutputStream(ch), StandardCharsets.UTF_8),
                1 << 16)) {
      long[] n = {0};
      forEachLine(
          file,
          line -> {
            if (n[0]++ >= drop) {
              try {
                out.write(line);
                out.write('\n');
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
              kept[0]++;
            }
          });
      out.flush();
      ch.force(false);
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    FileEventLog.syncDirectory(file.getParent());
    linesOnDisk = kept[0];
  }

  /**
   * Longest line read back; longer ones (from versions without a per-letter budget) are skipped.
   */
  static final int MAX_LINE_BYTES = 64 << 10;

  /**
   * Streams the file's lines to {@code each}, in constant memory whatever the file holds: lines
   * over {@link #MAX_LINE_BYTES} are skipped, not read (a 724 MB file of huge letters once made
   * every start fail here). Returns how many were skipped.
   */
  static long forEachLine(Path file, java.util.function.Consumer<String> each) throws IOException {
    long skipped = 0;
    byte[] line = new byte[MAX_LINE_BYTES];
    try (java.io.InputStream in =
        new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      int len = 0;
      boolean over = false;
      for (int b = in.read(); b >= 0; b = in.read()) {
        if (b == '\n') {
          if (over) {
            skipped++;
          } else {
            each.accept(new String(line, 0, len, StandardCharsets.UTF_8));
          }
          len = 0;
          over = false;
        } else if (len < line.length) {
          line[len++] = (byte) b;
        } else {
          over = true;
        }
      }
      if (len > 0 && !over) {
        each.accept(new String(line, 0, len, StandardCharsets.UTF_8)); // a torn last line
      }
    }
    return skipped;
  }

  /**
   * Ends a last line torn by a crash mid-append, so that the next append starts a line of its own
   * instead of being glued to the torn one and lost with it on the next load.
   */
  private void endTornLine() throws IOException {
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = ch.size();
      if (size == 0) {
        return;
      }
      ByteBuffer last = ByteBuffer.allocate(1);
      ch.read(last, size - 1);
      if (last.get(0) != '\n') {
        ch.write(ByteBuffer.wrap(new byte[] {'\n'}), size);
        ch.force(false);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    // No interrupt: interrupting a thread inside FileChannel I/O closes the channel, and the batch
    // being written would be lost. The latch ends the writer's pause; WAKE ends its poll.
    closing.countDown();
    toWrite.offer(WAKE);
    try {
      writer.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static String toJson(DeadLetter d) {
    StringWriter out = new StringWriter(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("time", d.time());
      g.writeStringField("reason", d.reason());
      if (d.sequence() != null) {
        g.writeNumberField("sequence", d.sequence());
      }
      g.writeArrayFieldStart("problems");
      for (DeadLetter.Problem p : d.problems()) {
        g.writeStartObject();
        if (p.field() != null) {
          g.writeStringField("field", p.field());
        }
        g.writeStringField("message", p.message());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeStringField("event", d.event());
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }

  /** Parses one line written by {@link #toJson}, or returns null if it is torn or foreign. */
  static DeadLetter parse(String line) {
    try (JsonParser p = JSON.createParser(line)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      long time = 0;
      String reason = null;
      Long sequence = null;
      String event = "";
      List<DeadLetter.Problem> problems = new ArrayList<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        switch (name) {
          case "time" -> time = p.getLongValue();
          case "reason" -> reason = p.getText();
          case "sequence" -> sequence = p.getLongValue();
          case "event" -> event = p.getText();
          case "problems" -> {
            while (p.nextToken() == JsonToken.START_OBJECT) {
              String field = null;
              String message = "";
              while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.currentName();
                p.nextToken();
                if (k.equals("field")) {
                  field = p.getText();
                } else if (k.equals("message")) {
                  message = p.getText();
                } else {
                  p.skipChildren();
                }
              }
              problems.add(new DeadLetter.Problem(field, message));
            }
          }
          default -> p.skipChildren();
        }
      }
      return reason == null
          ? null
          : new DeadLetter(time, reason, sequence, List.copyOf(problems), event);
    } catch (IOException e) {
      return null;
    }
  }
}
