package dev.aggregator.storage;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import io.prometheus.metrics.core.metrics.Histogram;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A segmented write-ahead log on local disk with group commit.
 *
 * <p>Segments are files named by the sequence number of their first record ({@code
 * 00000000000000000000.wal}); each record is framed as {@code [length][crc32c][payload]}. One
 * writer thread takes every pending append, writes them with one gathering write and covers them
 * all with one {@code fdatasync}: on this machine an fsync costs ~0.7 ms for 64 KiB, so batching
 * whatever arrived during the previous fsync turns ~1,400 syncs/s into as many events per sync as
 * the load brings, with no timer to tune.
 *
 * <p>Opening replays every valid record to a consumer and cuts a torn or corrupt tail at the last
 * valid record (a crash mid-write leaves one); later segments, if any, are kept aside as {@code
 * *.corrupt}. Opening never fails on bad data, only on I/O errors.
 *
 * <pre>{@code
 * FileEventLog log = FileEventLog.open(dir, FileEventLog.Options.defaults(), 0, replayed -> {});
 * RecordBuffer records = new RecordBuffer(1024);
 * EventCodec.encode(event, System.currentTimeMillis(), records);
 * long sequence = log.append(records.array(), records.length(), records.records()).join();
 * }</pre>
 */
public final class FileEventLog implements EventLog {
  private static final Logger LOG = LoggerFactory.getLogger(FileEventLog.class);
  private static final String SUFFIX = ".wal";

  /** Far above any valid event (32 KiB of JSON); a larger length field means a corrupt header. */
  static final int MAX_RECORD_BYTES = 1 << 20;

  /**
   * @param segmentBytes a segment is closed once it holds this many bytes (default 64 MiB)
   * @param maxBytesPerSync appends covered by one fsync, at most (bounds ack latency under load)
   */
  public record Options(long segmentBytes, int maxBytesPerSync) {
    public static Options defaults() {
      return new Options(64L << 20, 8 << 20);
    }
  }

  private final Path dir;
  private final Options options;
  private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread writer;
  private final AtomicLong records = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong syncs = new AtomicLong();
  private final long truncatedRecoveries;
  private final Histogram syncSeconds =
      Histogram.builder()
          .name("aggregator_wal_fsync_seconds")
          .help("Time of one write-ahead log fsync (one covers many appends)")
          .classicUpperBounds(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
          .build();

  private final Object closeLock = new Object();
  private RecoveryReport recoveryReport;
  private volatile boolean closed;
  private volatile IOException failure;
  private volatile long nextSequence;
  private volatile int segmentCount;
  private volatile long diskBytes;

  // Owned by the writer thread after open().
  private FileChannel active;
  private Path activePath;
  private long activeBytes;
  // Where the last fsync left the log: what a failed group commit is cut back to.
  private Path syncedPath;
  private long syncedBytes;
  private long nextHealNanos;
  private final AtomicLong heals = new AtomicLong();

  /** Opens segment files; tests give one whose channels fail on demand (a full disk). */
  interface Channels {
    FileChannel open(Path file, java.nio.file.OpenOption... options) throws IOException;
  }

  static Channels channels = FileChannel::open;

  /** How long a failed log waits between attempts to heal (cut back and reopen its segment). */
  static final long HEAL_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  private record Pending(byte[] bytes, int length, int count, CompletableFuture<Long> done) {}

  /**
   * A request, not records: start a new segment, so that every record so far is in a closed one.
   */
  private static final byte[] ROLL = new byte[0];

  /** Held by whatever rewrites or deletes closed segments: trim and redaction. */
  private final Object segmentLock = new Object();

  private FileEventLog(Path dir, Options options, long nextSequence, long truncatedRecoveries) {
    this.dir = dir;
    this.options = options;
    this.nextSequence = nextSequence;
    this.truncatedRecoveries = truncatedRecoveries;
    this.writer = new Thread(this::writeLoop, "wal-writer");
    this.writer.setDaemon(true);
  }

  /**
   * Opens (or creates) the log in {@code dir}, hands every valid record at or after {@code
   * fromSequence} to {@code replay} in order, cuts a bad tail, and starts accepting appends.
   */
  public static FileEventLog open(
      Path dir, Options options, long fromSequence, Consumer<LoggedEvent> replay)
      throws IOException {
    return open(dir, options, fromSequence, replay, (sequence, arrival, hasId, idHash) -> {});
  }

  /**
   * Like {@link #open(Path, Options, long, Consumer)}, also handing {@code before} the id and
   * arrival of every record before {@code fromSequence} — records a checkpoint already covers, read
   * only so far as dedup needs them, ~10x cheaper than decoding.
   */
  public static FileEventLog open(
      Path dir,
      Options options,
      long fromSequence,
      Consumer<LoggedEvent> replay,
      EventCodec.IdVisitor before)
      throws IOException {
    Files.createDirectories(dir);
    Recovery recovery = new Recovery(dir, fromSequence, replay, before);
    RecoveryReport report = recovery.run();
    FileEventLog log =
        new FileEventLog(dir, options, recovery.nextSequence, report.truncated() ? 1 : 0);
    log.recoveryReport = report;
    log.openActive(recovery.lastSegment, recovery.lastSegmentBase);
    log.syncedPath = log.activePath;
    log.syncedBytes = log.activeBytes;
    log.writer.start();
    return log;
  }

  /** What opening found: records replayed, bytes cut off a torn tail, time taken. */
  public RecoveryReport recoveryReport() {
    return recoveryReport;
  }

  /** The fsync latency histogram, for registration with the metrics registry. */
  public Histogram syncHistogram() {
    return syncSeconds;
  }

  @Override
  public CompletableFuture<Long> append(byte[] records, int length, int count) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    IOException failed = failure;
    if (failed != null) {
      done.completeExceptionally(failed);
      return done;
    }
    // Checked and queued under the lock close() takes: an append either precedes close() and is
    // written, or follows it and fails; none is left waiting.
    synchronized (closeLock) {
      if (closed) {
        done.completeExceptionally(new IOException("the log is closed"));
      } else {
        queue.add(new Pending(records, length, count, done));
      }
    }
    return done;
  }

