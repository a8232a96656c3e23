package dev.aggregator.storage;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The one truth of the {@link ParquetEventStore}: which Parquet files are live, up to which log
 * sequence they hold every event, the column registry and the retention horizon.
 *
 * <p>Immutable: every change (a seal, a compaction, a retention pass) writes a whole new manifest
 * to a temp file, fsyncs it, renames it over the old one and fsyncs the directory, so a crash
 * leaves either the old or the new one. A query holds the snapshot it started with.
 *
 * @param generation increases by one per manifest written; orders snapshots for file deletion
 * @param committedSequence every event with a sequence up to this is in {@code files}
 * @param horizonMillis the end of the newest day retention dropped, or {@code Long.MIN_VALUE}
 * @param nextFile the number of the next file to write ({@code part-<n>.parquet})
 * @param columns the column registry, in the order names were handed out
 * @param files the live files
 */
record StoreManifest(
    long generation,
    long committedSequence,
    long horizonMillis,
    long nextFile,
    List<ColumnRegistry.Column> columns,
    List<FileEntry> files) {
  static final String NAME = "manifest.json";
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonFactory JSON = MAPPER.getFactory();

  /**
   * One live Parquet file.
   *
   * @param path relative to the store's directory, with {@code /} separators
   * @param day the UTC epoch day of every event in it
   * @param columns the property columns it has (the reserved ones it always has)
   * @param eventTypes the event types it holds, or null when more than {@link #MAX_EVENT_TYPES}
   *     (then it is read for every type)
   * @param maxSequence the highest log sequence among its events
   */
  record FileEntry(
      String path,
      long day,
      long rows,
      long bytes,
      long minTime,
      long maxTime,
      long maxSequence,
      List<String> columns,
      List<String> eventTypes) {
    /**
     * A file lists its event types only while they are few: a query on one type then skips files
     * without opening them, and 64 names keep the manifest line small.
     */
    static final int MAX_EVENT_TYPES = 64;

    boolean mayHold(String eventType, long startMillis, long endMillis) {
      return minTime < endMillis
          && maxTime >= startMillis
          && (eventType == null || eventTypes == null || eventTypes.contains(eventType));
    }
  }

  static StoreManifest empty() {
    return new StoreManifest(0, -1, Long.MIN_VALUE, 1, List.of(), List.of());
  }

  long rows() {
    return files.stream().mapToLong(FileEntry::rows).sum();
  }

  long bytes() {
    return files.stream().mapToLong(FileEntry::bytes).sum();
  }

  /** The manifest in {@code dir}, or an empty one when there is none (a new store). */
  static StoreManifest read(Path dir) throws IOException {
    JsonNode root;
    try {
      root = MAPPER.readTree(Files.readAllBytes(dir.resolve(NAME)));
    } catch (NoSuchFileException e) {
      return empty();
    }
    List<ColumnRegistry.Column> columns = new ArrayList<>();
    for (JsonNode c : root.path("columns")) {
      columns.add(
          new ColumnRegistry.Column(
              c.get("key").asText(), c.get("numeric").asBoolean(), c.get("name").asText()));
    }
    List<FileEntry> files = new ArrayList<>();
    for (JsonNode f : root.path("files")) {
      List<String> fileColumns = new ArrayList<>();
      f.path("columns").forEach(n -> fileColumns.add(n.asText()));
      List<String> types = null;
      if (f.hasNonNull("eventTypes")) {
        List<String> list = new ArrayList<>();
        f.get("eventTypes").forEach(n -> list.add(n.asText()));
        types = List.copyOf(list);
      }
      files.add(
          new FileEntry(
              f.get("path").asText(),
              f.get("day").asLong(),
              f.get("rows").asLong(),
              f.get("bytes").asLong(),
              f.get("minTime").asLong(),
              f.get("maxTime").asLong(),
              f.get("maxSequence").asLong(),
              List.copyOf(fileColumns),
              types));
    }
    return new StoreManifest(
        root.get("generation").asLong(),
        root.get("committedSequence").asLong(),
        root.get("horizonMillis").asLong(),
        root.get("nextFile").asLong(),
        List.copyOf(columns),
        List.copyOf(files));
  }

  /** Writes this manifest durably and atomically into {@code dir}. */
  void write(Path dir) throws IOException {
    Path tmp = dir.resolve(NAME + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp);
        JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeNumberField("generation", generation);
      g.writeNumberField("committedSequence", committedSequence);
      g.writeNumberField("horizonMillis", horizonMillis);
      g.writeNumberField("nextFile", nextFile);
      g.writeArrayFieldStart("columns");
      for (ColumnRegistry.Column c : columns) {
        g.writeStartObject();
        g.writeStringField("key", c.key());
        g.writeBooleanField("numeric", c.numeric());
        g.writeStringField("name", c.name());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeArrayFieldStart("files");
      for (FileEntry f : files) {
        g.writeStartObject();
        g.writeStringField("path", f.path());
        g.writeNumberField("day", f.day());
        g.writeNumberField("rows", f.rows());
        g.writeNumberField("bytes", f.bytes());
        g.writeNumberField("minTime", f.minTime());
        g.writeNumberField("maxTime", f.maxTime());
        g.writeNumberField("maxSequence", f.maxSequence());
        g.writeArrayFieldStart("columns");
        for (String c : f.columns()) {
          g.writeString(c);
        }
        g.writeEndArray();
        if (f.eventTypes() != null) {
          g.writeArrayFieldStart("eventTypes");
          for (String t : f.eventTypes()) {
            g.writeString(t);
          }
          g.writeEndArray();
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    fsync(tmp);
    Files.move(tmp, dir.resolve(NAME), StandardCopyOption.ATOMIC_MOVE);
    fsync(dir);
  }

  /** Forces a file's (or a directory's entries') bytes to disk. */
  static void fsync(Path path) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
