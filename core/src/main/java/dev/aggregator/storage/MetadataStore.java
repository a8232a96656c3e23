package dev.aggregator.storage;

import java.io.IOException;
import java.util.Map;

/**
 * Durable key-value metadata: the catalog's journal and the checkpoint (written with the rollup
 * rows they describe), alert rules, their history and the webhook outbox. Keys are strings, values
 * opaque bytes; every change goes through an atomic, durable {@link MetaBatch}.
 *
 * <p>Alerts need only this, not rows: in embedded mode it is the rollup store's metadata (one
 * RocksDB, so a checkpoint's catalog entries and rows commit together); in cluster mode it is a
 * PostgreSQL table that every server shares (docs/DESIGN.md §10).
 */
public interface MetadataStore {

  /** A metadata value, or null. */
  byte[] getMeta(String key) throws IOException;

  /** Every metadata entry whose key starts with {@code prefix}, in key order. */
  Map<String, byte[]> metaWithPrefix(String prefix) throws IOException;

  /**
   * The entries of {@link #metaWithPrefix(String)} whose key is {@code fromKey} or after: what an
   * append-only series of keys (the catalog's journal) holds past what a reader has seen, without
   * reading it all again. The default filters the whole prefix; stores override it with a seek.
   */
  default Map<String, byte[]> metaWithPrefix(String prefix, String fromKey) throws IOException {
    Map<String, byte[]> out = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, byte[]> e : metaWithPrefix(prefix).entrySet()) {
      if (e.getKey().compareTo(fromKey) >= 0) {
        out.put(e.getKey(), e.getValue());
      }
    }
    return out;
  }

  /** A new, empty batch; nothing happens until {@link #write}. */
  MetaBatch batch();

  /**
   * Applies the batch atomically and durably (fsynced) before returning, or not at all: if a
   * condition the batch {@linkplain MetaBatch#requireMeta requires} does not hold, nothing is
   * written and this throws {@link StaleWriteException}.
   */
  void write(MetaBatch batch) throws IOException;
}
