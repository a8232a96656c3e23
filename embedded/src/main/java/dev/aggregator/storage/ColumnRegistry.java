package dev.aggregator.storage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Which Parquet column holds which property (key, kind) in the {@link ParquetEventStore}.
 *
 * <p>Exists because DuckDB identifiers are case-insensitive while property keys are not: "page" and
 * "Page", or "value" as a string and as a number, must land in different columns, and the name each
 * one got must never change, or files written before a restart would be read under the wrong name.
 * So names are handed out once, in arrival order, and persisted in the manifest. String and boolean
 * properties share a VARCHAR column per key (booleans as {@code true}/{@code false}); numbers get a
 * DOUBLE column per key.
 *
 * <p>Not thread-safe: the store's writer thread owns one instance and publishes {@link #copy()}s.
 */
final class ColumnRegistry {
  /** The top-level columns every file has, in file order; property names must not collide. */
  static final List<String> RESERVED =
      List.of("event_type", "time_ms", "id", "user_id", "source", "extra");

  /** One property column: its key, whether it is the DOUBLE column, and its SQL name. */
  record Column(String key, boolean numeric, String name) {
    String sqlType() {
      return numeric ? "DOUBLE" : "VARCHAR";
    }
  }

  private final List<Column> columns = new ArrayList<>();
  private final Map<String, Column> strings = new HashMap<>();
  private final Map<String, Column> numbers = new HashMap<>();
  private final Set<String> taken = new HashSet<>();

  ColumnRegistry() {
    for (String name : RESERVED) {
      taken.add(fold(name));
    }
  }

  /** A registry of already-named columns, as read from a manifest; names are kept as they were. */
  static ColumnRegistry of(List<Column> columns) {
    ColumnRegistry registry = new ColumnRegistry();
    for (Column c : columns) {
      registry.add(c);
    }
    return registry;
  }

  ColumnRegistry copy() {
    return of(columns);
  }

  /** The column of (key, kind), or null when no event had it yet. */
  Column get(String key, boolean numeric) {
    return (numeric ? numbers : strings).get(key);
  }

  /**
   * The column of (key, kind), naming a new one when there is room.
   *
   * @return null when the registry already has {@code maxColumns} columns (the caller puts the
   *     property into {@code extra})
   */
  Column getOrAdd(String key, boolean numeric, int maxColumns) {
    Column c = get(key, numeric);
    if (c != null || columns.size() >= maxColumns) {
      return c;
    }
    String name = key;
    for (int n = 2; taken.contains(fold(name)); n++) {
      name = key + "~" + n;
    }
    c = new Column(key, numeric, name);
    add(c);
    return c;
  }

  List<Column> columns() {
    return List.copyOf(columns);
  }

  int size() {
    return columns.size();
  }

  private void add(Column c) {
    columns.add(c);
    (c.numeric() ? numbers : strings).put(c.key(), c);
    taken.add(fold(c.name()));
  }

  /**
   * DuckDB folds only ASCII letters when it compares identifiers; full Unicode lower-casing folds a
   * superset, so two names distinct here are distinct to DuckDB too (at worst a name gets a suffix
   * it did not strictly need).
   */
  private static String fold(String name) {
    return name.toLowerCase(Locale.ROOT);
  }

  /** {@code name} as a double-quoted SQL identifier. */
  static String quote(String name) {
    return '"' + name.replace("\"", "\"\"") + '"';
  }

  /** {@code text} as a single-quoted SQL string literal. */
  static String literal(String text) {
    return '\'' + text.replace("'", "''") + '\'';
  }
}