  /**
   * Deletes whole segments no longer needed: every record in them is covered by a checkpoint
   * ({@code sequence <= checkpointed}), and either they were last written before {@code
   * olderThanMillis} (their ids are past the dedup window) or the log exceeds {@code maxBytes}. The
   * segment being written is never deleted. Returns how many were deleted.
   */
  public int trim(long checkpointed, long olderThanMillis, long maxBytes) throws IOException {
    synchronized (segmentLock) {
      return trimSegments(checkpointed, olderThanMillis, maxBytes);
    }
  }

  private int trimSegments(long checkpointed, long olderThanMillis, long maxBytes)
      throws IOException {
    List<Path> segments = segments(dir);
    long total = 0;
    for (Path p : segments) {
      total += Files.size(p);
    }
    int deleted = 0;
    for (int i = 0; i + 1 < segments.size(); i++) {
      Path p = segments.get(i);
      long lastSequence = baseSequence(segments.get(i + 1)) - 1;
      boolean old = Files.getLastModifiedTime(p).toMillis() < olderThanMillis;
      if (lastSequence > checkpointed || !(old || total > maxBytes)) {
        break; // oldest first: once one must stay, so do the later ones
      }
      long size = Files.size(p);
      Files.delete(p);
      total -= size;
      deleted++;
    }
    if (deleted > 0) {
      syncDirectory(dir);
      refreshDiskStats();
    }
    return deleted;
  }

  @Override
  public long nextSequence() {
    return nextSequence;
  }

  @Override
  public LogStats stats() {
    return new LogStats(
        nextSequence,
        records.get(),
        bytes.get(),
        syncs.get(),
        segmentCount,
        diskBytes,
        truncatedRecoveries,
        failure != null);
  }

