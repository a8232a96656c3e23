package dev.aggregator.server;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.aggregator.aggregation.Catalog;
import dev.aggregator.aggregation.EventSchema;
import dev.aggregator.event.Timestamps;
import dev.aggregator.query.EventsUnavailableException;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryParser;
import dev.aggregator.query.QueryResult;
import io.vertx.core.MultiMap;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** {@code GET /api/analytics/query} and {@code GET /api/analytics/metrics}. */
final class QueryHandlers {
  private final Engine agg;
  private final int maxQueries;
  private final WorkerExecutor workers;
  private final AtomicInteger running = new AtomicInteger();

  /**
   * @param workers runs queries: as many threads as cores, so that a burst of heavy queries is
   *     queued rather than run 20 at a time on 2 cores, each then taking 10x longer
   */
  QueryHandlers(Engine agg, WorkerExecutor workers, int maxQueries) {
    this.agg = agg;
    this.workers = workers;
    this.maxQueries = maxQueries;
  }

  /**
   * Runs on a worker thread: a query over thousands of series can take tens of milliseconds, which
   * would hold up every other request on its event loop.
   */
  void query(RoutingContext ctx) {
    MultiMap params = ctx.queryParams();
    if (!admit(ctx)) {
      return;
    }
    workers
        .executeBlocking(() -> write(agg.query(agg.queryParser().parse(params::getAll))), false)
        .onComplete(
            done -> {
              running.decrementAndGet();
              if (done.succeeded()) {
                Http.send(ctx, 200, "application/json", Buffer.buffer(done.result()));
              } else if (done.cause() instanceof InvalidQueryException e) {
                Http.error(
                    ctx,
                    400,
                    "invalid_query",
                    e.getMessage(),
                    List.of(Map.of("parameter", e.parameter())));
              } else if (done.cause() instanceof ClusterEngine.Unavailable e) {
                ctx.response().putHeader("Retry-After", "1");
                Http.error(ctx, 503, "rollups_unavailable", e.getMessage());
              } else if (done.cause() instanceof EventsUnavailableException e) {
                ctx.response().putHeader("Retry-After", "1");
                Http.error(ctx, 503, "events_unavailable", e.getMessage());
              } else {
                ctx.fail(done.cause());
              }
            });
  }

  /** Takes a place among {@code maxQueries}, or answers 429. */
  private boolean admit(RoutingContext ctx) {
    if (running.incrementAndGet() > maxQueries) {
      running.decrementAndGet();
      ctx.response().putHeader("Retry-After", "1");
      Http.error(
          ctx,
          429,
          "overloaded",
          maxQueries
              + " queries are already waiting or running (maxQueries); retry after 1 second");
      return false;
    }
    return true;
  }

  /**
   * {@code GET /api/events/export?start&end&eventType&format=parquet|ndjson|csv}: the raw events of
   * a range from the event store, written to a temp file on a worker thread, then streamed.
   */
  void export(RoutingContext ctx) {
    MultiMap params = ctx.queryParams();
    String format = params.get("format") == null ? "ndjson" : params.get("format");
    if (!List.of("parquet", "ndjson", "csv").contains(format)) {
      Http.error(
          ctx,
          400,
          "invalid_export",
          "format must be parquet, ndjson or csv",
          List.of(Map.of("parameter", "format")));
      return;
    }
    long start;
    long end;
    try {
      long now = agg.clock().getAsLong();
      start =
          params.get("start") == null
              ? Long.MIN_VALUE
              : QueryParser.time("start", params.get("start"), now);
      end =
          params.get("end") == null
              ? Long.MAX_VALUE
              : QueryParser.time("end", params.get("end"), now);
    } catch (InvalidQueryException e) {
      Http.error(
          ctx, 400, "invalid_export", e.getMessage(), List.of(Map.of("parameter", e.parameter())));
      return;
    }
    String type = params.get("eventType");
    workers
        .executeBlocking(
            () -> {
              java.nio.file.Path file = java.nio.file.Files.createTempFile("export", "." + format);
              try (var out = java.nio.file.Files.newOutputStream(file)) {
                dev.aggregator.Aggregator embedded = agg.embedded();
                embedded.rawEvents().awaitVisible(embedded.runner().appliedUpTo(), 10_000);
                embedded.rawEvents().export(start, end, type, format, out);
              } catch (Exception e) {
                java.nio.file.Files.deleteIfExists(file);
                throw e;
              }
              return file;
            },
            false)
        .onComplete(
            done -> {
              if (done.failed()) {
                ctx.fail(done.cause());
                return;
              }
              java.nio.file.Path file = done.result();
              String contentType =
                  switch (format) {
                    case "parquet" -> "application/vnd.apache.parquet";
                    case "csv" -> "text/csv";
                    default -> "application/x-ndjson";
                  };
              ctx.response()
                  .putHeader("Content-Type", contentType)
                  .putHeader(
                      "Content-Disposition", "attachment; filename=\"events." + format + "\"")
                  .sendFile(file.toString())
                  .onComplete(
                      sent -> {
                        try {
                          java.nio.file.Files.deleteIfExists(file);
                        } catch (IOException e) {
                          // a temp file: the OS cleans it up
                        }
                      });
            });
  }

