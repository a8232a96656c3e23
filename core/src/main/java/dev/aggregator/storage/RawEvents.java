package dev.aggregator.storage;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/**
 * The raw events as a SQL relation: what exact answers past the rollups read. The embedded runtime
 * implements it with Parquet files and DuckDB ({@code ParquetEventStore}); a cluster would with the
 * same files in a shared directory. Query planning ({@code EventQueries}) sees only this.
 */
public interface RawEvents {

  /** Reads a query's result; runs while the store holds the connection and the file snapshot. */
  @FunctionalInterface
  interface ResultHandler<T> {
    T handle(ResultSet rs) throws SQLException;
  }

  /** The end of the newest day retention dropped; answers before it are not exact. */
  long horizonMillis();

  /**
   * Waits until every event with a log position up to {@code sequence} is visible to queries.
   *
   * @return false on timeout or when the store failed
   */
  boolean awaitVisible(long sequence, long timeoutMillis) throws InterruptedException;

  /**
   * The column holding property {@code key} of that kind, or null when no visible event had it.
   * {@code "source"} as a string is the event's own source column.
   */
  String column(String key, boolean numeric);

  /**
   * Runs {@code sql} over a relation named {@code events}: the events of {@code eventType} with
   * {@code startMillis <= time_ms < endMillis}; {@code params} bind the caller's {@code ?}s.
   */
  <T> T query(
      String eventType,
      long startMillis,
      long endMillis,
      String sql,
      List<Object> params,
      ResultHandler<T> handler)
      throws SQLException;
}