  @Override
  public void close() {
    synchronized (closeLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    // No interrupt: interrupting a thread inside FileChannel I/O closes the channel.
    try {
      writer.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Pending> late = new ArrayList<>();
    queue.drainTo(late);
    for (Pending p : late) {
      p.done.completeExceptionally(new IOException("the log is closed"));
    }
    try {
      if (active != null) {
        active.force(false);
        active.close();
      }
    } catch (IOException e) {
      LOG.warn("closing the log: {}", e.toString());
    }
  }

  private void writeLoop() {
    List<Pending> batch = new ArrayList<>();
    while (true) {
      Pending first;
      try {
        first = queue.poll(20, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        first = null;
      }
      if (first == null) {
        if (closed) {
          return; // queue drained: everything appended before close() is durable
        }
        if (failure != null && System.nanoTime() >= nextHealNanos) {
          heal();
        }
        continue;
      }
      if (first.bytes == ROLL) {
        rollOnRequest(first.done);
        continue;
      }
      batch.add(first);
      int batchBytes = first.length;
      Pending next;
      while (batchBytes < options.maxBytesPerSync()
          && (next = queue.peek()) != null
          && next.bytes != ROLL) {
        batch.add(queue.poll());
        batchBytes += next.length;
      }
      writeAndSync(batch);
      batch.clear();
    }
  }

  private void writeAndSync(List<Pending> batch) {
    if (batch.isEmpty()) {
      return;
    }
    long[] first = new long[batch.size()];
    try {
      if (failure != null) {
        throw failure;
      }
      ByteBuffer[] pieces = new ByteBuffer[batch.size()];
      int piece = 0;
      long written = 0;
      // Bytes not yet in diskBytes: a roll recounts the files, which covers what it wrote first.
      long uncounted = 0;
      long seq = nextSequence;
      for (int i = 0; i < batch.size(); i++) {
        Pending p = batch.get(i);
        if (p.count > 0 && activeBytes > 0 && activeBytes + p.length > options.segmentBytes()) {
          writeFully(pieces, piece);
          piece = 0;
          roll(seq);
          uncounted = 0;
        }
        first[i] = seq;
        seq += p.count;
        if (p.length > 0) {
          pieces[piece++] = ByteBuffer.wrap(p.bytes, 0, p.length);
          activeBytes += p.length;
          written += p.length;
          uncounted += p.length;
        }
      }
      writeFully(pieces, piece);
      long start = System.nanoTime();
      active.force(false);
      syncSeconds.observe((System.nanoTime() - start) / 1e9);
      syncs.incrementAndGet();
      records.addAndGet(seq - nextSequence);
      bytes.addAndGet(written);
      diskBytes += uncounted;
      nextSequence = seq;
      syncedPath = activePath;
      syncedBytes = activeBytes;
    } catch (IOException e) {
      // After a failed write or fsync the file's state is unknown (fsync errors are not
      // retryable on Linux: the kernel may have dropped the dirty pages). Refuse these appends
      // (503), cut the log back to the last fsync so that none of them is replayed after a
      // restart, and heal: a full disk or a lack of descriptors passes.
      if (failure == null) {
        LOG.error("write-ahead log failed; refusing appends until it heals: {}", e.toString());
        failure = e;
      }
      for (Pending p : batch) {
        p.done.completeExceptionally(e);
      }
      if (System.nanoTime() >= nextHealNanos) {
        heal();
      }
      return;
    }
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).done.complete(first[i]);
    }
  }

  /**
   * Cuts the log back to its last fsync and reopens it: segments made since are deleted, the one
   * synced last is truncated to its synced length and synced again. Writer thread. On failure it
   * stays failed and is tried again after {@link #HEAL_INTERVAL_NANOS}.
   */
  private void heal() {
    nextHealNanos = System.nanoTime() + HEAL_INTERVAL_NANOS;
    try {
      if (active != null) {
        try {
          active.close();
        } catch (IOException ignored) {
          // its state is what is being repaired
        }
        active = null;
      }
      long syncedBase = baseSequence(syncedPath);
      for (Path p : segments(dir)) {
        if (baseSequence(p) > syncedBase) {
          Files.delete(p); // rolled to during the failed commit: nothing in it was acknowledged
        }
      }
      try (FileChannel ch = channels.open(syncedPath, StandardOpenOption.WRITE)) {
        if (ch.size() > syncedBytes) {
          ch.truncate(syncedBytes);
        }
        ch.force(true);
      }
      syncDirectory(dir);
      openActive(syncedPath, syncedBase);
      failure = null;
      heals.incrementAndGet();
      LOG.warn("write-ahead log healed: cut back to its last fsync; appends are accepted again");
    } catch (IOException | RuntimeException e) {
      LOG.debug("write-ahead log not healed yet: {}", e.toString());
    }
  }

  /** Writer thread: a roll asked for by {@link #redactUser}, between group commits. */
  private void rollOnRequest(CompletableFuture<Long> done) {
    try {
      if (failure != null) {
        throw failure;
      }
      if (activeBytes > 0) {
        roll(nextSequence); // forces the closed segment: all of it is synced
      }
      syncedPath = activePath;
      syncedBytes = activeBytes;
      done.complete(nextSequence);
    } catch (IOException e) {
      done.completeExceptionally(e);
    }
  }

  /**
   * Replaces every record up to {@code upTo} whose userId is {@code userId} by the same record
   * without its user and properties — same sequence, id, type, time and source — so positions,
   * dedup and replayed counts stay as they were. Starts a new segment first, so only closed
   * segments are rewritten (appends go on meanwhile); each one holding such a record is written
   * anew to a temporary file, fsynced and renamed over the old one, so a crash leaves either.
   *
   * @return how many records were redacted
   */
  public long redactUser(String userId, long upTo) throws IOException, InterruptedException {
    CompletableFuture<Long> rolled = new CompletableFuture<>();
    synchronized (closeLock) {
      if (closed) {
        throw new IOException("the log is closed");
      }
      queue.add(new Pending(ROLL, 0, 0, rolled));
    }
    try {
      rolled.get();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException("the log cannot start a new segment", e.getCause());
    }
    long redacted = 0;
    synchronized (segmentLock) {
      List<Path> segments = segments(dir);
      for (int i = 0; i + 1 < segments.size() && baseSequence(segments.get(i)) <= upTo; i++) {
        redacted += redactSegment(segments.get(i), userId, upTo);
      }
      if (redacted > 0) {
        syncDirectory(dir);
        refreshDiskStats();
      }
    }
    return redacted;
  }

  private static long redactSegment(Path segment, String userId, long upTo) throws IOException {
    Path tmp = segment.resolveSibling(segment.getFileName() + ".redact");
    EventProperties.Builder scratch = EventProperties.builder();
    RecordBuffer replacement = new RecordBuffer(256);
    List<int[]> hits = new ArrayList<>(); // {offset, old length, replacement offset, length}
    try (FileChannel in = FileChannel.open(segment, StandardOpenOption.READ)) {
      int size = (int) in.size();
      MappedByteBuffer map = in.map(FileChannel.MapMode.READ_ONLY, 0, size);
      long sequence = baseSequence(segment);
      for (int pos = 0; pos + RecordBuffer.HEADER_BYTES <= size && sequence <= upTo; sequence++) {
        int length = map.getInt(pos);
        if (length <= 0 || length > size - pos - RecordBuffer.HEADER_BYTES) {
          break; // recovery cut bad tails on open; a closed segment has none
        }
        LoggedEvent logged =
            EventCodec.decode(
                sequence, map.slice(pos + RecordBuffer.HEADER_BYTES, length), scratch);
        Event e = logged.event();
        if (userId.equals(e.userId())) {
          int from = replacement.length();
          EventCodec.encode(
              new Event(
                  e.id(), e.eventType(), null, e.timestamp(), e.source(), EventProperties.empty()),
              logged.arrivalMillis(),
              replacement);
          hits.add(
              new int[] {
                pos, RecordBuffer.HEADER_BYTES + length, from, replacement.length() - from
              });
        }
        pos += RecordBuffer.HEADER_BYTES + length;
      }
      if (hits.isEmpty()) {
        return 0;
      }
      try (FileChannel out =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        int copied = 0;
        for (int[] h : hits) {
          writeAll(out, map.slice(copied, h[0] - copied));
          writeAll(out, ByteBuffer.wrap(replacement.array(), h[2], h[3]));
          copied = h[0] + h[1];
        }
        writeAll(out, map.slice(copied, size - copied));
        out.force(true);
      }
    }
    Files.move(tmp, segment, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return hits.size();
  }

  private static void writeAll(FileChannel out, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      out.write(b);
    }
  }

  /**
   * Hands {@code to} every logged record from {@code from} through {@code last}, in order, while
   * the log goes on taking appends: the read side the event store heals from after a full disk. The
   * records must be synced (every record a consumer was handed is) and not trimmed (trimming waits
   * for the event store's committed position, which a failed store does not advance).
   *
   * @throws IOException if a segment cannot be read or a record in the range is missing or corrupt
   */
  public void read(long from, long last, Consumer<LoggedEvent> to) throws IOException {
    if (from > last) {
      return;
    }
    List<Path> segments = segments(dir);
    CRC32C crc = new CRC32C();
    EventProperties.Builder scratch = EventProperties.builder();
    long sequence = -1;
    for (int i = 0; i < segments.size() && sequence <= last; i++) {
      long base = baseSequence(segments.get(i));
      long next = i + 1 < segments.size() ? baseSequence(segments.get(i + 1)) : Long.MAX_VALUE;
      if (next <= from) {
        continue;
      }
      if (sequence < 0 && base > from) {
        throw new IOException("the log no longer holds record " + from);
      }
      sequence = base;
      try (FileChannel ch = FileChannel.open(segments.get(i), StandardOpenOption.READ)) {
        long size = ch.size();
        if (size == 0) {
          continue;
        }
        MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        int pos = 0;
        while (pos < size && sequence <= last) {
          int length = validRecordLength(map, pos, (int) size, crc);
          if (length < 0) {
            throw new IOException("the log's record " + sequence + " cannot be read");
          }
          if (sequence >= from) {
            to.accept(
                EventCodec.decode(
                    sequence, map.slice(pos + RecordBuffer.HEADER_BYTES, length), scratch));
          }
          sequence++;
          pos += RecordBuffer.HEADER_BYTES + length;
        }
      }
    }
    if (sequence <= last) {
      throw new IOException("the log ends before record " + last);
    }
  }

  /** The payload length of the record at {@code pos}, or -1 if it is torn or corrupt. */
  private static int validRecordLength(ByteBuffer map, int pos, int limit, CRC32C crc) {
    if (limit - pos < RecordBuffer.HEADER_BYTES) {
      return -1;
    }
    int length = map.getInt(pos);
    int expectedCrc = map.getInt(pos + 4);
    if (length <= 0
        || length > MAX_RECORD_BYTES
        || length > limit - pos - RecordBuffer.HEADER_BYTES) {
      return -1;
    }
    crc.reset();
    crc.update(map.slice(pos + RecordBuffer.HEADER_BYTES, length));
    return (int) crc.getValue() == expectedCrc ? length : -1;
  }

  /** Times the log healed after a failure (cut back to its last fsync and went on). */
  public long heals() {
    return heals.get();
  }

  private void writeFully(ByteBuffer[] pieces, int count) throws IOException {
    int from = 0;
    while (from < count) {
      active.write(pieces, from, count - from);
      while (from < count && !pieces[from].hasRemaining()) {
        from++;
      }
    }
  }

  private void roll(long baseSequence) throws IOException {
    active.force(false);
    active.close();
    openActive(null, baseSequence);
  }

  /** Opens {@code existing} for appending, or creates the segment starting at {@code base}. */
  private void openActive(Path existing, long base) throws IOException {
    Path file = existing != null ? existing : dir.resolve(segmentName(base));
    boolean created = existing == null;
    active = channels.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    activePath = file;
    activeBytes = active.size();
    active.position(activeBytes);
    if (created) {
      syncDirectory(dir); // a new file's directory entry must be durable too
    }
    refreshDiskStats();
  }

  private void refreshDiskStats() throws IOException {
    List<Path> segments = segments(dir);
    long total = 0;
    for (Path p : segments) {
      total += Files.size(p);
    }
    segmentCount = segments.size();
    diskBytes = total;
  }

  static String segmentName(long baseSequence) {
    return String.format("%020d%s", baseSequence, SUFFIX);
  }

  static List<Path> segments(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).sorted().toList();
    }
  }

  private static long baseSequence(Path segment) {
    String name = segment.getFileName().toString();
    return Long.parseLong(name.substring(0, name.length() - SUFFIX.length()));
  }

  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems refuse to open directories; the segment data itself is still synced.
      LOG.debug("cannot fsync directory {}: {}", dir, e.toString());
    }
  }

  /** Reads every segment in order, replaying valid records and cutting a bad tail. */
  private static final class Recovery {
    final Path dir;
    final long fromSequence;
    final Consumer<LoggedEvent> replay;
    final EventCodec.IdVisitor before;
    final CRC32C crc = new CRC32C();
    final EventProperties.Builder scratch = EventProperties.builder();
    long nextSequence;
    Path lastSegment;
    long lastSegmentBase;
    long records;
    long replayed;
    long bytes;
    long truncatedBytes;
    int quarantined;

    Recovery(
        Path dir, long fromSequence, Consumer<LoggedEvent> replay, EventCodec.IdVisitor before) {
      this.dir = dir;
      this.fromSequence = fromSequence;
      this.replay = replay;
      this.before = before;
    }

    RecoveryReport run() throws IOException {
      long start = System.nanoTime();
      List<Path> segments = segments(dir);
      int read = 0;
      for (int i = 0; i < segments.size(); i++) {
        Path segment = segments.get(i);
        long base = baseSequence(segment);
        if (i > 0 && base != nextSequence) {
          LOG.error(
              "segment {} starts at sequence {}, expected {}; setting it and later ones aside",
              segment.getFileName(),
              base,
              nextSequence);
          quarantine(segments.subList(i, segments.size()));
          break;
        }
        nextSequence = base;
        lastSegment = segment;
        lastSegmentBase = base;
        read++;
        if (!readSegment(segment)) {
          quarantine(segments.subList(i + 1, segments.size()));
          break;
        }
      }
      if (lastSegment == null) {
        lastSegmentBase = nextSequence;
      }
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      RecoveryReport report =
          new RecoveryReport(read, records, replayed, bytes, truncatedBytes, quarantined, millis);
      if (report.truncated()) {
        LOG.warn(
            "write-ahead log had a torn or corrupt tail: cut {} bytes, set aside {} segment(s)",
            truncatedBytes,
            quarantined);
      }
      return report;
    }

    /** Reads one segment; returns false if it had to be cut. */
    private boolean readSegment(Path segment) throws IOException {
      try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
        long size = ch.size();
        if (size == 0) {
          return true;
        }
        MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        int pos = 0;
        int limit = (int) size;
        while (pos < limit) {
          int length = validRecordLength(map, pos, limit);
          if (length < 0) {
            cut(segment, pos, size);
            return false;
          }
          ByteBuffer payload = map.slice(pos + RecordBuffer.HEADER_BYTES, length);
          try {
            if (nextSequence >= fromSequence) {
              replay.accept(EventCodec.decode(nextSequence, payload, scratch));
              replayed++;
            } else {
              EventCodec.readIdAndArrival(nextSequence, payload, before);
            }
          } catch (IllegalArgumentException e) {
            LOG.warn("{} at offset {}: {}", segment.getFileName(), pos, e.getMessage());
            cut(segment, pos, size);
            return false;
          }
          nextSequence++;
          records++;
          pos += RecordBuffer.HEADER_BYTES + length;
          bytes += RecordBuffer.HEADER_BYTES + length;
        }
        return true;
      }
    }

    private int validRecordLength(ByteBuffer map, int pos, int limit) {
      return FileEventLog.validRecordLength(map, pos, limit, crc);
    }

    private void cut(Path segment, long at, long size) throws IOException {
      try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
        ch.truncate(at);
        ch.force(true);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot truncate " + segment, e);
      }
      truncatedBytes += size - at;
    }

    private void quarantine(List<Path> later) throws IOException {
      for (Path p : later) {
        Files.move(
            p, p.resolveSibling(p.getFileName() + ".corrupt"), StandardCopyOption.REPLACE_EXISTING);
        quarantined++;
      }
      if (!later.isEmpty()) {
        syncDirectory(dir);
      }
    }
  }
}
