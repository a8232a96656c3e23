package dev.aggregator.server;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import dev.aggregator.event.PropertyKind;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code GET /api/analytics/query} must answer, computed by brute force from the accepted
 * events: filter, bucket, group, compute. The model the oracle tests hold the server to; it shares
 * no code with the engine — it reads {@link Event}s and nothing else.
 *
 * <p>The semantics it encodes (README, docs/DESIGN.md §4): every event counts toward its type's
 * count metric; a numeric property is a field metric counting only the events that carry it; string
 * and boolean properties and {@code source} are dimensions; a filter is AND across keys and OR
 * within one; buckets are whole, the first one holding {@code start}, the last one holding the
 * instant before {@code end}; days and weeks start at local midnight (weeks on Monday) when a zone
 * is given, at UTC midnight otherwise, and a zone changes nothing else.
 *
 * <p>Caps, when given, fold as the catalog documents: a type's dimension values past {@code
 * maxDimensionValues} count as {@value #OTHER}, and its combinations of dimension values past
 * {@code maxSeriesPerEventType} count in one overflow series whose every dimension reads {@value
 * #OTHER}. Which values and combinations come first depends on the order of the log, so events must
 * then be added in the order the server logged them (one sender, batches in turn).
 *
 * <p>Thread-safe; the first answer after an {@link #add} indexes the events again.
 */
final class QueryModel {
  static final String OTHER = "__other__";

  private final int maxSeries;
  private final int maxValues;
  private final Set<String> ids = new HashSet<>();
  private final Dictionary types = new Dictionary();
  private final Dictionary users = new Dictionary();

  // The events, as columns; a dimension or field column holds -1 or NaN where an event lacks it.
  private long[] time = new long[1024];
  private int[] type = new int[1024];
  private int[] user = new int[1024];
  private boolean[] overflow = new boolean[1024];
  private final Map<String, Dimension> dimensions = new HashMap<>();
  private final Map<String, double[]> fields = new HashMap<>();
  private int size;

  /** Per type: every dimension's values (capped), and the combinations that have a series. */
  private final Map<String, Map<String, Set<String>>> valuesByType = new HashMap<>();

  private final Map<String, Set<Map<String, String>>> combinationsByType = new HashMap<>();
  private int[][] byType; // null after an add

  /** A model without caps: nothing folds. */
  QueryModel() {
    this(Integer.MAX_VALUE, Integer.MAX_VALUE);
  }

  /** A model with the server's {@code maxSeriesPerEventType} and {@code maxDimensionValues}. */
  QueryModel(int maxSeriesPerEventType, int maxDimensionValues) {
    this.maxSeries = maxSeriesPerEventType;
    this.maxValues = maxDimensionValues;
  }

  /** A query, as the model needs it. */
  record Spec(
      String type,
      String field,
      String function,
      long start,
      long end,
      String granularity,
      ZoneId zone,
      Map<String, List<String>> filters,
      List<String> groupBy) {

    String metric() {
      return field == null ? type : type + "_" + field;
    }
  }

  /**
   * The exact answer: bucket bounds ({@code bounds[i]} to {@code bounds[i + 1]}) and, per group of
   * dimension values (in groupBy order; null where absent), an accumulator per bucket (null where
   * the group has nothing there). Groups with nothing in the whole range are absent.
   */
  record Answer(long[] bounds, Map<List<String>, Acc[]> groups) {
    int buckets() {
      return bounds.length - 1;
    }
  }

  /** What one bucket of one group holds: exact count, sum, min, max, values and users. */
  static final class Acc {
    long count;
    double sum;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double[] values = new double[0];
    int valueCount;
    final Set<Integer> users = new HashSet<>();

    void add(double v, int user, boolean keepValues, boolean keepUsers) {
      count++;
      sum += v;
      min = Math.min(min, v);
      max = Math.max(max, v);
      if (keepValues) {
        if (valueCount == values.length) {
          values = Arrays.copyOf(values, Math.max(8, valueCount * 2));
        }
        values[valueCount++] = v;
      }
      if (keepUsers && user >= 0) {
        users.add(user);
      }
    }

    void addAll(Acc o) {
      count += o.count;
      sum += o.sum;
      min = Math.min(min, o.min);
      max = Math.max(max, o.max);
      if (valueCount + o.valueCount > values.length) {
        values = Arrays.copyOf(values, valueCount + o.valueCount);
      }
      System.arraycopy(o.values, 0, values, valueCount, o.valueCount);
      valueCount += o.valueCount;
      users.addAll(o.users);
    }

    /** The values, ascending. */
    double[] sorted() {
      double[] s = Arrays.copyOf(values, valueCount);
      Arrays.sort(s);
      return s;
    }
  }

  /**
   * Adds an accepted event; an event whose id was added before is a client retry and ignored.
   *
   * @return whether it was new
   */
  synchronized boolean add(Event e) {
    if (e.id() != null && !ids.add(e.id())) {
      return false;
    }
    if (size == time.length) {
      time = Arrays.copyOf(time, size * 2);
      type = Arrays.copyOf(type, size * 2);
      user = Arrays.copyOf(user, size * 2);
      overflow = Arrays.copyOf(overflow, size * 2);
    }
    byType = null;
    time[size] = e.timestamp();
    type[size] = types.code(e.eventType());
    user[size] = e.userId() == null ? -1 : users.code(e.userId());
    Map<String, String> dims = new LinkedHashMap<>();
    dims.put("source", e.source());
    EventProperties p = e.properties();
    for (int i = 0; i < p.size(); i++) {
      if (p.kind(i) == PropertyKind.NUMBER) {
        double[] column = fields.computeIfAbsent(p.key(i), k -> nanColumn(time.length));
        if (column.length <= size) {
          int old = column.length;
          column = Arrays.copyOf(column, time.length);
          Arrays.fill(column, old, column.length, Double.NaN);
          fields.put(p.key(i), column);
        }
        column[size] = p.number(i);
      } else if (!p.key(i).equals("source")) { // the event's own source wins over a property
        dims.put(p.key(i), p.string(i));
      }
    }
    Map<String, Set<String>> seen =
        valuesByType.computeIfAbsent(e.eventType(), t -> new HashMap<>());
    for (Map.Entry<String, String> d : dims.entrySet()) {
      Set<String> values = seen.computeIfAbsent(d.getKey(), k -> new HashSet<>());
      if (!values.contains(d.getValue()) && values.size() >= maxValues) {
        d.setValue(OTHER);
      } else {
        values.add(d.getValue());
      }
    }
    Set<Map<String, String>> combinations =
        combinationsByType.computeIfAbsent(e.eventType(), t -> new HashSet<>());
    Map<String, String> combination = new HashMap<>(dims);
    overflow[size] = !combinations.contains(combination) && combinations.size() >= maxSeries;
    if (!overflow[size]) {
      combinations.add(combination);
      dims.forEach((k, v) -> dimension(k).set(size, v));
    }
    size++;
    return true;
  }

  /** Events added (distinct ids). */
  synchronized int size() {
    return size;
  }

  /** The events of each type, by time: built on the first answer after an add. */
  private synchronized int[][] byType() {
    if (byType != null) {
      return byType;
    }
    List<List<Integer>> lists = new ArrayList<>();
    for (int i = 0; i < types.size(); i++) {
      lists.add(new ArrayList<>());
    }
    for (int i = 0; i < size; i++) {
      lists.get(type[i]).add(i);
    }
    byType = new int[lists.size()][];
    for (int t = 0; t < lists.size(); t++) {
      byType[t] =
          lists.get(t).stream()
              .sorted((a, b) -> Long.compare(time[a], time[b]))
              .mapToInt(Integer::intValue)
              .toArray();
    }
    return byType;
  }

  /** The exact answer to {@code q}. */
  Answer answer(Spec q) {
    long[] bounds = bounds(q.start(), q.end(), q.granularity(), q.zone());
    Map<List<String>, Acc[]> groups = new LinkedHashMap<>();
    int t = types.find(q.type());
    if (t < 0 || bounds.length < 2) {
      return new Answer(bounds, groups);
    }
    double[] field = q.field() == null ? null : fields.get(q.field());
    if (q.field() != null && field == null) {
      return new Answer(bounds, groups);
    }
    boolean keepValues = q.function().startsWith("p");
    boolean keepUsers = q.function().equals("unique_users");
    List<int[]> accepted = new ArrayList<>(); // per filter key: the accepted codes (sorted)
    List<Dimension> filterDims = new ArrayList<>();
    Set<String> typeKeys = valuesByType.get(q.type()).keySet();
    // The overflow series reads __other__ in every dimension of its type.
    boolean overflowMatches = true;
    for (Map.Entry<String, List<String>> f : q.filters().entrySet()) {
      Dimension d = dimensions.get(f.getKey());
      if (d == null) {
        return new Answer(bounds, groups);
      }
      filterDims.add(d);
      accepted.add(
          f.getValue().stream().mapToInt(d.values::find).filter(c -> c >= 0).sorted().toArray());
      overflowMatches &= typeKeys.contains(f.getKey()) && f.getValue().contains(OTHER);
    }
    List<Dimension> groupDims = new ArrayList<>();
    List<String> overflowGroup = new ArrayList<>();
    for (String key : q.groupBy()) {
      groupDims.add(dimensions.get(key));
      overflowGroup.add(typeKeys.contains(key) ? OTHER : null);
    }
    int[] events = byType()[t];
    int from = firstAtOrAfter(events, bounds[0]);
    int to = firstAtOrAfter(events, bounds[bounds.length - 1]);
    events:
    for (int k = from; k < to; k++) {
      int i = events[k];
      double v = field == null ? 1 : i < field.length ? field[i] : Double.NaN;
      if (Double.isNaN(v)) {
        continue; // a field metric counts only the events that carry the field
      }
      List<String> group;
      if (overflow[i]) {
        if (!overflowMatches) {
          continue;
        }
        group = overflowGroup;
      } else {
        for (int f = 0; f < filterDims.size(); f++) {
          if (Arrays.binarySearch(accepted.get(f), filterDims.get(f).code(i)) < 0) {
            continue events;
          }
        }
        group = new ArrayList<>(groupDims.size());
        for (Dimension d : groupDims) {
          group.add(d == null ? null : d.value(i));
        }
      }
      int b = bucketOf(bounds, time[i]);
      Acc[] accs = groups.computeIfAbsent(group, g -> new Acc[bounds.length - 1]);
      if (accs[b] == null) {
        accs[b] = new Acc();
      }
      accs[b].add(v, user[i], keepValues, keepUsers);
    }
    return new Answer(bounds, groups);
  }

  /**
   * The bucket bounds of a query: whole buckets from the one holding {@code start} until one ends
   * at or after {@code end}. Computed with java.time, not with the engine's arithmetic.
   */
  static long[] bounds(long start, long end, String granularity, ZoneId zone) {
    List<Long> out = new ArrayList<>();
    boolean calendar = granularity.equals("1d") || granularity.equals("1w");
    if (calendar) {
      ZoneId z = zone == null ? ZoneOffset.UTC : zone;
      int step = granularity.equals("1w") ? 7 : 1;
      LocalDate day = Instant.ofEpochMilli(start).atZone(z).toLocalDate();
      if (step == 7) {
        day = day.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
      }
      long s = day.atStartOfDay(z).toInstant().toEpochMilli();
      out.add(s);
      while (s < end) {
        day = day.plusDays(step);
        s = day.atStartOfDay(z).toInstant().toEpochMilli();
        out.add(s);
      }
    } else {
      long width = widthMillis(granularity);
      long s = Math.floorDiv(start, width) * width;
      out.add(s);
      while (s < end) {
        s += width;
        out.add(s);
      }
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  static long widthMillis(String granularity) {
    long n = Long.parseLong(granularity.substring(0, granularity.length() - 1));
    return n
        * switch (granularity.charAt(granularity.length() - 1)) {
          case 's' -> 1_000L;
          case 'm' -> 60_000L;
          case 'h' -> 3_600_000L;
          case 'd' -> 86_400_000L;
          case 'w' -> 7 * 86_400_000L;
          default -> throw new IllegalArgumentException(granularity);
        };
  }

  private static int bucketOf(long[] bounds, long t) {
    int i = Arrays.binarySearch(bounds, t);
    return i >= 0 ? i : -i - 2;
  }

  private int firstAtOrAfter(int[] events, long t) {
    int lo = 0;
    int hi = events.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (time[events[mid]] < t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // ---- the exact value of a function, and how far a sketch may stray from it -----------------

  /** The requested rank of a percentile function ({@code p95} → 0.95), or -1. */
  static double rank(String function) {
    return function.matches("p\\d\\d") ? Integer.parseInt(function.substring(1)) / 100.0 : -1;
  }

  /**
   * The exact value of {@code function} over an accumulator; for a percentile, DataSketches'
   * inclusive rule: the smallest value with at least {@code ceil(rank * n)} values at or below it.
   */
  static double exact(String function, Acc a, boolean countMetric) {
    return switch (function) {
      case "count" -> a.count;
      case "sum" -> countMetric ? a.count : a.sum;
      case "avg" -> a.sum / a.count;
      case "min" -> a.min;
      case "max" -> a.max;
      case "unique_users" -> a.users.size();
      default -> {
        double[] s = a.sorted();
        yield s[naturalRank(rank(function), s.length) - 1];
      }
    };
  }

  /** {@code ceil(rank * n)}, in decimal arithmetic (0.95 * 20 is 19, not 19.000000000000004). */
  static int naturalRank(double rank, int n) {
    int r =
        BigDecimal.valueOf(rank)
            .multiply(BigDecimal.valueOf(n))
            .setScale(0, RoundingMode.CEILING)
            .intValueExact();
    return Math.max(1, Math.min(n, r));
  }

  /**
   * The interval a correct answer may lie in: the exact value for count, min and max; the exact
   * value within {@code relSum} (relative) for sum and avg (summation order differs); for a
   * percentile, every value whose true rank is within {@code rankError} of the requested rank
   * (exact at most {@code exactValues} values); for unique_users, the exact count within {@code
   * userError} (relative; exact at most {@code exactUsers} users).
   */
  static double[] allowed(
      String function,
      Acc a,
      boolean countMetric,
      double relSum,
      double rankError,
      int exactValues,
      double userError,
      int exactUsers) {
    double r = rank(function);
    if (r >= 0) {
      double[] s = a.sorted();
      int n = s.length;
      if (n <= exactValues) {
        double v = s[naturalRank(r, n) - 1];
        return new double[] {v, v};
      }
      // Lowest: the first value whose count of values <= it reaches (r - e) n. Highest: the last
      // value with at most (r + e) n values below it.
      int lo = (int) Math.ceil((r - rankError) * n) - 1;
      int hi = (int) Math.floor((r + rankError) * n);
      return new double[] {
        s[Math.max(0, Math.min(n - 1, lo))], s[Math.max(0, Math.min(n - 1, hi))]
      };
    }
    double v = exact(function, a, countMetric);
    if (function.equals("unique_users")) {
      if (v <= exactUsers) {
        return new double[] {v, v};
      }
      return new double[] {v * (1 - userError) - 0.5, v * (1 + userError) + 0.5};
    }
    if (function.equals("sum") || function.equals("avg")) {
      double slack = Math.abs(v) * relSum;
      return new double[] {v - slack, v + slack};
    }
    return new double[] {v, v};
  }

  /**
   * Why {@code got} is not an acceptable answer over {@code a}, or null if it is. A percentile must
   * be one of the bucket's values, and its true rank within the error of the requested one.
   */
  static String mismatch(
      String function,
      Acc a,
      boolean countMetric,
      double got,
      double relSum,
      double rankError,
      int exactValues,
      double userError,
      int exactUsers) {
    double r = rank(function);
    if (r >= 0) {
      double[] s = a.sorted();
      int n = s.length;
      int below = lowerBound(s, got);
      int atOrBelow = upperBound(s, got);
      if (n <= exactValues) {
        double want = s[naturalRank(r, n) - 1];
        return got == want ? null : "got " + got + ", want " + want + " (exact, " + n + " values)";
      }
      if (atOrBelow == below) {
        return "got " + got + ", which is none of the bucket's " + n + " values";
      }
      double rankLo = (double) below / n;
      double rankHi = (double) atOrBelow / n;
      if (r < rankLo - rankError || r > rankHi + rankError) {
        return String.format(
            "got %s of true rank [%.4f, %.4f], want rank %.2f ± %.4f of %d values (exact %s)",
            got, rankLo, rankHi, r, rankError, n, s[naturalRank(r, n) - 1]);
      }
      return null;
    }
    double[] range =
        allowed(function, a, countMetric, relSum, rankError, exactValues, userError, exactUsers);
    if (got >= range[0] && got <= range[1]) {
      return null;
    }
    double want = exact(function, a, countMetric);
    return range[0] == range[1]
        ? "got " + got + ", want " + want
        : "got " + got + ", want " + want + " (allowed [" + range[0] + ", " + range[1] + "])";
  }

  private static int lowerBound(double[] s, double v) {
    int lo = 0;
    int hi = s.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (s[mid] < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private static int upperBound(double[] s, double v) {
    int lo = 0;
    int hi = s.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (s[mid] <= v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // ---- storage -------------------------------------------------------------------------------

  private Dimension dimension(String key) {
    return dimensions.computeIfAbsent(key, k -> new Dimension());
  }

  private static double[] nanColumn(int n) {
    double[] c = new double[n];
    Arrays.fill(c, Double.NaN);
    return c;
  }

  /** Strings to dense codes. */
  private static final class Dictionary {
    private final Map<String, Integer> codes = new HashMap<>();
    private final List<String> values = new ArrayList<>();

    int code(String value) {
      Integer c = codes.get(value);
      if (c == null) {
        c = values.size();
        codes.put(value, c);
        values.add(value);
      }
      return c;
    }

    int find(String value) {
      Integer c = codes.get(value);
      return c == null ? -1 : c;
    }

    String value(int code) {
      return values.get(code);
    }

    int size() {
      return values.size();
    }
  }

  /** One dimension's values, coded, per event (-1 where the event does not carry it). */
  private final class Dimension {
    final Dictionary values = new Dictionary();
    int[] codes = new int[0];

    void set(int event, String value) {
      if (codes.length <= event) {
        int old = codes.length;
        codes = Arrays.copyOf(codes, time.length);
        Arrays.fill(codes, old, codes.length, -1);
      }
      codes[event] = values.code(value);
    }

    int code(int event) {
      return event < codes.length ? codes[event] : -1;
    }

    String value(int event) {
      int c = code(event);
      return c < 0 ? null : values.value(c);
    }
  }
}
