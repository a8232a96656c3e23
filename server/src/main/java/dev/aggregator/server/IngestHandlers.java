package dev.aggregator.server;

import dev.aggregator.event.Event;
import dev.aggregator.ingestion.BatchTooLargeException;
import dev.aggregator.ingestion.BodyFormat;
import dev.aggregator.ingestion.DecodedBatch;
import dev.aggregator.ingestion.FieldError;
import dev.aggregator.ingestion.IngestPipeline;
import dev.aggregator.ingestion.MalformedBodyException;
import dev.aggregator.ingestion.Rejection;
import dev.aggregator.storage.DeadLetter;
import dev.aggregator.storage.LogFullException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** {@code POST /api/events} and {@code POST /api/events/batch}. */
final class IngestHandlers {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(IngestHandlers.class);

  /** The source of events that do not name one. */
  static final String HTTP_SOURCE = "http";

  private final Engine agg;
  private final WorkerExecutor decoders;

  IngestHandlers(Engine agg, WorkerExecutor decoders) {
    this.agg = agg;
    this.decoders = decoders;
  }

  /** One event → 202 {"id","status"}, or 400 with its field errors. */
  void ingestOne(RoutingContext ctx) {
    byte[] body = bodyOf(ctx);
    if (body == null) {
      return;
    }
    decode(
        ctx,
        body,
        () -> agg.decoder().decodeOne(body, HTTP_SOURCE),
        decoded -> {
          if (!decoded.rejections().isEmpty()) {
            count(decoded);
            deadLetter(decoded.rejections());
            Http.error(
                ctx,
                400,
                "invalid_event",
                "the event is invalid",
                details(decoded.errors(agg.config().limits().maxErrorsPerResponse())));
            return;
          }
          Event event = decoded.events().get(0);
          submit(
              ctx,
              decoded.events(),
              () -> count(decoded),
              r -> {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("id", r.idOf(0, event));
                out.put("status", r.duplicate()[0] ? "duplicate" : "accepted");
                Http.json(ctx, 202, out);
              });
        });
  }

  /** A batch → 200 {"accepted","duplicates","rejected","errors"}; valid events are kept. */
  void ingestBatch(RoutingContext ctx) {
    byte[] body = bodyOf(ctx);
    if (body == null) {
      return;
    }
    BodyFormat format = format(ctx);
    IngestPipeline pipeline = agg.pipeline();
    decode(
        ctx,
        body,
        () ->
            // Refused before decoding (null): nothing of the request is kept, counted or
            // dead-lettered.
            pipeline.hasRoomFor(format == BodyFormat.NDJSON ? lines(body) : 1)
                ? agg.decoder().decodeBatch(body, format, HTTP_SOURCE)
                : null,
        batch -> {
          if (batch.events().isEmpty()) {
            count(batch);
            deadLetter(batch.rejections());
            Http.json(ctx, 200, batchResponse(0, 0, batch));
            return;
          }
          // The rejections are counted and dead-lettered once the pipeline has taken the valid
          // events: a batch answered 429 is retried whole, and its invalid events must not be
          // recorded twice.
          submit(
              ctx,
              batch.events(),
              () -> {
                count(batch);
                deadLetter(batch.rejections());
              },
              r -> Http.json(ctx, 200, batchResponse(r.accepted(), r.duplicates(), batch)));
        });
  }

  /**
   * Bodies up to this many bytes are decoded on the event loop they arrived on: a whole request of
   * 256 KiB of bad records takes ~20 ms (median of 12 with curl), the bound of such a stall. Larger
   * ones go to a worker. The hop is not free: with every batch of the standard workload (1,000
   * events, ~215 KB) on a worker, 70k events/s held in 0 of 3 runs, against 2 of 5 decoded inline
   * (BENCHMARKS, "Ingest bodies off the event loop").
   */
  static final int INLINE_DECODE_BYTES = 256 * 1024;

  /**
   * Decodes, and goes on with {@code then} on the request's event loop. Decoding a 5 MiB body of
   * bad records takes a core for up to a second; on an event loop it would stall every connection
   * that loop serves, so bodies over {@link #INLINE_DECODE_BYTES} go to a worker. The workers'
   * queue is bounded by {@link IngestAdmission}: at most {@code maxIngestRequests} requests get
   * this far at once. A null result from {@code work} means the pipeline has no room: 429.
   */
  private void decode(
      RoutingContext ctx, byte[] body, Callable<DecodedBatch> work, Consumer<DecodedBatch> then) {
    Future<DecodedBatch> decoded;
    if (body.length <= INLINE_DECODE_BYTES) {
      try {
        decoded = Future.succeededFuture(work.call());
      } catch (Exception e) {
        decoded = Future.failedFuture(e);
      }
    } else {
      decoded = decoders.executeBlocking(work, false);
    }
    decoded.onComplete(
        done -> {
          if (done.succeeded()) {
            if (done.result() == null) {
              IngestPipeline pipeline = agg.pipeline();
              Http.overloaded(ctx, pipeline.inFlight(), pipeline.maxInFlight());
            } else {
              then.accept(done.result());
            }
          } else if (done.cause() instanceof MalformedBodyException e) {
            malformed(ctx, body, e);
          } else if (done.cause() instanceof BatchTooLargeException e) {
            Http.error(ctx, 413, "batch_too_large", e.getMessage());
          } else {
            ctx.fail(done.cause()); // a bug: the router's failure handler answers 500
          }
        });
  }

