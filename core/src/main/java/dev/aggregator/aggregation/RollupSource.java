package dev.aggregator.aggregation;

import java.util.function.Function;

/**
 * Where queries read rollups from: each {@link #read} sees one consistent view. {@link
 * RollupEngine} is one, with the rows since its last checkpoint in memory; a query server with no
 * engine in memory would be another, over the store alone (docs/DESIGN.md §10). The query planner
 * sees only this.
 */
public interface RollupSource {
  /** Runs {@code query} against one consistent view; the reader is valid only during the call. */
  <T> T read(Function<RollupReader, T> query);
}
