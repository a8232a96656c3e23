package dev.aggregator.storage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.PropertyKind;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The unsealed events of the {@link ParquetEventStore}, staged as CSV until they become Parquet.
 *
 * <p>CSV because it is the fastest staging measured on this machine: Java writes CSV lines at ~1.1
 * M rows/s on one thread where DuckDB's Java appender manages ~0.37 M rows/s, and DuckDB turns CSV
 * into Parquet at ~1 M rows/s. Every string is quoted (embedded quotes doubled), an empty string is
 * {@code ""} and NULL an empty unquoted field, read back with {@code allow_quoted_nulls=false} and
 * explicit column types so nothing is sniffed. Measured in this store on the shared 2-core machine
 * (EventStoreMeasure, 1 M events of 4 string and 1 number properties): staging ~0.4 M rows/s and
 * sealing a 200k-row chunk 240-500 ms, one after the other on the writer thread, so ~0.2-0.3 M
 * rows/s end to end; sealing on a second thread while the next chunk stages would overlap the two.
 *
 * <p>Every row of a segment file has the same number of fields: DuckDB's parallel CSV reader
 * refuses {@code null_padding} together with quoted newlines, which strings may contain. A property
 * column first seen mid-chunk therefore starts a new segment with the wider column list; a segment
 * starts with the previous chunk's columns, so in a steady stream a chunk is one segment.
 *
 * <p>Owned by the writer thread.
 */
final class StagingChunk {
  private static final JsonFactory JSON = new JsonFactory();
  private static final long DAY_MILLIS = 86_400_000L;

  /** What the chunk holds of one UTC day; one Parquet file per day is written from it. */
  static final class Day {
    long rows;
    long minTime = Long.MAX_VALUE;
    long maxTime = Long.MIN_VALUE;
    long maxSequence = Long.MIN_VALUE;
    Set<String> eventTypes = new HashSet<>();
  }

  /** One CSV file with a fixed column list: the reserved columns, then {@code columns}. */
  record Segment(Path path, List<ColumnRegistry.Column> columns) {}

  private final Path stagingDir;
  private final ColumnRegistry registry;
  private final int maxColumns;
  private final List<Segment> segments = new ArrayList<>();
  private final TreeMap<Long, Day> days = new TreeMap<>();
  private final Map<ColumnRegistry.Column, Integer> positions = new HashMap<>();
  private List<ColumnRegistry.Column> columns;
  private Writer out;
  private String[] strings = new String[16];
  private double[] numbers = new double[16];
  private boolean[] set = new boolean[16];
  private final List<ColumnRegistry.Column> rowColumns = new ArrayList<>();
  private final List<Integer> extraIndexes = new ArrayList<>();
  private long rows;
  private long lastSequence = -1;
  private long startNanos;
  private boolean started;
  private int fileNumber;

  StagingChunk(
      Path stagingDir,
      ColumnRegistry registry,
      int maxColumns,
      List<ColumnRegistry.Column> startColumns) {
    this.stagingDir = stagingDir;
    this.registry = registry;
    this.maxColumns = maxColumns;
    this.columns = List.copyOf(startColumns);
  }

  long rows() {
    return rows;
  }

  long lastSequence() {
    return lastSequence;
  }

  long ageNanos(long now) {
    return started ? now - startNanos : 0;
  }

  TreeMap<Long, Day> days() {
    return days;
  }

  List<Segment> segments() {
    return segments;
  }

  /** Every property column any segment has, in first-seen order: the next chunk starts with it. */
  List<ColumnRegistry.Column> columns() {
    return columns;
  }