  /**
   * The non-empty lines of an NDJSON body: at least the permits its valid events will take, at most
   * one more per invalid line. One pass over bytes already in memory (~30 µs for 1,000 events).
   */
  static long lines(byte[] body) {
    long n = 0;
    boolean content = false;
    for (byte b : body) {
      if (b == '\n') {
        if (content) {
          n++;
        }
        content = false;
      } else if (b != '\r' && b != ' ' && b != '\t') {
        content = true;
      }
    }
    return content ? n + 1 : n;
  }

  private Map<String, Object> batchResponse(int accepted, int duplicates, DecodedBatch b) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("accepted", accepted);
    out.put("duplicates", duplicates);
    out.put("rejected", b.rejections().size());
    out.put("errors", b.errors(agg.config().limits().maxErrorsPerResponse()));
    return out;
  }

  /** Hands valid events to the pipeline and answers on the request's event loop once durable. */
  private void submit(
      RoutingContext ctx,
      List<Event> events,
      Runnable taken,
      java.util.function.Consumer<IngestPipeline.IngestResult> respond) {
    IngestPipeline pipeline = agg.pipeline();
    CompletableFuture<IngestPipeline.IngestResult> done = pipeline.submit(events);
    if (done == null) {
      Http.overloaded(ctx, pipeline.inFlight(), pipeline.maxInFlight());
      return;
    }
    taken.run();
    Context context = Vertx.currentContext();
    done.whenComplete(
        (result, failure) ->
            context.runOnContext(
                v -> {
                  if (failure == null) {
                    respond.accept(result);
                  } else {
                    Throwable cause =
                        failure instanceof java.util.concurrent.CompletionException
                            ? failure.getCause()
                            : failure;
                    if (cause instanceof LogFullException) { // the log's budget (Kafka's buffer)
                      ctx.response().putHeader("Retry-After", "1");
                      Http.error(
                          ctx,
                          429,
                          "log_full",
                          "the event log has as much in flight as it may hold; nothing of this"
                              + " request was kept; retry in a second");
                      return;
                    }
                    // The cause (an OS message with the log's path) goes to the server's log only.
                    LOG.warn("events answered 503: {}", cause.toString());
                    ctx.response().putHeader("Retry-After", "1");
                    Http.error(
                        ctx,
                        503,
                        "log_unavailable",
                        "the event log cannot write now (disk full or unavailable); nothing of"
                            + " this request was kept; retry later");
                  }
                }));
  }

  private byte[] bodyOf(RoutingContext ctx) {
    if (format(ctx) == null) {
      String type = ctx.request().getHeader("Content-Type");
      Http.error(
          ctx,
          415,
          "unsupported_media_type",
          (type == null || type.isBlank()
                  ? "a Content-Type is required (a write without one could come from any web page)"
                  : "Content-Type " + type + " is not supported")
              + "; send application/json or application/x-ndjson");
      return null;
    }
    Buffer body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      agg.lifecycle().received(0);
      Http.error(ctx, 400, "empty_body", "the request has no body; send JSON");
      return null;
    }
    return body.getBytes();
  }

  private static BodyFormat format(RoutingContext ctx) {
    return BodyFormat.ofContentType(ctx.request().getHeader("Content-Type"));
  }

  private void count(DecodedBatch d) {
    agg.lifecycle().received(d.received());
    agg.lifecycle().validated(d.events().size(), d.rejections().size());
  }

  private void malformed(RoutingContext ctx, byte[] body, MalformedBodyException e) {
    agg.lifecycle().received(1);
    agg.lifecycle().validated(0, 1);
    // Kept as sent only while no privacy setting removes anything from events.
    String raw =
        agg.config().privacy().removesAnything()
            ? dev.aggregator.ingestion.Privacy.WITHHELD
            : new String(
                body, 0, Math.min(body.length, 2048), java.nio.charset.StandardCharsets.UTF_8);
    agg.deadLetters()
        .add(
            new DeadLetter(
                agg.clock().getAsLong(),
                DeadLetter.INVALID,
                null,
                List.of(new DeadLetter.Problem(null, e.getMessage())),
                raw));
    Http.error(ctx, 400, "malformed_json", e.getMessage());
  }

  private void deadLetter(List<Rejection> rejections) {
    long now = agg.clock().getAsLong();
    for (Rejection r : rejections) {
      List<DeadLetter.Problem> problems = new ArrayList<>(r.errors().size());
      for (FieldError e : r.errors()) {
        problems.add(new DeadLetter.Problem(e.field(), e.message()));
      }
      agg.deadLetters().add(new DeadLetter(now, DeadLetter.INVALID, null, problems, r.raw()));
    }
  }

  private static List<Map<String, Object>> details(List<FieldError> errors) {
    List<Map<String, Object>> out = new ArrayList<>(errors.size());
    for (FieldError e : errors) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("field", e.field());
      m.put("message", e.message());
      out.add(m);
    }
    return out;
  }
}
