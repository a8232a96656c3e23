package dev.aggregator.server;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the ingest requests whose bodies are being read or decoded at once. Each may hold up to
 * {@code maxBatchBytes} (5 MiB) before the pipeline's own bound applies, so without this N slow
 * uploads would hold N × 5 MiB. Past the bound the answer is 429 before any of the body is read,
 * and the connection is closed, as its unread body cannot be skipped cheaply.
 */
final class IngestAdmission implements Handler<RoutingContext> {
  private final AtomicInteger active = new AtomicInteger();
  private final int max;

  IngestAdmission(int max) {
    this.max = max;
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (active.incrementAndGet() > max) {
      active.decrementAndGet();
      ctx.response().putHeader("Retry-After", "1").putHeader("Connection", "close");
      Http.error(
          ctx,
          429,
          "overloaded",
          max
              + " ingest requests are already being read (maxIngestRequests); retry after 1 second");
      return;
    }
    ctx.addEndHandler(v -> active.decrementAndGet());
    ctx.next();
  }
}