  /**
   * Stages one event.
   *
   * @param dropBefore events before this time (a day retention already dropped) are not kept
   */
  void add(Event e, long sequence, long dropBefore) throws IOException {
    if (!started) {
      started = true;
      startNanos = System.nanoTime();
    }
    lastSequence = sequence;
    if (e.timestamp() < dropBefore) {
      return;
    }
    EventProperties p = e.properties();
    rowColumns.clear();
    extraIndexes.clear();
    boolean widen = false;
    for (int i = 0; i < p.size(); i++) {
      ColumnRegistry.Column c =
          registry.getOrAdd(p.key(i), p.kind(i) == PropertyKind.NUMBER, maxColumns);
      rowColumns.add(c);
      if (c == null) {
        extraIndexes.add(i);
      } else if (!positions.containsKey(c)) {
        widen = true;
      }
    }
    if (out == null || widen) {
      List<ColumnRegistry.Column> wider = new ArrayList<>(columns);
      for (ColumnRegistry.Column c : rowColumns) {
        if (c != null && !wider.contains(c)) {
          wider.add(c);
        }
      }
      startSegment(wider);
    }
    for (int i = 0; i < p.size(); i++) {
      ColumnRegistry.Column c = rowColumns.get(i);
      if (c != null) {
        int pos = positions.get(c);
        set[pos] = true;
        if (c.numeric()) {
          numbers[pos] = p.number(i);
        } else {
          strings[pos] = p.string(i);
        }
      }
    }
    Writer w = out;
    quoted(w, e.eventType());
    w.write(',');
    w.write(Long.toString(e.timestamp()));
    w.write(',');
    quoted(w, e.id());
    w.write(',');
    quoted(w, e.userId());
    w.write(',');
    quoted(w, e.source());
    w.write(',');
    quoted(w, extraIndexes.isEmpty() ? null : extraJson(p));
    for (int pos = 0; pos < columns.size(); pos++) {
      w.write(',');
      if (set[pos]) {
        set[pos] = false;
        if (columns.get(pos).numeric()) {
          number(w, numbers[pos]);
        } else {
          quoted(w, strings[pos]);
          strings[pos] = null;
        }
      }
    }
    w.write('\n');
    rows++;
    long day = Math.floorDiv(e.timestamp(), DAY_MILLIS);
    Day d = days.computeIfAbsent(day, k -> new Day());
    d.rows++;
    d.minTime = Math.min(d.minTime, e.timestamp());
    d.maxTime = Math.max(d.maxTime, e.timestamp());
    d.maxSequence = Math.max(d.maxSequence, sequence);
    if (d.eventTypes != null) {
      d.eventTypes.add(e.eventType());
      if (d.eventTypes.size() > StoreManifest.FileEntry.MAX_EVENT_TYPES) {
        d.eventTypes = null;
      }
    }
  }

  /** Flushes and closes the current segment; the files stay for the seal to read. */
  void finish() throws IOException {
    if (out != null) {
      out.close();
      out = null;
    }
  }

  /** Deletes the staging files. */
  void delete() throws IOException {
    finish();
    for (Segment s : segments) {
      Files.deleteIfExists(s.path());
    }
  }

  private void startSegment(List<ColumnRegistry.Column> wider) throws IOException {
    finish();
    columns = List.copyOf(wider);
    positions.clear();
    for (int i = 0; i < columns.size(); i++) {
      positions.put(columns.get(i), i);
    }
    if (columns.size() > set.length) {
      int n = Math.max(columns.size(), set.length * 2);
      strings = Arrays.copyOf(strings, n);
      numbers = Arrays.copyOf(numbers, n);
      set = Arrays.copyOf(set, n);
    }
    Path path = stagingDir.resolve("staging-" + System.nanoTime() + "-" + fileNumber++ + ".csv");
    segments.add(new Segment(path, columns));
    // 1 MiB: a row is ~100-200 bytes, so one write syscall per ~5,000 rows.
    out = new BufferedWriter(Files.newBufferedWriter(path, StandardCharsets.UTF_8), 1 << 20);
  }

  private String extraJson(EventProperties p) throws IOException {
    StringWriter s = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(s)) {
      g.writeStartObject();
      for (int i : extraIndexes) {
        switch (p.kind(i)) {
          case NUMBER -> g.writeNumberField(p.key(i), p.number(i));
          case BOOLEAN -> g.writeBooleanField(p.key(i), "true".equals(p.string(i)));
          case STRING -> g.writeStringField(p.key(i), p.string(i));
        }
      }
      g.writeEndObject();
    }
    return s.toString();
  }

  private static void quoted(Writer w, String s) throws IOException {
    if (s == null) {
      return;
    }
    w.write('"');
    if (s.indexOf('"') < 0) {
      w.write(s);
    } else {
      w.write(s.replace("\"", "\"\""));
    }
    w.write('"');
  }

  private static void number(Writer w, double d) throws IOException {
    // Integral values (counts, ids, most amounts) skip Double.toString, ~3x slower; -0.0 and
    // magnitudes past 2^53 take the exact general path.
    if (d == Math.rint(d) && Math.abs(d) < 0x1p53 && Double.doubleToRawLongBits(d) != NEG_ZERO) {
      w.write(Long.toString((long) d));
    } else {
      w.write(Double.toString(d));
    }
  }

  private static final long NEG_ZERO = Double.doubleToRawLongBits(-0.0);
}
