package dev.aggregator.aggregation;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every event type, dimension, value, field and series the rollups hold, and the metric names that
 * resolve to them.
 *
 * <p>Metric names: {@code <eventType>} and {@code <eventType>_count} count events; {@code
 * <eventType>_<field>} summarizes numeric property {@code field}. When two names collide (type
 * {@code a} with field {@code b_c}, type {@code a_b} with field {@code c}) the one registered first
 * keeps the name; the count alias always wins over a field called {@code count}.
 *
 * <p>Everything the catalog adds is also recorded in a journal, which the engine drains into the
 * store at each checkpoint; replaying the journal in order rebuilds the catalog with the same ids.
 * Growth is bounded by {@link CatalogLimits}.
 *
 * <p>Not thread-safe: {@link RollupEngine} guards it.
 */
public final class Catalog {
  /** The group that stands for the groups past a query's top-N limit. */
  public static final String OTHER = "__other__";

  private final CatalogLimits limits;
  private final SeriesIds ids;
  private final Map<String, EventSchema> schemas = new HashMap<>();
  private final Map<String, MetricRef> byName = new HashMap<>();
  private final List<byte[]> journal = new ArrayList<>();
  private final Set<EventSchema> statsChanged = new LinkedHashSet<>();
  private int nextSeries; // the k of the next id this catalog hands out (SeriesIds#id)
  private long bytes; // estimated memory of the names and values kept: against maxCatalogBytes
  // A key, field or value was refused for the byte budget; volatile: health reads it unlocked.
  private volatile boolean full;

  /**
   * A resolved metric.
   *
   * @param field the numeric field summarized, or {@code null} for the event count
   * @param fieldIndex the field's index in its schema, or -1 for the event count
   */
  public record MetricRef(String name, EventSchema schema, String field, int fieldIndex) {
    public boolean isCount() {
      return field == null;
    }
  }

  public Catalog(CatalogLimits limits) {
    this(limits, SeriesIds.ALL);
  }

  /** A catalog that hands out the series ids of {@code ids} (cluster mode: a partition's). */
  public Catalog(CatalogLimits limits, SeriesIds ids) {
    this.limits = limits;
    this.ids = ids;
  }

  public SeriesIds seriesIds() {
    return ids;
  }

  public CatalogLimits limits() {
    return limits;
  }

  /** The metric named {@code name}, or null if no event has produced it yet. */
  public MetricRef resolve(String name) {
    return byName.get(name);
  }

  /** The schema of {@code type}, or null if unknown. */
  public EventSchema schema(String type) {
    return schemas.get(type);
  }

  /** Every event type, sorted by name. */
  public List<EventSchema> schemas() {
    List<EventSchema> list = new ArrayList<>(schemas.values());
    list.sort((a, b) -> a.name.compareTo(b.name));
    return list;
  }

  /**
   * Series allocated so far, across types (for a reader that replays several partitions' journals:
   * one more than the highest id seen).
   */
  public int seriesCount() {
    return nextSeries;
  }

  /** The id the next series would get: bounded by what a row key holds. */
  int nextSeriesId() {
    return ids.id(nextSeries);
  }

  private int allocate() {
    return ids.id(nextSeries++);
  }

  /** A series replayed from a journal: this catalog never hands its id out again. */
  private void noteSeries(int global) {
    if (ids.partitions() == 1) {
      nextSeries = Math.max(nextSeries, global + 1);
    } else if (ids.partitionOf(global) == ids.partition()) {
      nextSeries = Math.max(nextSeries, global / ids.partitions() + 1);
    }
  }

  /** The schema of {@code type}, created on first sight; null once maxEventTypes is reached. */
  EventSchema schemaFor(String type) {
    EventSchema s = schemas.get(type);
    if (s == null) {
      if (schemas.size() >= limits.maxEventTypes()) {
        return null;
      }
      EventSchema created = createSchema(type, allocate());
      record('T', type, out -> out.writeInt(created.totalSeries));
      return created;
    }
    return s;
  }

  private EventSchema createSchema(String type, int totalSeries) {
    EventSchema s = new EventSchema(type, totalSeries);
    schemas.put(type, s);
    MetricRef count = new MetricRef(type, s, null, -1);
    byName.put(type, count);
    byName.put(type + "_count", count); // the seed's alias wins over a field named "count"
    noteSeries(totalSeries);
    return s;
  }