  /**
   * The seed's shape {@code {"metric","data":[{"timestamp","value"}]}} plus what was asked; with
   * {@code groupBy}, {@code "series":[{"dimensions":{...},"data":[...]}]} instead of {@code data}.
   * Written with the streaming generator: a result may hold 11,000 points per series.
   */
  static byte[] write(QueryResult r) {
    Query q = r.query();
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + r.data().size() * 48);
    try (JsonGenerator g = Http.JSON.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("metric", q.metric());
      g.writeStringField("function", q.function().label());
      g.writeStringField("granularity", q.granularity().label());
      g.writeStringField("start", Timestamps.format(q.start()));
      g.writeStringField("end", Timestamps.format(q.end()));
      g.writeStringField("fill", q.fill().label());
      g.writeStringField("source", r.source());
      if (q.zone() != null) {
        g.writeStringField("tz", q.zone().getId());
      }
      if (!q.filters().isEmpty()) {
        g.writeObjectFieldStart("filter");
        for (Map.Entry<String, List<String>> f : q.filters().entrySet()) {
          g.writeArrayFieldStart(f.getKey());
          for (String v : f.getValue()) {
            g.writeString(v);
          }
          g.writeEndArray();
        }
        g.writeEndObject();
      }
      if (q.groupBy().isEmpty()) {
        writeData(g, r.data());
      } else {
        g.writeArrayFieldStart("groupBy");
        for (String key : q.groupBy()) {
          g.writeString(key);
        }
        g.writeEndArray();
        g.writeNumberField("limit", q.limit());
        g.writeArrayFieldStart("series");
        for (QueryResult.Series s : r.series()) {
          g.writeStartObject();
          g.writeObjectFieldStart("dimensions");
          for (Map.Entry<String, String> d : s.dimensions().entrySet()) {
            g.writeStringField(d.getKey(), d.getValue());
          }
          g.writeEndObject();
          writeData(g, s.data());
          g.writeEndObject();
        }
        g.writeEndArray();
      }
      if (!r.warnings().isEmpty()) {
        g.writeArrayFieldStart("warnings");
        for (String w : r.warnings()) {
          g.writeString(w);
        }
        g.writeEndArray();
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void writeData(JsonGenerator g, List<QueryResult.Point> data) throws IOException {
    g.writeArrayFieldStart("data");
    for (QueryResult.Point p : data) {
      g.writeStartObject();
      g.writeStringField("timestamp", Timestamps.format(p.timestamp()));
      g.writeFieldName("value");
      writeNumber(g, p.value());
      g.writeEndObject();
    }
    g.writeEndArray();
  }

  /** Whole numbers print without a fraction ({@code 3}, not {@code 3.0}); null stays null. */
  static void writeNumber(JsonGenerator g, Double v) throws IOException {
    if (v == null || v.isNaN()) {
      g.writeNull();
    } else if (v == Math.rint(v) && Math.abs(v) < 9.007199254740992E15) {
      g.writeNumber(v.longValue());
    } else {
      g.writeNumber(v);
    }
  }

  /**
   * The catalog: every metric with its kind and event type, and every event type with its fields,
   * dimensions (cardinality, whether capped), series, first/last seen and event count.
   */
  /** Event types per page of the catalog: a full one (maxEventTypes) once ran out of heap. */
  static final int METRICS_PAGE = 1_000;

  /**
   * {@code GET /api/analytics/metrics?limit=1000&after=<eventType>}: the catalog, a page of event
   * types (by name) at a time, with {@code "next"} naming the {@code after} of the next page. Built
   * on a worker: a page is up to a few megabytes of JSON.
   */
  void metrics(RoutingContext ctx) {
    int limit = METRICS_PAGE;
    String l = ctx.request().getParam("limit");
    if (l != null) {
      try {
        limit = Integer.parseInt(l);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > METRICS_PAGE) {
        Http.error(
            ctx,
            400,
            "invalid_query",
            "limit must be 1 to " + METRICS_PAGE,
            List.of(Map.of("parameter", "limit")));
        return;
      }
    }
    String after = ctx.request().getParam("after");
    if (!admit(ctx)) {
      return;
    }
    int pageSize = limit;
    workers
        .executeBlocking(
            () -> Buffer.buffer(Http.JSON.writeValueAsBytes(catalogPage(pageSize, after))), false)
        .onComplete(
            done -> {
              running.decrementAndGet();
              if (done.succeeded()) {
                Http.send(ctx, 200, "application/json", done.result());
              } else {
                ctx.fail(done.cause());
              }
            });
  }

  private Map<String, Object> catalogPage(int limit, String after) {
    return agg.rollups()
        .read(
            r -> {
              Catalog catalog = r.catalog();
              List<Map<String, Object>> metrics = new ArrayList<>();
              List<Map<String, Object>> types = new ArrayList<>();
              String next = null;
              for (EventSchema s : catalog.schemas()) {
                if (after != null && s.name().compareTo(after) <= 0) {
                  continue;
                }
                if (types.size() == limit) {
                  next = types.get(types.size() - 1).get("name").toString();
                  break;
                }
                for (String name : List.of(s.name(), s.name() + "_count")) {
                  metrics.add(metric(name, "count", s.name(), null));
                }
                for (String field : s.fields()) {
                  String name = s.name() + "_" + field;
                  Catalog.MetricRef ref = catalog.resolve(name);
                  if (ref != null && ref.schema() == s && field.equals(ref.field())) {
                    metrics.add(metric(name, "field", s.name(), field));
                  }
                }
                types.add(eventType(s));
              }
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("metrics", metrics);
              m.put("eventTypes", types);
              m.put("next", next);
              return m;
            });
  }

  private static Map<String, Object> metric(String name, String kind, String type, String field) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("kind", kind);
    m.put("eventType", type);
    if (field != null) {
      m.put("field", field);
    }
    return m;
  }

  private static Map<String, Object> eventType(EventSchema s) {
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("name", s.name());
    t.put("events", s.events());
    t.put("firstSeen", s.events() == 0 ? null : Timestamps.format(s.firstSeen()));
    t.put("lastSeen", s.events() == 0 ? null : Timestamps.format(s.lastSeen()));
    t.put("fields", s.fields());
    List<Map<String, Object>> dims = new ArrayList<>();
    for (String key : s.dimensionKeys()) {
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("name", key);
      d.put("cardinality", s.cardinality(key));
      d.put("capped", s.isCapped(key));
      d.put("sparse", s.isSparse(key));
      dims.add(d);
    }
    t.put("dimensions", dims);
    t.put("series", s.seriesCount());
    t.put("combinationsCapped", s.combinationsCapped());
    t.put("dimensionsCapped", s.dimensionsCapped());
    t.put("fieldsCapped", s.fieldsCapped());
    return t;
  }
}
