package dev.aggregator.aggregation;

import dev.aggregator.storage.LogPosition;
import dev.aggregator.storage.MetaBatch;
import dev.aggregator.storage.MetadataStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * What a checkpoint leaves in the store's metadata beside its rows, and how a reader takes it back:
 * the checkpoint record ({@code checkpoint}: the {@link LogPosition} covered, the watermark, how
 * many catalog journal entries exist), the catalog's journal ({@code catalog/<n>}, append-only, in
 * order), each event type's counters ({@code stats/<type>}) and the format marker. The engine
 * writes it ({@link RollupEngine#checkpoint}); the engine on start and {@link StoredRollups} (a
 * reader with no engine) read it.
 *
 * @param position the log position the rows cover
 * @param watermark the newest event time applied
 * @param journalEntries how many catalog journal entries the store holds
 */
record StoredCheckpoint(LogPosition position, long watermark, long journalEntries) {
  static final String CHECKPOINT = "checkpoint";
  static final String JOURNAL = "catalog/";
  static final String STATS = "stats/";

  /** Present in stores written with marginal series (format 2). */
  static final String FORMAT = "format";

  /** Records before positions had partitions: sequence, watermark, journal length. */
  private static final int SEQUENCE_RECORD_BYTES = 24;

  /** Watermark, journal length, then the position (never 24 bytes long: 28 for one partition). */
  byte[] encode() {
    byte[] p = position.encode();
    return ByteBuffer.allocate(16 + p.length)
        .putLong(watermark)
        .putLong(journalEntries)
        .put(p)
        .array();
  }

  static StoredCheckpoint decode(byte[] record) {
    ByteBuffer b = ByteBuffer.wrap(record);
    if (record.length == SEQUENCE_RECORD_BYTES) {
      return new StoredCheckpoint(LogPosition.of(b.getLong()), b.getLong(), b.getLong());
    }
    long watermark = b.getLong();
    long journal = b.getLong();
    return new StoredCheckpoint(LogPosition.decode(b), watermark, journal);
  }

  /** The record's bytes as stored, or null before the first checkpoint. */
  static byte[] read(MetadataStore store) throws IOException {
    return store.getMeta(CHECKPOINT);
  }

  /**
   * Adds the catalog's entries {@code from, from + 1, …} and changed counters to {@code batch};
   * returns the number of journal entries the store holds once the batch is written.
   */
  static long writeCatalog(
      MetaBatch batch, List<byte[]> journal, Map<String, byte[]> stats, long from) {
    long n = from;
    for (byte[] entry : journal) {
      batch.putMeta(journalKey(n++), entry);
    }
    for (Map.Entry<String, byte[]> s : stats.entrySet()) {
      batch.putMeta(STATS + s.getKey(), s.getValue());
    }
    return n;
  }

  /**
   * Replays the journal entries after the first {@code from} into {@code catalog}, then restores
   * every type's counters; returns how many entries the journal holds. The catalog's own journal is
   * drained afterwards: replaying is not a change to write back.
   */
  static long replayCatalog(MetadataStore store, Catalog catalog, long from) throws IOException {
    long n = from; // entries are numbered 0, 1, ... in key order: read only those from `from` on
    for (byte[] entry : store.metaWithPrefix(JOURNAL, journalKey(from)).values()) {
      catalog.replay(entry);
      n++;
    }
    for (Map.Entry<String, byte[]> s : store.metaWithPrefix(STATS).entrySet()) {
      catalog.restoreStats(s.getKey().substring(STATS.length()), s.getValue());
    }
    catalog.drainJournal();
    catalog.drainStats();
    return n;
  }

  private static String journalKey(long n) {
    return JOURNAL + String.format("%016x", n);
  }

  /**
   * Whether the store was written by the full-combination design: it has a checkpoint ({@code
   * checkpoint}, as {@link #read} gave it) but no format marker.
   */
  static boolean beforeMarginals(MetadataStore store, byte[] checkpoint) throws IOException {
    return checkpoint != null && store.getMeta(FORMAT) == null;
  }
}