  /** The index of dimension {@code key}, created on first sight; -1 past maxDimensions. */
  int dimension(EventSchema s, String key) {
    int d = s.dimensionIndex.getValue(key);
    if (d >= 0) {
      return d;
    }
    if (s.dimensions.size() >= limits.maxDimensions() || overBudget(key)) {
      if (!s.dimensionsCapped) {
        s.dimensionsCapped = true;
        record('d', s.name, out -> {});
      }
      return -1;
    }
    boolean sparse = s.events > 0; // the events before this one did not carry it
    addDimension(s, key);
    record('D', s.name, out -> out.writeUTF(key));
    int created = s.dimensions.size() - 1;
    if (sparse) {
      markSparse(s, created);
    }
    registerCombinations(s, Long.MIN_VALUE); // combinations completed by this key: nothing missed
    return created;
  }

  /** Notes that some events of the type do not carry dimension {@code d}. */
  void markSparse(EventSchema s, int d) {
    EventSchema.Dimension dim = s.dimensions.get(d);
    if (!dim.sparse) {
      dim.sparse = true;
      record('p', s.name, out -> out.writeInt(d));
    }
  }

  /**
   * Registers each declared combination whose keys have all become dimensions of {@code s}, with
   * the event time from which its series are complete.
   */
  private void registerCombinations(EventSchema s, long since) {
    for (List<String> keys : limits.combinations()) {
      long shape = s.shapeOf(keys);
      if (shape > 0 && !s.combinations.containsKey(shape)) {
        s.combinations.put(shape, since);
        s.combinationsChanged();
        record(
            'C',
            s.name,
            out -> {
              out.writeLong(shape);
              out.writeLong(since);
            });
      }
    }
  }

  /**
   * After loading a store written before marginal series existed: the types it holds have marginals
   * only for events after the newest one seen, so older ranges are answered from the raw events.
   */
  public void markMarginalsIncomplete() {
    for (EventSchema s : schemas.values()) {
      if (s.events > 0 && s.marginalsSince == Long.MIN_VALUE) {
        long since = s.lastSeen + 1;
        s.marginalsSince = since;
        record('M', s.name, out -> out.writeLong(since));
      }
    }
  }

  /**
   * Brings the registered combinations in line with the declared ones after loading: combinations
   * no longer declared are dropped (were they declared again, their series would have missed the
   * events in between), newly declared ones hold events from after the newest one seen.
   */
  public void reconcileCombinations() {
    for (EventSchema s : schemas.values()) {
      List<Long> declared = new ArrayList<>();
      for (List<String> keys : limits.combinations()) {
        declared.add(s.shapeOf(keys));
      }
      for (long shape : s.combinations.keySet().toArray(new Long[0])) {
        if (!declared.contains(shape)) {
          s.combinations.remove(shape);
          s.combinationsChanged();
          record('X', s.name, out -> out.writeLong(shape));
        }
      }
      registerCombinations(s, s.events == 0 ? Long.MIN_VALUE : s.lastSeen + 1);
    }
  }

  private void addDimension(EventSchema s, String key) {
    bytes += entryBytes(key);
    s.dimensionIndex.put(key, s.dimensions.size());
    s.dimensions.add(new EventSchema.Dimension(key));
  }

  /**
   * The code of {@code value} in dimension {@code d}, created with its marginal series on first
   * sight; 0 past the dimension's caps on values and value bytes.
   */
  int valueCode(EventSchema s, int d, String value) {
    EventSchema.Dimension dim = s.dimensions.get(d);
    int code = dim.codes.getValue(value);
    if (code >= 0) {
      return code;
    }
    if (dim.capped
        || dim.cardinality() >= limits.maxDimensionValues()
        || dim.valueBytes + utf8Length(value) > limits.maxValueBytes()
        || overBudget(value)) {
      if (!dim.capped) {
        dim.capped = true;
        record('c', s.name, out -> out.writeInt(d));
      }
      return 0;
    }
    addValue(dim, value);
    record(
        'V',
        s.name,
        out -> {
          out.writeInt(d);
          writeLongUtf(out, value);
        });
    int created = dim.values.size() - 1;
    int[] marginal = new int[d + 1];
    java.util.Arrays.fill(marginal, EventSchema.ABSENT);
    marginal[d] = created;
    newSeries(s, marginal);
    return created;
  }

  private void addValue(EventSchema.Dimension dim, String value) {
    bytes += entryBytes(value);
    dim.codes.put(value, dim.values.size());
    dim.values.add(value);
    dim.postings.add(new int[0]);
    dim.postingSizes.add(0);
    dim.valueBytes += utf8Length(value);
  }

