package dev.aggregator.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.aggregator.event.Event;
import dev.aggregator.testing.TestEvents;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk, simulated by channels that fail on demand: the appends caught in it fail (so they
 * were answered 503), the log heals once the disk has room again — without a restart — and a
 * restart replays only what was acknowledged, with no gap in the sequence.
 */
class FileEventLogFaultTest {
  private static final long ARRIVAL = 1_705_314_600_000L;

  /** While true, writes write half their bytes and then fail, as on ENOSPC; forces fail too. */
  private static volatile boolean full;

  @AfterEach
  void restore() {
    full = false;
    FileEventLog.channels = FileChannel::open;
  }

  private static long append(FileEventLog log, String id) {
    Event e = TestEvents.event("page_view").id(id).prop("n", 1).build();
    RecordBuffer records = new RecordBuffer(64);
    EventCodec.encode(e, ARRIVAL, records);
    return log.append(records.array(), records.length(), 1).join();
  }

  private static boolean fails(FileEventLog log, String id) {
    try {
      append(log, id);
      return false;
    } catch (CompletionException e) {
      return true;
    }
  }

  @Test
  void aFailedGroupCommitIsCutBackAndTheLogHealsWithoutARestart(@TempDir Path dir)
      throws Exception {
    FileEventLog.channels = (file, options) -> new FullDisk(FileChannel.open(file, options));
    List<String> acked = new ArrayList<>();
    try (FileEventLog log = FileEventLog.open(dir, FileEventLog.Options.defaults(), 0, e -> {})) {
      assertThat(append(log, "a0")).isEqualTo(0);
      acked.add("a0");
      full = true;
      assertThat(fails(log, "lost-1")).as("the disk is full").isTrue();
      assertThat(log.stats().failed()).isTrue();
      // While it stays full, appends keep failing (fast) and healing keeps being retried.
      Thread.sleep(2 * FileEventLog.HEAL_INTERVAL_NANOS / 1_000_000);
      assertThat(fails(log, "lost-2")).isTrue();
      full = false;
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (log.stats().failed() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(log.stats().failed()).as("healed once there is room").isFalse();
      assertThat(log.heals()).isGreaterThanOrEqualTo(1);
      assertThat(append(log, "a1")).as("no gap: the failed ones got no sequence").isEqualTo(1);
      acked.add("a1");
    }
    FileEventLog.channels = FileChannel::open;
    List<String> replayed = new ArrayList<>();
    try (FileEventLog log =
        FileEventLog.open(
            dir, FileEventLog.Options.defaults(), 0, e -> replayed.add(e.event().id()))) {
      assertThat(log.recoveryReport().truncatedBytes())
          .as("the half-written record was cut when it healed, not at the restart")
          .isZero();
    }
    assertThat(replayed).as("only what was acknowledged").isEqualTo(acked);
  }

  /** A channel of a disk that runs full while {@link #full} is set. */
  private static final class FullDisk extends FileChannel {
    private final FileChannel in;

    FullDisk(FileChannel in) {
      this.in = in;
    }

    private static IOException noSpace() {
      return new IOException("No space left on device");
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      if (full) {
        int half = src.remaining() / 2;
        ByteBuffer part = src.duplicate();
        part.limit(part.position() + half);
        in.write(part); // a torn write: some bytes reach the file, then the disk is full
        throw noSpace();
      }
      return in.write(src);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
      if (full) {
        for (int i = offset; i < offset + length; i++) {
          if (srcs[i].hasRemaining()) {
            write(srcs[i]);
          }
        }
        throw noSpace();
      }
      return in.write(srcs, offset, length);
    }

    @Override
    public void force(boolean metaData) throws IOException {
      if (full) {
        throw noSpace();
      }
      in.force(metaData);
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return in.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
      return in.read(dsts, offset, length);
    }

    @Override
    public long position() throws IOException {
      return in.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
      in.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return in.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
      in.truncate(size);
      return this;
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target)
        throws IOException {
      return in.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count)
        throws IOException {
      return in.transferFrom(src, position, count);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return in.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
      return in.write(src, position);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
      return in.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
      return in.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return in.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      in.close();
    }
  }
}
