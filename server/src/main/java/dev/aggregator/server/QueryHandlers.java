package dev.aggregator.server;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.aggregator.Aggregator;
import dev.aggregator.event.Timestamps;
import dev.aggregator.query.InvalidQueryException;
import dev.aggregator.query.Query;
import dev.aggregator.query.QueryResult;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/** {@code GET /api/analytics/query}. */
final class QueryHandlers {
  private final Aggregator agg;

  QueryHandlers(Aggregator agg) {
    this.agg = agg;
  }

  void query(RoutingContext ctx) {
    MultiMap params = ctx.queryParams();
    QueryResult result;
    try {
      Query q = agg.queryParser().parse(params::getAll);
      result = agg.queries().run(q);
    } catch (InvalidQueryException e) {
      Http.error(
          ctx,
          400,
          "invalid_query",
          e.getMessage(),
          List.of(java.util.Map.of("parameter", e.parameter())));
      return;
    }
    Http.send(ctx, 200, "application/json", Buffer.buffer(write(result)));
  }

  /**
   * The seed's shape {@code {"metric","data":[{"timestamp","value"}]}} plus what was asked. Written
   * with the streaming generator: a result may hold 11,000 points.
   */
  static byte[] write(QueryResult r) {
    Query q = r.query();
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + r.data().size() * 48);
    try (JsonGenerator g = Http.JSON.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("metric", q.metric());
      g.writeStringField("function", q.function().label());
      g.writeStringField("granularity", q.granularity().label());
      g.writeStringField("start", Timestamps.format(q.start()));
      g.writeStringField("end", Timestamps.format(q.end()));
      g.writeStringField("fill", q.fill().label());
      g.writeArrayFieldStart("data");
      for (QueryResult.Point p : r.data()) {
        g.writeStartObject();
        g.writeStringField("timestamp", Timestamps.format(p.timestamp()));
        g.writeFieldName("value");
        writeNumber(g, p.value());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
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
}
