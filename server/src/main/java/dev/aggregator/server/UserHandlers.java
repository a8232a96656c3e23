package dev.aggregator.server;

import dev.aggregator.Aggregator;
import dev.aggregator.ingestion.IngestLimits;
import io.vertx.core.WorkerExecutor;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code DELETE /api/users/{userId}/events}: a user's raw events out of the event store and log.
 */
final class UserHandlers {
  private static final Logger LOG = LoggerFactory.getLogger(UserHandlers.class);

  /** Each step waits this long at most; a deletion rewrites files, so it is not a query. */
  private static final long TIMEOUT_MILLIS = 120_000;

  private final Aggregator agg;
  private final WorkerExecutor workers;
  // One deletion at a time: each rewrites every file holding its user, so two would only compete.
  private final Semaphore running = new Semaphore(1);

  UserHandlers(Aggregator agg, WorkerExecutor workers) {
    this.agg = agg;
    this.workers = workers;
  }

  void deleteEvents(RoutingContext ctx) {
    String userId = ctx.pathParam("userId").strip();
    ctx.put(Routes.AUDIT_TARGET, "(invalid userId)");
    if (userId.isEmpty() || userId.length() > IngestLimits.MAX_USER_ID_CHARS) {
      Http.error(
          ctx,
          400,
          "invalid_user",
          "userId must be 1 to " + IngestLimits.MAX_USER_ID_CHARS + " characters");
      return;
    }
    // The audit log names the user as stored: its pseudonym when userIdSecret is set.
    String stored = agg.config().privacy().pseudonym(userId);
    ctx.put(Routes.AUDIT_TARGET, stored);
    if (!running.tryAcquire()) {
      ctx.response().putHeader("Retry-After", "5");
      Http.error(ctx, 429, "deletion_running", "another user deletion is running; retry later");
      return;
    }
    workers
        .executeBlocking(() -> agg.deleteUser(userId, TIMEOUT_MILLIS), false)
        .onComplete(
            done -> {
              running.release();
              if (done.failed()) {
                LOG.error("deleting a user's events failed", done.cause());
                ctx.put(Routes.AUDIT_TARGET, stored + " (failed)");
                Http.error(
                    ctx,
                    503,
                    "deletion_failed",
                    "the user's events could not all be removed now; the request can be repeated");
                return;
              }
              Aggregator.UserDeletion d = done.result();
              ctx.put(
                  Routes.AUDIT_TARGET,
                  stored + ": " + d.events() + " events, " + d.logRecords() + " log records");
              Map<String, Object> out = new LinkedHashMap<>();
              out.put("userId", userId);
              out.put("deletedEvents", d.events());
              out.put("redactedLogRecords", d.logRecords());
              out.put(
                  "note",
                  "raw events accepted before this request are gone from the event store and the"
                      + " log; rollups keep the counts, sums and unique-user estimates they added");
              Http.json(ctx, 200, out);
            });
  }
}