  /**
   * What keeping {@code name} costs, roughly: its String (2 bytes a char at worst, 40 of headers)
   * and ~100 bytes of the index entry, postings and marginal series id beside it.
   */
  private static long entryBytes(String name) {
    return 2L * name.length() + 140;
  }

  /**
   * True if keeping {@code name} would pass {@code maxCatalogBytes}: then it is refused like a
   * value past its dimension's cap (still exact through the event store).
   */
  private boolean overBudget(String name) {
    if (bytes + entryBytes(name) <= limits.maxCatalogBytes()) {
      return false;
    }
    full = true;
    return true;
  }

  /** Estimated bytes of the names and values the catalog keeps. */
  public long bytes() {
    return bytes;
  }

  /** True once a key, field or value was refused because the catalog was at maxCatalogBytes. */
  public boolean full() {
    return full;
  }

  private static long utf8Length(String value) {
    long n = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      n += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
    }
    return n;
  }

  /** The index of numeric field {@code field}, created on first sight; -1 past maxFields. */
  int field(EventSchema s, String field) {
    int f = s.fieldIndex.getValue(field);
    if (f >= 0) {
      return f;
    }
    if (s.fields.size() >= limits.maxFields() || overBudget(field)) {
      if (!s.fieldsCapped) {
        s.fieldsCapped = true;
        record('f', s.name, out -> {});
      }
      return -1;
    }
    addField(s, field);
    record('F', s.name, out -> out.writeUTF(field));
    return s.fields.size() - 1;
  }

  private void addField(EventSchema s, String field) {
    bytes += entryBytes(field);
    s.fieldIndex.put(field, s.fields.size());
    s.fields.add(field);
    String name = s.name + "_" + field;
    byName.putIfAbsent(name, new MetricRef(name, s, field, s.fields.size() - 1));
  }

  /** The global id of the marginal series of value {@code code} (> 0) of dimension {@code d}. */
  static int marginal(EventSchema s, int d, int code) {
    return s.seriesIds[s.dimensions.get(d).marginal[code]];
  }

  /**
   * The global id of the series of combination {@code tuple[0..length)} of shape {@code shape},
   * created on first sight; -1 once the combination has maxSeries series.
   */
  int combination(EventSchema s, long shape, int[] tuple, int length) {
    int local = s.tuples.get(tuple, length);
    if (local >= 0) {
      return s.seriesIds[local];
    }
    if (s.shapeSizes.get(shape) >= limits.maxSeries()) {
      if (s.cappedShapes.add(shape)) {
        record('O', s.name, out -> out.writeLong(shape));
      }
      return -1;
    }
    return newSeries(s, java.util.Arrays.copyOf(tuple, length));
  }

  private int newSeries(EventSchema s, int[] copy) {
    int global = allocate();
    addSeries(s, copy, global);
    record(
        'S',
        s.name,
        out -> {
          out.writeInt(global);
          out.writeShort(copy.length);
          for (int code : copy) {
            out.writeInt(code);
          }
        });
    return global;
  }

  private static void addSeries(EventSchema s, int[] tuple, int global) {
    int local = s.seriesTuples.size();
    s.seriesTuples.add(tuple);
    if (local == s.seriesIds.length) {
      s.seriesIds = java.util.Arrays.copyOf(s.seriesIds, local * 2);
    }
    s.seriesIds[local] = global;
    s.tuples.put(tuple, tuple.length, local);
    long shape = 0;
    for (int d = 0; d < tuple.length; d++) {
      if (tuple[d] != EventSchema.ABSENT) {
        s.dimensions.get(d).post(tuple[d], local);
        shape |= 1L << d;
      }
    }
    if (Long.bitCount(shape) == 1) {
      EventSchema.Dimension dim = s.dimensions.get(tuple.length - 1);
      if (dim.marginal.length <= tuple[tuple.length - 1]) {
        dim.marginal =
            java.util.Arrays.copyOf(
                dim.marginal, Math.max(dim.marginal.length * 2, tuple[tuple.length - 1] + 1));
      }
      dim.marginal[tuple[tuple.length - 1]] = local;
    }
    int n = (int) s.shapeSizes.get(shape);
    int[] list = s.shapes.get(shape);
    if (list == null || n == list.length) {
      list = list == null ? new int[4] : java.util.Arrays.copyOf(list, n * 2);
      s.shapes.put(shape, list);
    }
    list[n] = local;
    s.shapeSizes.put(shape, n + 1);
  }

  /** Notes that a schema's counters changed, for the next checkpoint. */
  void touched(EventSchema s) {
    statsChanged.add(s);
  }

  // ---- persistence -------------------------------------------------------------------------

  /** The changes since the last drain, in order; each is one journal entry. */
  public List<byte[]> drainJournal() {
    List<byte[]> out = new ArrayList<>(journal);
    journal.clear();
    return out;
  }

  /** The schemas whose counters changed since the last call, with their encoded counters. */
  public Map<String, byte[]> drainStats() {
    Map<String, byte[]> out = new HashMap<>();
    for (EventSchema s : statsChanged) {
      out.put(
          s.name,
          encode(
              dataOut -> {
                dataOut.writeLong(s.events);
                dataOut.writeLong(s.firstSeen);
                dataOut.writeLong(s.lastSeen);
              }));
    }
    statsChanged.clear();
    return out;
  }

  /** Puts drained entries back in front, after a checkpoint that could not be written. */
  void requeue(List<byte[]> entries, Map<String, byte[]> stats) {
    journal.addAll(0, entries);
    for (String type : stats.keySet()) {
      EventSchema s = schemas.get(type);
      if (s != null) {
        statsChanged.add(s);
      }
    }
  }

  /** Restores a schema's counters written by {@link #drainStats}. */
  public void restoreStats(String type, byte[] encoded) {
    EventSchema s = schemas.get(type);
    if (s == null) {
      return;
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded))) {
      s.events = in.readLong();
      s.firstSeen = in.readLong();
      s.lastSeen = in.readLong();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Applies one journal entry written by this class (when loading from the store). */
  public void replay(byte[] entry) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(entry))) {
      char kind = (char) in.readByte();
      String type = in.readUTF();
      if (kind == 'T') {
        createSchema(type, in.readInt());
        return;
      }
      EventSchema s = schemas.get(type);
      if (s == null) {
        throw new IllegalStateException("journal entry for unknown event type " + type);
      }
      switch (kind) {
        case 'D' -> addDimension(s, in.readUTF());
        case 'V' -> addValue(s.dimensions.get(in.readInt()), readLongUtf(in));
        case 'F' -> addField(s, in.readUTF());
        case 'S' -> {
          int global = in.readInt();
          int[] tuple = new int[in.readShort()];
          for (int i = 0; i < tuple.length; i++) {
            tuple[i] = in.readInt();
          }
          addSeries(s, tuple, global);
          noteSeries(global);
        }
        case 'O' -> {
          if (in.available() == 4) { // an overflow series of the full-combination design: unused
            noteSeries(in.readInt());
          } else {
            s.cappedShapes.add(in.readLong());
          }
        }
        case 'M' -> s.marginalsSince = in.readLong();
        case 'C' -> {
          s.combinations.put(in.readLong(), in.readLong());
          s.combinationsChanged();
        }
        case 'X' -> {
          s.combinations.remove(in.readLong());
          s.combinationsChanged();
        }
        case 'p' -> s.dimensions.get(in.readInt()).sparse = true;
        case 'c' -> s.dimensions.get(in.readInt()).capped = true;
        case 'd' -> s.dimensionsCapped = true;
        case 'f' -> s.fieldsCapped = true;
        default -> throw new IllegalStateException("unknown journal entry kind " + kind);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @FunctionalInterface
  private interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  private void record(char kind, String type, Writer body) {
    journal.add(
        encode(
            out -> {
              out.writeByte(kind);
              out.writeUTF(type);
              body.write(out);
            }));
  }

  private static byte[] encode(Writer writer) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(32);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writer.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** Dimension values may exceed writeUTF's 64 KiB limit in modified UTF-8; write them whole. */
  private static void writeLongUtf(DataOutputStream out, String s) throws IOException {
    byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  private static String readLongUtf(DataInputStream in) throws IOException {
    byte[] utf8 = new byte[in.readInt()];
    in.readFully(utf8);
    return new String(utf8, java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * Whether {@code metric} can be a metric of {@code eventType} — the type itself, {@code
   * <type>_count} or {@code <type>_<field>} — so that new events of the type may change it.
   */
  public static boolean isMetricOf(String metric, String eventType) {
    return metric.equals(eventType)
        || (metric.length() > eventType.length()
            && metric.startsWith(eventType)
            && metric.charAt(eventType.length()) == '_');
  }
}
