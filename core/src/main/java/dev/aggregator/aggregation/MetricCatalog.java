package dev.aggregator.aggregation;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Names the series the rollups hold and resolves metric names to them.
 *
 * <p>Each event type gets a count series, named {@code <eventType>} and {@code <eventType>_count};
 * each numeric property {@code f} of it gets a field series named {@code <eventType>_<f>}. When two
 * names collide (type {@code a} with field {@code b_c} and type {@code a_b} with field {@code c})
 * the series registered first keeps the name; the count alias always wins over a field called
 * {@code count}. Registration follows log order, so names resolve the same after a restart.
 *
 * <p>Not thread-safe: {@link RollupEngine} guards it.
 */
public final class MetricCatalog {
  private final Map<String, EventType> types = new HashMap<>();
  private final Map<String, MetricRef> byName = new HashMap<>();
  private int nextSeries;

  /**
   * A resolved metric.
   *
   * @param field the numeric property summarized, or {@code null} for the event count
   */
  public record MetricRef(String name, String eventType, String field, int series) {
    public boolean isCount() {
      return field == null;
    }
  }

  /** What the catalog knows of one event type. */
  public static final class EventType {
    final String name;
    final int countSeries;
    final Map<String, Integer> fields = new HashMap<>();
    long events;
    long firstSeen = Long.MAX_VALUE;
    long lastSeen = Long.MIN_VALUE;

    EventType(String name, int countSeries) {
      this.name = name;
      this.countSeries = countSeries;
    }

    public String name() {
      return name;
    }

    public long events() {
      return events;
    }

    /** The earliest event time seen, epoch ms. */
    public long firstSeen() {
      return firstSeen;
    }

    /** The latest event time seen, epoch ms. */
    public long lastSeen() {
      return lastSeen;
    }

    public List<String> fields() {
      return fields.keySet().stream().sorted().toList();
    }
  }

  /** The event type named {@code name}, registering it and its count series on first sight. */
  EventType eventType(String name) {
    EventType t = types.get(name);
    if (t == null) {
      t = new EventType(name, allocateSeries());
      types.put(name, t);
      MetricRef count = new MetricRef(name, name, null, t.countSeries);
      byName.put(name, count);
      byName.put(name + "_count", count); // the alias always wins over a field named "count"
    }
    return t;
  }

  /** The series of numeric field {@code field} of {@code type}, registering it on first sight. */
  int fieldSeries(EventType type, String field) {
    Integer series = type.fields.get(field);
    if (series == null) {
      series = allocateSeries();
      type.fields.put(field, series);
      String name = type.name + "_" + field;
      byName.putIfAbsent(name, new MetricRef(name, type.name, field, series));
    }
    return series;
  }

  /** The metric named {@code name}, or null if no event has produced it yet. */
  public MetricRef resolve(String name) {
    return byName.get(name);
  }

  /** Every event type seen, sorted by name. */
  public List<EventType> eventTypes() {
    List<EventType> list = new ArrayList<>(types.values());
    list.sort((a, b) -> a.name.compareTo(b.name));
    return list;
  }

  /** Series allocated so far. */
  public int seriesCount() {
    return nextSeries;
  }

  boolean full(int more) {
    return nextSeries + more > BucketTable.MAX_SERIES;
  }

  private int allocateSeries() {
    if (nextSeries >= BucketTable.MAX_SERIES) {
      throw new IllegalStateException("series ids exhausted");
    }
    return nextSeries++;
  }
}
