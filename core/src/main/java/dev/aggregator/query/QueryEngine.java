package dev.aggregator.query;

import dev.aggregator.aggregation.Catalog;
import dev.aggregator.aggregation.Catalog.MetricRef;
import dev.aggregator.aggregation.EventSchema;
import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.RollupReader;
import dev.aggregator.aggregation.RollupReader.RowNeeds;
import dev.aggregator.aggregation.RollupRow;
import dev.aggregator.aggregation.RollupSource;
import dev.aggregator.aggregation.Tier;
import dev.aggregator.event.Timestamps;
import dev.aggregator.storage.RawEvents;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Answers {@link Query}s from the cheapest layer that is exact: the rollups' total series, the
 * marginal series of the one key a query filters and groups by, a declared combination whose keys
 * are exactly the query's — or else the raw events ({@link EventQueries}).
 *
 * <p>For each output bucket it reads the coarsest tier whose buckets tile it exactly and whose
 * retention still holds it — a 1-hour query reads 1 h buckets, a day in Berlin reads 1 h buckets
 * (it does not start at a UTC midnight), a range reaching past a fine tier's retention is served
 * from a coarser one — and skips totals-only tiers when the query filters, groups or needs a
 * sketch. Filters pick series through each dimension's inverted index; groups are ranked by their
 * total over the range, the first {@code limit} kept and the rest merged into {@value
 * Catalog#OTHER}, so totals still add up.
 *
 * <pre>{@code
 * QueryEngine queries = new QueryEngine(engine, System::currentTimeMillis);
 * QueryResult r = queries.run(new QueryParser(System::currentTimeMillis, 11_000).parse(params));
 * }</pre>
 */
public final class QueryEngine {
  private final RollupSource rollups;
  private final LongSupplier nowMillis;
  private final EventQueries events;

  /** Answers from the rollups alone: where they are not exact, answers carry warnings. */
  public QueryEngine(RollupSource rollups, LongSupplier nowMillis) {
    this(rollups, nowMillis, null, () -> -1);
  }

  /**
   * Answers from the rollups where they are exact, else from the raw events in {@code store}.
   *
   * @param appliedSequence the log position aggregated so far; an answer from the raw events
   *     includes every event up to it
   */
  public QueryEngine(
      RollupSource rollups, LongSupplier nowMillis, RawEvents store, LongSupplier appliedSequence) {
    this.rollups = rollups;
    this.nowMillis = nowMillis;
    this.events = store == null ? null : new EventQueries(store, appliedSequence);
  }

  public QueryResult run(Query q) throws InvalidQueryException {
    long now = nowMillis.getAsLong();
    Outcome outcome = rollups.read(r -> new Evaluation(r, q, now, events != null).run());
    if (outcome.error != null) {
      throw outcome.error;
    }
    if (outcome.raw != null) { // outside the read lock: a scan of raw events takes milliseconds
      return events.run(q, outcome.raw);
    }
    return outcome.result;
  }

  /**
   * Answers {@code q} from the raw events whatever the rollups hold — to check one path against the
   * other. Without an event store, or for a metric nothing was recorded for, it is {@link #run}.
   */
  public QueryResult runFromEvents(Query q) throws InvalidQueryException {
    EventQueries.Target target =
        events == null
            ? null
            : rollups.read(
                r -> {
                  MetricRef m = r.catalog().resolve(q.metric());
                  return m == null ? null : new EventQueries.Target(m.schema().name(), m.field());
                });
    return target == null ? run(q) : events.run(q, target);
  }

  /**
   * The function's value over the whole of {@code [q.start(), q.end())} as one bucket — the rows of
   * every output bucket merged, so that a p95 or a unique-user count over a window is right, not an
   * average of per-bucket values. {@code q.granularity()} picks the tier the window is read from;
   * its grouping is ignored. Alert rules evaluate their trailing windows with it.
   *
   * @return the value, or null when the window holds nothing for the metric
   */
  public Double total(Query q) throws InvalidQueryException {
    long now = nowMillis.getAsLong();
    Outcome outcome = rollups.read(r -> new Evaluation(r, q, now, events != null).total());
    if (outcome.error != null) {
      throw outcome.error;
    }
    if (outcome.raw != null) {
      return events.total(q, outcome.raw);
    }
    return outcome.total;
  }

  /**
   * What a pass under the read lock found: the answer, or an error, or ({@code raw}) that the raw
   * events must answer it.
   */
  private record Outcome(
      QueryResult result, Double total, InvalidQueryException error, EventQueries.Target raw) {
    Outcome(QueryResult result) {
      this(result, null, null, null);
    }

    Outcome(QueryResult result, Double total, InvalidQueryException error) {
      this(result, total, error, null);
    }
  }

  /**
   * What one pass over the rows gathered: a row per group and output bucket, or the answer already
   * ({@code early}: an error, or a metric nothing was recorded for).
   */
  private record Gathered(Outcome early, int field, List<Group> groups, RollupRow[][] acc) {
    static Gathered answered(Outcome early) {
      return new Gathered(early, -1, List.of(), new RollupRow[0][]);
    }
  }

  private record Group(Map<String, String> dimensions, int[] series) {}

  /** One query against one consistent view. */
  private static final class Evaluation {
    private final RollupReader reader;
    private final Query q;
    private final long now;
    private final Buckets buckets;
    private final List<String> warnings = new ArrayList<>();

    /** Whether raw events can answer what the rollups cannot answer exactly. */
    private final boolean hasEvents;

    Evaluation(RollupReader reader, Query q, long now, boolean hasEvents) {
      this.reader = reader;
      this.q = q;
      this.now = now;
      this.buckets = Buckets.of(q);
      this.hasEvents = hasEvents;
    }

    Outcome run() {
      Gathered g = gather();
      if (g.early() != null) {
        return g.early();
      }
      return new Outcome(new QueryResult(q, rank(g.groups(), g.acc(), g.field()), warnings));
    }

    Outcome total() {
      Gathered g = gather();
      if (g.early() != null) {
        return g.early().error != null || g.early().raw != null
            ? g.early()
            : new Outcome(null, null, null);
      }
      RowNeeds needs = needs(g.field());
      RollupRow total = new RollupRow();
      for (RollupRow[] rows : g.acc()) {
        for (RollupRow row : rows) {
          if (row != null) {
            total.merge(row, needs.field(), needs.users(), needs.values());
          }
        }
      }
      return new Outcome(null, q.function().apply(total, g.field()), null);
    }

    /** Reads the rows of every group and output bucket. */
    private Gathered gather() {
      MetricRef metric = reader.catalog().resolve(q.metric());
      AggregateFunction fn = q.function();
      if (metric != null && metric.isCount() && !fn.appliesToCount()) {
        return Gathered.answered(
            error(
                "function",
                q.metric()
                    + " counts events; use function count, sum or unique_users ("
                    + fn.label()
                    + " applies to numeric fields such as "
                    + metric.schema().name()
                    + "_value)"));
      }
      boolean needsFullTier = q.usesDimensions() || fn.needsSketch();
      boolean rawCan = hasEvents && metric != null;
      String inexact = metric == null ? null : notExact(metric.schema());
      if (inexact != null) {
        return Gathered.answered(
            rawCan ? raw(metric) : error(q.groupBy().isEmpty() ? "filter" : "groupBy", inexact));
      }
      int n = buckets.size();
      int[] tierOf = new int[n];
      for (int i = 0; i < n; i++) {
        tierOf[i] = tierFor(buckets.starts[i], buckets.ends[i], needsFullTier);
        if (tierOf[i] < 0) {
          if (rawCan) { // no rollup tier holds this resolution here; the raw events do
            return Gathered.answered(raw(metric));
          }
          return Gathered.answered(error("granularity", noTier(buckets.starts[i], needsFullTier)));
        }
      }
      if (metric == null) {
        List<QueryResult.Series> series =
            q.groupBy().isEmpty()
                ? List.of(new QueryResult.Series(Map.of(), points(new RollupRow[n], -1)))
                : List.of();
        return Gathered.answered(new Outcome(new QueryResult(q, series, warnings)));
      }
      List<Group> groups = groups(metric.schema());
      RowNeeds needs =
          new RowNeeds(
              metric.fieldIndex(), fn == AggregateFunction.UNIQUE_USERS, fn.isPercentile());
      RollupRow[][] acc = new RollupRow[groups.size()][n];
      for (int i = 0; i < n; ) {
        int j = i;
        while (j < n && tierOf[j] == tierOf[i]) {
          j++;
        }
        read(tierOf[i], i, j, groups, needs, acc);
        i = j;
      }
      return new Gathered(null, metric.fieldIndex(), groups, acc);
    }

    private Outcome raw(MetricRef metric) {
      return new Outcome(
          null, null, null, new EventQueries.Target(metric.schema().name(), metric.field()));
    }

    /**
     * Why the rollups cannot answer the query exactly, or null if they can: the series of the shape
     * of the keys it filters and groups by (the total, a marginal, a declared combination) must
     * hold every event it selects, and every group it asks for.
     */
    private String notExact(EventSchema schema) {
      if (q.function().isPercentile() && q.usesDimensions()) {
        return "percentiles of a filtered or grouped selection come from the raw events (the"
            + " rollups keep value sketches for totals only)";
      }
      List<String> known = new ArrayList<>();
      for (String key : keys()) {
        if (schema.cardinality(key) >= 0) {
          known.add(key);
        } else if (schema.dimensionsCapped()) {
          return "'"
              + key
              + "' may be one of the dimensions of "
              + schema.name()
              + " past its cap (maxDimensions)";
        }
      }
      for (String key : q.groupBy()) {
        if (schema.isCapped(key)) {
          return "dimension "
              + key
              + " of "
              + schema.name()
              + " has more values than the rollups keep (maxDimensionValues)";
        }
        if (schema.isSparse(key)) {
          return "some events of "
              + schema.name()
              + " lack dimension "
              + key
              + ", and the rollups hold no group for them";
        }
      }
      for (Map.Entry<String, List<String>> f : q.filters().entrySet()) {
        if (schema.isCapped(f.getKey())) {
          for (String value : f.getValue()) {
            if (schema.codeOf(f.getKey(), value) <= 0) {
              return "value "
                  + value
                  + " of "
                  + f.getKey()
                  + " is not among the values of "
                  + schema.name()
                  + " the rollups keep (maxDimensionValues)";
            }
          }
        }
      }
      long shape = schema.shapeOf(known);
      long since = schema.combinationSince(shape);
      if (since == Long.MAX_VALUE) {
        return "filtering and grouping by "
            + String.join(" and ", known)
            + " together needs the declared combination "
            + String.join("+", known)
            + " (setting rollups)"
            + (schema.combinationsCapped() ? " within its cap of series (maxSeries)" : "");
      }
      if (q.start() < since && known.size() == 1) {
        return "the rollups of "
            + schema.name()
            + " by a single dimension hold events from "
            + Timestamps.format(since)
            + " on (the store predates them)";
      }
      if (q.start() < since) {
        return "the combination "
            + String.join("+", known)
            + " was declared after events of "
            + schema.name()
            + " arrived; its rollups hold events from "
            + Timestamps.format(since)
            + " on";
      }
      return null;
    }

    /** The keys the query filters and groups by, each once. */
    private List<String> keys() {
      java.util.LinkedHashSet<String> keys = new java.util.LinkedHashSet<>(q.filters().keySet());
      keys.addAll(q.groupBy());
      return List.copyOf(keys);
    }

    /** Reads buckets {@code [from, to)} of every group's series from tier {@code tier}. */
    private void read(
        int tier, int from, int to, List<Group> groups, RowNeeds needs, RollupRow[][] acc) {
      Granularity res = reader.tiers().get(tier).resolution();
      long fromBucket = res.bucketIndex(buckets.starts[from]);
      long toBucket = res.bucketIndex(buckets.ends[to - 1]);
      for (int g = 0; g < groups.size(); g++) {
        RollupRow[] rows = acc[g];
        for (int series : groups.get(g).series()) {
          reader.readRows(
              tier,
              series,
              fromBucket,
              toBucket,
              needs,
              (bucket, row) -> {
                int i = buckets.indexOf(bucket * res.millis());
                if (i >= 0) {
                  if (rows[i] == null) {
                    rows[i] = new RollupRow();
                  }
                  rows[i].merge(row, needs.field(), needs.users(), needs.values());
                }
              });
        }
      }
    }

    /**
     * The series to read, in groups: the total alone, or the series of the query's shape that match
     * its filters, grouped by their values of its groupBy keys.
     */
    private List<Group> groups(EventSchema schema) {
      if (!q.usesDimensions()) {
        return List.of(new Group(Map.of(), new int[] {schema.totalSeries()}));
      }
      List<String> known = new ArrayList<>();
      boolean unknownFilter = false;
      for (String key : keys()) {
        if (schema.cardinality(key) >= 0) {
          known.add(key);
        } else {
          warnings.add("'" + key + "' is not a dimension of " + schema.name());
          unknownFilter |= q.filters().containsKey(key); // no event carried it: none matches
        }
      }
      Map<List<String>, List<Integer>> byValues = new LinkedHashMap<>();
      if (known.isEmpty() && !unknownFilter) { // grouped by keys no event carried: one group
        List<String> none = new ArrayList<>();
        q.groupBy().forEach(k -> none.add(null));
        byValues.put(none, List.of(schema.totalSeries()));
      } else if (!unknownFilter) {
        int[] selected = schema.seriesOfShape(schema.shapeOf(known));
        for (Map.Entry<String, List<String>> f : q.filters().entrySet()) {
          selected =
              EventSchema.intersect(selected, schema.seriesMatching(f.getKey(), f.getValue()));
        }
        for (int local : selected) {
          List<String> values = new ArrayList<>(q.groupBy().size());
          for (String key : q.groupBy()) {
            values.add(schema.valueOf(local, key));
          }
          byValues.computeIfAbsent(values, k -> new ArrayList<>()).add(schema.seriesId(local));
        }
      }
      if (q.groupBy().isEmpty() && byValues.isEmpty()) {
        return List.of(new Group(Map.of(), new int[0])); // nothing matches: one empty series
      }
      List<Group> groups = new ArrayList<>(byValues.size());
      for (Map.Entry<List<String>, List<Integer>> e : byValues.entrySet()) {
        Map<String, String> dims = new LinkedHashMap<>();
        for (int k = 0; k < q.groupBy().size(); k++) {
          dims.put(q.groupBy().get(k), e.getKey().get(k));
        }
        groups.add(new Group(dims, e.getValue().stream().mapToInt(Integer::intValue).toArray()));
      }
      return groups;
    }

    /**
     * Turns accumulated groups into series: without grouping, the one series; with grouping, the
     * top {@code limit} by total over the range, then the rest merged as __other__.
     */
    private List<QueryResult.Series> rank(List<Group> groups, RollupRow[][] acc, int field) {
      if (q.groupBy().isEmpty()) {
        return List.of(new QueryResult.Series(Map.of(), points(acc[0], field)));
      }
      RowNeeds needs = needs(field);
      List<Integer> order = new ArrayList<>();
      double[] totals = new double[groups.size()];
      for (int g = 0; g < groups.size(); g++) {
        RollupRow total = new RollupRow();
        for (RollupRow row : acc[g]) {
          if (row != null) {
            total.merge(row, needs.field(), needs.users(), needs.values());
          }
        }
        Double v = q.function().apply(total, field);
        totals[g] = v == null || v.isNaN() ? Double.NEGATIVE_INFINITY : v;
        if (v != null) {
          order.add(g);
        }
      }
      // A group whose every value is __other__ (a client's own value) is ranked with the rest: it
      // joins the remainder, so one __other__ series answers for both (as from the raw events).
      List<Integer> folded = new ArrayList<>();
      order.removeIf(
          g -> {
            boolean other =
                groups.get(g).dimensions().values().stream().allMatch(Catalog.OTHER::equals);
            if (other) {
              folded.add(g);
            }
            return other;
          });
      Comparator<Integer> byTotal = Comparator.comparingDouble(g -> -totals[g]);
      order.sort(byTotal.thenComparing(g -> groups.get(g).dimensions().toString()));
      List<QueryResult.Series> out = new ArrayList<>();
      int keep = Math.min(q.limit(), order.size());
      for (int k = 0; k < keep; k++) {
        int g = order.get(k);
        out.add(new QueryResult.Series(groups.get(g).dimensions(), points(acc[g], field)));
      }
      folded.addAll(order.subList(keep, order.size()));
      if (!folded.isEmpty()) {
        RollupRow[] rest = new RollupRow[buckets.size()];
        for (int g : folded) {
          RollupRow[] rows = acc[g];
          for (int i = 0; i < rows.length; i++) {
            if (rows[i] != null) {
              if (rest[i] == null) {
                rest[i] = new RollupRow();
              }
              rest[i].merge(rows[i], needs.field(), needs.users(), needs.values());
            }
          }
        }
        Map<String, String> other = new LinkedHashMap<>();
        for (String key : q.groupBy()) {
          other.put(key, Catalog.OTHER);
        }
        out.add(new QueryResult.Series(other, points(rest, field)));
      }
      return out;
    }

    private RowNeeds needs(int field) {
      AggregateFunction fn = q.function();
      return new RowNeeds(field, fn == AggregateFunction.UNIQUE_USERS, fn.isPercentile());
    }

    private List<QueryResult.Point> points(RollupRow[] rows, int field) {
      Double[] values = new Double[rows.length];
      for (int i = 0; i < rows.length; i++) {
        values[i] = rows[i] == null ? null : q.function().apply(rows[i], field);
      }
      return buckets.points(values, q.fill());
    }

    /** The coarsest tier whose buckets tile {@code [s, e)} and that still holds it; -1 if none. */
    private int tierFor(long s, long e, boolean needsFullTier) {
      List<Tier> tiers = reader.tiers();
      for (int i = tiers.size() - 1; i >= 0; i--) {
        Tier t = tiers.get(i);
        Granularity res = t.resolution();
        if ((needsFullTier && t.totalsOnly())
            || res.bucketStart(s) != s
            || res.bucketStart(e) != e
            || s < t.cutoff(now)) {
          continue;
        }
        return i;
      }
      return -1;
    }

    private String noTier(long s, boolean needsFullTier) {
      List<Tier> tiers = reader.tiers();
      StringBuilder kept = new StringBuilder();
      for (Tier t : tiers) {
        kept.append(kept.length() == 0 ? "" : ", ").append(t.describe());
      }
      if (needsFullTier && tierFor(s, s + q.granularity().millis(), false) >= 0) {
        Granularity finest = null;
        for (Tier t : tiers) {
          if (!t.totalsOnly() && s >= t.cutoff(now)) {
            finest = t.resolution();
            break;
          }
        }
        return "filters, groupBy, percentiles and unique_users need a tier that keeps dimensions"
            + " and sketches"
            + (finest == null ? "" : ": use granularity " + finest.label() + " or coarser")
            + " (tiers: "
            + kept
            + ")";
      }
      return "granularity "
          + q.granularity().label()
          + (q.zone() == null ? "" : " in " + q.zone())
          + " is finer than every tier still holding data at "
          + Timestamps.format(s)
          + " (tiers: "
          + kept
          + "); use a coarser granularity or a later start";
    }

    private static Outcome error(String parameter, String message) {
      return new Outcome(null, null, new InvalidQueryException(parameter, message));
    }
  }
}
