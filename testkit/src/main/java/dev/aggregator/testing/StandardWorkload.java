package dev.aggregator.testing;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventProperties;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * The standard workload of docs/DESIGN.md §9, generated deterministically from a seed and a clock:
 * what the benchmarks, the load generator and volume tests send.
 *
 * <pre>{@code
 * StandardWorkload w = new StandardWorkload(42, System::currentTimeMillis);
 * StandardWorkload.Generated g = w.next();   // g.json(), g.event() (null if invalid), g.kind()
 * byte[] body = w.ndjsonBatch(1_000);        // POST /api/events/batch, application/x-ndjson
 * }</pre>
 *
 * <p>Every event carries a client id, a user of {@value #USERS}, a source of 5, and the properties
 * {@code page} (200 values), {@code category} (20), {@code country} (50), {@code device} (3) and a
 * numeric {@code value}. Event types are 50 names with Zipf frequencies ({@code page_view} ~22 %,
 * {@code click} ~11 %, ... {@code 1/rank}). Of all events:
 *
 * <ul>
 *   <li>~1 % repeat an earlier event exactly, id included (a client retry): {@link Kind#DUPLICATE}
 *   <li>~0.5 % are invalid: a missing timestamp, an event type with a forbidden character, an array
 *       property, or a timestamp 6–60 min ahead: {@link Kind#INVALID}
 *   <li>~1 % are 65 s–10 min behind now (late for the default 1 min lateness): {@link Kind#LATE}
 *   <li>~0.1 % are 2–180 days old: {@link Kind#HISTORICAL}
 *   <li>the rest are 0–2 s behind now: {@link Kind#VALID}
 * </ul>
 *
 * <p>An event is ~215 bytes of JSON; docs/DESIGN.md §9's ~180 bytes are the same shape without the
 * id and source fields, which every event here carries. Timestamps are RFC 3339 to the second, so
 * decoding gives back exactly {@link Generated#event()}.
 *
 * <p>Fast enough to run beside the server on the same 2 cores: {@link #ndjsonBatch} renders
 * straight into one byte array from pre-encoded pieces, without building an {@link Event} or any
 * other per-event object: ~250 ns/event on the shared 2-core machine ({@code GenerateBenchmark} in
 * the bench module). Not thread-safe; give each thread its own instance and seed. The client ids
 * start with a prefix derived from the seed, so different seeds give different ids — use a fresh
 * seed for every run against a server that remembers ids (24 h by default).
 */
public final class StandardWorkload {
  /** What a generated event is meant to test. */
  public enum Kind {
    /** Valid, timestamp 0–2 s behind now. */
    VALID,
    /** Valid, 65 s–10 min behind now. */
    LATE,
    /** Valid, 2–180 days old. */
    HISTORICAL,
    /** An exact repeat of an earlier valid, late or historical event, id included. */
    DUPLICATE,
    /** Rejected by the event contract. */
    INVALID
  }

  /**
   * One generated event.
   *
   * @param json the event as a client sends it (one line, no newline)
   * @param event what the decoder must make of it; {@code null} if invalid
   * @param kind what it is meant to test
   */
  public record Generated(String json, Event event, Kind kind) {}

  public static final int USERS = 100_000;

  /** 50 event types, most frequent first; type {@code i} has weight {@code 1 / (i + 1)}. */
  public static final String[] EVENT_TYPES = {
    "page_view", "click", "session_start", "search", "add_to_cart",
    "screen_view", "scroll", "login", "video_play", "session_end",
    "form_submit", "product_view", "signup", "purchase", "remove_from_cart",
    "share", "logout", "checkout_start", "like", "comment",
    "notification_open", "download", "filter_apply", "video_pause", "error",
    "wishlist_add", "coupon_apply", "payment_info", "shipping_info", "review_submit",
    "tab_switch", "app_open", "app_close", "push_received", "banner_click",
    "newsletter_signup", "chat_open", "chat_message", "rating", "subscribe",
    "unsubscribe", "password_reset", "profile_update", "invite_sent", "refund_request",
    "trial_start", "trial_end", "upgrade", "downgrade", "feedback"
  };

  private static final String[] SECTIONS = {
    "home", "search", "cart", "checkout", "account", "blog", "docs", "help", "deals", "new",
    "men", "women", "kids", "sale", "brands", "stores", "about", "careers", "press", "legal"
  };

  /** 200 pages: 20 sections of 10. */
  public static final String[] PAGES = pages();

  public static final String[] CATEGORIES = {
    "books", "music", "toys", "garden", "sports", "beauty", "food", "tools", "games", "shoes",
    "bags", "auto", "baby", "pets", "health", "home", "office", "tech", "art", "travel"
  };

  public static final String[] COUNTRIES = {
    "US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "ES", "IT", "NL", "SE", "PL", "MX", "KR",
    "CN", "RU", "TR", "ID", "AR", "ZA", "NG", "EG", "SA", "AE", "IL", "CH", "AT", "BE", "DK", "NO",
    "FI", "IE", "PT", "CZ", "RO", "HU", "GR", "UA", "TH", "VN", "PH", "MY", "SG", "NZ", "CL", "CO",
    "PE", "KE"
  };

  public static final String[] DEVICES = {"mobile", "desktop", "tablet"};

  public static final String[] SOURCES = {"web", "ios", "android", "server", "api"};

  /** Event types that no contract allows: a space, '!', '/', '#'. */
  private static final String[] BAD_EVENT_TYPES = {
    "page view", "add_to_cart!", "sign/up", "click#2"
  };

  // Kind draws out of 100,000.
  private static final int DUPLICATE_BELOW = 1_000;
  private static final int INVALID_BELOW = 1_500;

  /** The default share of late events, per 100,000 draws (1 %). */
  public static final int DEFAULT_LATE_PER_100K = 1_000;

  private static final int HISTORICAL_PER_100K = 100;

  private final int lateBelow;
  private final int historicalBelow;

  private static final long SECOND = 1_000L;
  private static final long MINUTE = 60 * SECOND;
  private static final long DAY = 86_400 * SECOND;

  /** A uniform 16-bit draw maps to an event type with Zipf (s = 1) probability. */
  private static final byte[] TYPE_BY_DRAW = zipfTable(EVENT_TYPES.length, 1 << 16);

  private static final int HISTORY = 1024;

  /** No event renders longer than this (they are ~210 bytes). */
  private static final int MAX_EVENT_BYTES = 512;

  private static final byte[] DIGITS36 = ascii("0123456789abcdefghijklmnopqrstuvwxyz");
  private static final byte[][] TYPE_BYTES = ascii(EVENT_TYPES);
  private static final byte[][] BAD_EVENT_TYPE_BYTES = ascii(BAD_EVENT_TYPES);
  private static final byte[][] PAGE_BYTES = ascii(PAGES);
  private static final byte[][] CATEGORY_BYTES = ascii(CATEGORIES);
  private static final byte[][] COUNTRY_BYTES = ascii(COUNTRIES);
  private static final byte[][] DEVICE_BYTES = ascii(DEVICES);
  private static final byte[][] SOURCE_BYTES = ascii(SOURCES);
  private static final byte[] ID_OPEN = ascii("{\"id\":\"");
  private static final byte[] EVENT_TYPE_OPEN = ascii("\",\"eventType\":\"");
  private static final byte[] USER_OPEN = ascii("\",\"userId\":\"user");
  private static final byte[] TIMESTAMP_OPEN = ascii("\",\"timestamp\":\"");
  private static final byte[] SOURCE_OPEN = ascii("\",\"source\":\"");
  private static final byte[] PAGE_OPEN = ascii("\",\"properties\":{\"page\":\"");
  private static final byte[] CATEGORY_OPEN = ascii("\",\"category\":\"");
  private static final byte[] COUNTRY_OPEN = ascii("\",\"country\":\"");
  private static final byte[] DEVICE_OPEN = ascii("\",\"device\":\"");
  private static final byte[] VALUE_OPEN = ascii("\",\"value\":");
  private static final byte[] ARRAY_PROPERTY = ascii(",\"tags\":[\"sale\",\"new\"]");

  private final SplittableRandom random;
  private final LongSupplier clock;
  private final String idPrefix;
  private final byte[] idPrefixBytes;
  private byte[] buf = new byte[4 * MAX_EVENT_BYTES];
  private int length;
  private long nextId;

  // The event being generated.
  private long id;
  private int type;
  private int user;
  private int source;
  private int page;
  private int category;
  private int country;
  private int device;
  private int cents;
  private long timestamp;
  private int invalidKind;

  // The last HISTORY accepted events, as their fields, so a retry re-renders the same JSON.
  private final long[] hId = new long[HISTORY];
  private final long[] hTimestamp = new long[HISTORY];
  private final int[] hType = new int[HISTORY];
  private final int[] hUser = new int[HISTORY];
  private final int[] hSource = new int[HISTORY];
  private final int[] hPage = new int[HISTORY];
  private final int[] hCategory = new int[HISTORY];
  private final int[] hCountry = new int[HISTORY];
  private final int[] hDevice = new int[HISTORY];
  private final int[] hCents = new int[HISTORY];
  private int historySize;
  private int historyNext;

  // Cached "yyyy-mm-ddT" of the last day formatted.
  private long cachedDay = Long.MIN_VALUE;
  private byte[] cachedDayPrefix;

  /**
   * @param seed the same seed and clock readings give the same events
   * @param clockMillis "now" in epoch ms, read once per event
   */
  public StandardWorkload(long seed, LongSupplier clockMillis) {
    this(seed, clockMillis, DEFAULT_LATE_PER_100K);
  }

  /**
   * As above, with {@code latePer100k} of every 100,000 events late instead of 1,000 (the
   * benchmarks' "half of the events late" is 50,000); duplicates, invalid and historical events
   * keep their shares, valid ones make up the rest.
   */
  public StandardWorkload(long seed, LongSupplier clockMillis, int latePer100k) {
    if (latePer100k < 0 || latePer100k > 100_000 - INVALID_BELOW - HISTORICAL_PER_100K) {
      throw new IllegalArgumentException("latePer100k out of range: " + latePer100k);
    }
    this.lateBelow = INVALID_BELOW + latePer100k;
    this.historicalBelow = lateBelow + HISTORICAL_PER_100K;
    this.random = new SplittableRandom(seed);
    this.clock = clockMillis;
    this.idPrefix = idPrefix(seed);
    this.idPrefixBytes = ascii(idPrefix);
  }

  /** The next event with the event the decoder must make of it. */
  public Generated next() {
    Kind kind = draw();
    length = 0;
    render(kind);
    String json = new String(buf, 0, length, StandardCharsets.ISO_8859_1); // ASCII only
    return new Generated(json, kind == Kind.INVALID ? null : toEvent(), kind);
  }

  /** Appends {@code n} events, one per line, each line ending in {@code '\n'}. */
  public void ndjson(int n, StringBuilder out) {
    renderLines(n);
    out.append(new String(buf, 0, length, StandardCharsets.ISO_8859_1));
  }

  /**
   * {@code n} events as an NDJSON body (ASCII, so also UTF-8), each line ending in {@code '\n'}.
   */
  public byte[] ndjsonBatch(int n) {
    renderLines(n);
    return Arrays.copyOf(buf, length);
  }

  private void renderLines(int n) {
    length = 0;
    for (int i = 0; i < n; i++) {
      render(draw());
      buf[length++] = '\n';
    }
  }

  private Kind draw() {
    long now = clock.getAsLong();
    int r = below(100_000);
    if (r < DUPLICATE_BELOW) {
      if (historySize > 0) {
        recall(below(historySize));
        return Kind.DUPLICATE;
      }
      r = historicalBelow; // nothing to retry yet: a valid event
    }
    id = nextId++;
    type = TYPE_BY_DRAW[below(1 << 16)];
    user = below(USERS);
    source = below(SOURCES.length);
    page = below(PAGES.length);
    category = below(CATEGORIES.length);
    country = below(COUNTRIES.length);
    device = below(DEVICES.length);
    cents = 1 + below(99_999);
    Kind kind;
    long ts;
    if (r < INVALID_BELOW) {
      kind = Kind.INVALID;
      invalidKind = below(4);
      ts = invalidKind == 3 ? now + 6 * MINUTE + random.nextLong(54 * MINUTE) : now;
    } else if (r < lateBelow) {
      kind = Kind.LATE;
      ts = now - 65 * SECOND - random.nextLong(535 * SECOND);
    } else if (r < historicalBelow) {
      kind = Kind.HISTORICAL;
      ts = now - 2 * DAY - random.nextLong(178 * DAY);
    } else {
      kind = Kind.VALID;
      ts = now - below(2_000);
    }
    timestamp = Math.floorDiv(ts, SECOND) * SECOND; // RFC 3339 to the second: decodes exactly
    if (kind != Kind.INVALID) {
      remember();
    }
    return kind;
  }

  /**
   * A uniform int in {@code [0, bound)} by multiply-shift (D. Lemire): no division, unlike {@code
   * nextInt(bound)}, and a bias below {@code bound / 2^32}, which no test can see.
   */
  private int below(int bound) {
    return (int) ((Integer.toUnsignedLong(random.nextInt()) * bound) >>> 32);
  }

  /** Appends the current event's JSON to {@link #buf}. */
  private void render(Kind kind) {
    if (buf.length - length < MAX_EVENT_BYTES) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, length + MAX_EVENT_BYTES));
    }
    boolean invalid = kind == Kind.INVALID;
    put(ID_OPEN);
    put(idPrefixBytes);
    putBase36(id);
    put(EVENT_TYPE_OPEN);
    put(invalid && invalidKind == 1 ? BAD_EVENT_TYPE_BYTES[(int) (id & 3)] : TYPE_BYTES[type]);
    put(USER_OPEN);
    putInt(user);
    if (!invalid || invalidKind != 0) {
      put(TIMESTAMP_OPEN);
      putTimestamp(timestamp);
    }
    put(SOURCE_OPEN);
    put(SOURCE_BYTES[source]);
    put(PAGE_OPEN);
    put(PAGE_BYTES[page]);
    put(CATEGORY_OPEN);
    put(CATEGORY_BYTES[category]);
    put(COUNTRY_OPEN);
    put(COUNTRY_BYTES[country]);
    put(DEVICE_OPEN);
    put(DEVICE_BYTES[device]);
    put(VALUE_OPEN);
    putInt(cents / 100);
    int fraction = cents % 100;
    buf[length++] = '.';
    buf[length++] = (byte) ('0' + fraction / 10);
    buf[length++] = (byte) ('0' + fraction % 10);
    if (invalid && invalidKind == 2) {
      put(ARRAY_PROPERTY);
    }
    buf[length++] = '}';
    buf[length++] = '}';
  }

  private void put(byte[] b) {
    System.arraycopy(b, 0, buf, length, b.length);
    length += b.length;
  }

  /** A non-negative int in decimal. */
  private void putInt(int v) {
    int digits = 1;
    for (int rest = v; rest >= 10; rest /= 10) {
      digits++;
    }
    length += digits;
    for (int i = length - 1; digits-- > 0; i--) {
      buf[i] = (byte) ('0' + v % 10);
      v /= 10;
    }
  }

  /** A non-negative long in base 36. */
  private void putBase36(long v) {
    int digits = 1;
    for (long rest = v; rest >= 36; rest /= 36) {
      digits++;
    }
    length += digits;
    for (int i = length - 1; digits-- > 0; i--) {
      buf[i] = DIGITS36[(int) (v % 36)];
      v /= 36;
    }
  }

  private Event toEvent() {
    StringBuilder idText = new StringBuilder(16).append(idPrefix);
    appendBase36(idText, id);
    EventProperties properties =
        EventProperties.builder()
            .string("page", PAGES[page])
            .string("category", CATEGORIES[category])
            .string("country", COUNTRIES[country])
            .string("device", DEVICES[device])
            .number("value", cents / 100.0) // the double nearest to the decimal text, as parsed
            .build();
    return new Event(
        idText.toString(),
        EVENT_TYPES[type],
        "user" + user,
        timestamp,
        SOURCES[source],
        properties);
  }

  private void remember() {
    int i = historyNext;
    hId[i] = id;
    hTimestamp[i] = timestamp;
    hType[i] = type;
    hUser[i] = user;
    hSource[i] = source;
    hPage[i] = page;
    hCategory[i] = category;
    hCountry[i] = country;
    hDevice[i] = device;
    hCents[i] = cents;
    historyNext = (i + 1) % HISTORY;
    historySize = Math.min(historySize + 1, HISTORY);
  }

  private void recall(int i) {
    id = hId[i];
    timestamp = hTimestamp[i];
    type = hType[i];
    user = hUser[i];
    source = hSource[i];
    page = hPage[i];
    category = hCategory[i];
    country = hCountry[i];
    device = hDevice[i];
    cents = hCents[i];
  }

  /** {@code yyyy-mm-ddThh:mm:ssZ} of UTC epoch milliseconds (milliseconds dropped). */
  private void putTimestamp(long millis) {
    long day = Math.floorDiv(millis, DAY);
    if (day != cachedDay) {
      cachedDay = day;
      cachedDayPrefix = ascii(dayPrefix(day));
    }
    int secondOfDay = (int) (Math.floorMod(millis, DAY) / SECOND);
    put(cachedDayPrefix);
    putTwoDigits(secondOfDay / 3600);
    buf[length++] = ':';
    putTwoDigits(secondOfDay / 60 % 60);
    buf[length++] = ':';
    putTwoDigits(secondOfDay % 60);
    buf[length++] = 'Z';
  }

  private void putTwoDigits(int v) {
    buf[length++] = (byte) ('0' + v / 10);
    buf[length++] = (byte) ('0' + v % 10);
  }

  /** {@code yyyy-mm-ddT} of days since the epoch (H. Hinnant's civil_from_days). */
  private static String dayPrefix(long epochDay) {
    long z = epochDay + 719_468;
    long era = Math.floorDiv(z, 146_097);
    long doe = z - era * 146_097;
    long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    int d = (int) (doy - (153 * mp + 2) / 5 + 1);
    int m = (int) (mp < 10 ? mp + 3 : mp - 9);
    long y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    StringBuilder b = new StringBuilder(11);
    b.append(y).append('-');
    twoDigits(b, m);
    b.append('-');
    twoDigits(b, d);
    return b.append('T').toString();
  }

  private static void twoDigits(StringBuilder out, int v) {
    out.append((char) ('0' + v / 10)).append((char) ('0' + v % 10));
  }

  private static void appendBase36(StringBuilder out, long v) {
    if (v >= 36) {
      appendBase36(out, v / 36);
    }
    out.append((char) DIGITS36[(int) (v % 36)]);
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[][] ascii(String[] strings) {
    byte[][] bytes = new byte[strings.length][];
    for (int i = 0; i < strings.length; i++) {
      bytes[i] = ascii(strings[i]);
    }
    return bytes;
  }

  /** Five base-36 characters from the seed: 60 M prefixes, so runs rarely share ids. */
  private static String idPrefix(long seed) {
    long h = seed * 0x9E3779B97F4A7C15L;
    h ^= h >>> 31;
    h *= 0xBF58476D1CE4E5B9L;
    h ^= h >>> 29;
    StringBuilder b = new StringBuilder(5);
    for (int i = 0; i < 5; i++) {
      b.append(Character.forDigit((int) Long.remainderUnsigned(h, 36), 36));
      h = Long.divideUnsigned(h, 36);
    }
    return b.toString();
  }

  private static String[] pages() {
    String[] pages = new String[SECTIONS.length * 10];
    for (int i = 0; i < pages.length; i++) {
      pages[i] = "/" + SECTIONS[i / 10] + "/" + (i % 10);
    }
    return pages;
  }

  private static byte[] zipfTable(int n, int size) {
    double[] cdf = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += 1.0 / (i + 1);
      cdf[i] = sum;
    }
    byte[] table = new byte[size];
    int type = 0;
    for (int j = 0; j < size; j++) {
      double u = (j + 0.5) / size * sum;
      while (cdf[type] < u) {
        type++;
      }
      table[j] = (byte) type;
    }
    return table;
  }
}
