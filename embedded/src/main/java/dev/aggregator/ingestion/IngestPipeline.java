package dev.aggregator.ingestion;

import dev.aggregator.event.Event;
import dev.aggregator.event.EventIds;
import dev.aggregator.event.Hashing;
import dev.aggregator.processing.AggregationRunner;
import dev.aggregator.processing.Lifecycle;
import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.EventLog;
import dev.aggregator.storage.LogFullException;
import dev.aggregator.storage.RecordBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Takes validated events to durability: drop duplicates, append the rest to the {@link EventLog},
 * acknowledge once the log has made them durable, then hand them to aggregation.
 *
 * <p>The one bound on memory between request and rollup is {@code maxInFlight}: events count from
 * {@link #submit} until they are aggregated, and a batch that would exceed it is refused ({@code
 * null}, answered 429) instead of queued.
 *
 * <pre>{@code
 * CompletableFuture<IngestResult> done = pipeline.submit(batch.events());
 * if (done == null) { // overloaded: 429 with Retry-After }
 * done.thenAccept(r -> respond(r.accepted(), r.duplicates()));
 * }</pre>
 */
public final class IngestPipeline {
  private final EventLog log;
  private final Deduplicator dedup;
  private final AggregationRunner aggregation;
  private final Lifecycle lifecycle;
  private final long maxInFlight;
  private final LongSupplier nowMillis;
  private final AtomicLong inFlight = new AtomicLong();

  /**
   * What became of a submitted batch, once durable.
   *
   * @param duplicate per submitted event, whether it was a duplicate (not logged)
   * @param sequences per submitted event, its log sequence number (-1 for duplicates)
   * @param assigned per submitted event, the id the server gave it if it came without one (null
   *     otherwise)
   */
  public record IngestResult(
      int accepted, int duplicates, boolean[] duplicate, long[] sequences, String[] assigned) {

    /** The id of submitted event {@code i}: the client's, or the one the server gave it. */
    public String idOf(int i, Event e) {
      return assigned[i] != null ? assigned[i] : e.id();
    }
  }

  /**
   * @param aggregation where durable events go next; null when they are aggregated elsewhere (a
   *     cluster-mode server: the Flink job reads them from Kafka), so in-flight ends at the ack
   */
  public IngestPipeline(
      EventLog log,
      Deduplicator dedup,
      AggregationRunner aggregation,
      Lifecycle lifecycle,
      long maxInFlight,
      LongSupplier nowMillis) {
    this.log = log;
    this.dedup = dedup;
    this.aggregation = aggregation;
    this.lifecycle = lifecycle;
    this.maxInFlight = maxInFlight;
    this.nowMillis = nowMillis;
  }

  /** Events between submit and aggregation now. */
  public long inFlight() {
    return inFlight.get();
  }

  public long maxInFlight() {
    return maxInFlight;
  }

  /**
   * Whether {@code n} more events would fit in flight now: checked before a body is decoded, so an
   * overloaded server answers 429 without spending a decode on a batch it would refuse anyway
   * (under a closed-loop load, most of the event loops' time went to such decodes). {@link #submit}
   * still decides; this only answers early.
   */
  public boolean hasRoomFor(long n) {
    return inFlight.get() + n <= maxInFlight;
  }

  /**
   * Logs {@code events} durably; null if the pipeline is full (the caller answers 429).
   *
   * <p>The future fails if the log cannot make the events durable; nothing is acknowledged then.
   */
  public CompletableFuture<IngestResult> submit(List<Event> events) {
    int n = events.size();
    if (!acquire(n)) {
      return null;
    }
    long arrival = nowMillis.getAsLong();
    boolean[] duplicate = new boolean[n];
    boolean[] hasId = new boolean[n];
    long[] hashes = new long[n];
    int withoutId = 0;
    for (int i = 0; i < n; i++) {
      String id = events.get(i).id();
      if (id != null) {
        hasId[i] = true;
        hashes[i] = Hashing.hash64(id); // outside the dedup lock
      } else {
        withoutId++;
      }
    }
    int duplicates = dedup.markAllIfNew(hashes, hasId, arrival, duplicate);
    RecordBuffer records = new RecordBuffer(n * 160);
    // The batch as it came unless an event is dropped (a duplicate) or replaced (given an id).
    List<Event> accepted =
        duplicates == 0 && withoutId == 0 ? events : new ArrayList<>(n - duplicates);
    String[] assigned = new String[n];
    for (int i = 0; i < n; i++) {
      if (!duplicate[i]) {
        Event e = events.get(i);
        UUID id = null;
        if (!hasId[i]) { // named now, so that the log, the event store and the answer agree
          id = EventIds.newId(arrival);
          assigned[i] = id.toString();
          e =
              new Event(
                  assigned[i],
                  e.eventType(),
                  e.userId(),
                  e.timestamp(),
                  e.source(),
                  e.properties());
        }
        EventCodec.encode(e, id, arrival, records);
        if (accepted != events) {
          accepted.add(e);
        }
      }
    }
    int acceptedCount = n - duplicates;
    lifecycle.duplicates(duplicates);
    lifecycle.queued(acceptedCount);
    release(duplicates); // a duplicate is done once the barrier below has passed; no more memory
    int dupCount = duplicates;
    return log.append(records.array(), records.length(), records.records())
        .handle(
            (first, failure) -> {
              if (failure != null) {
                for (int i = 0; i < n; i++) {
                  if (hasId[i] && !duplicate[i]) {
                    dedup.forget(hashes[i]);
                  }
                }
                release(acceptedCount);
                Throwable cause =
                    failure instanceof CompletionException c && c.getCause() != null
                        ? c.getCause()
                        : failure;
                if (cause instanceof LogFullException full) { // backpressure: the client retries
                  lifecycle.refused(acceptedCount);
                  throw full;
                }
                lifecycle.notLogged(acceptedCount);
                throw new LogUnavailableException(failure);
              }
              long[] sequences = new long[n];
              long seq = first;
              for (int i = 0; i < n; i++) {
                sequences[i] = duplicate[i] ? -1 : seq++;
              }
              if (acceptedCount > 0 && aggregation == null) {
                release(acceptedCount); // aggregated elsewhere (cluster mode): done once durable
              } else if (acceptedCount > 0) {
                aggregation.submit(
                    new AggregationRunner.Batch(accepted, first, () -> release(acceptedCount)));
              }
              return new IngestResult(acceptedCount, dupCount, duplicate, sequences, assigned);
            });
  }

  private boolean acquire(int n) {
    while (true) {
      long current = inFlight.get();
      if (current + n > maxInFlight) {
        return false;
      }
      if (inFlight.compareAndSet(current, current + n)) {
        return true;
      }
    }
  }

  private void release(int n) {
    inFlight.addAndGet(-n);
  }

  /** The event log could not make a batch durable; nothing of it was acknowledged. */
  public static final class LogUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    LogUnavailableException(Throwable cause) {
      super("the event log cannot make events durable: " + rootMessage(cause), cause);
    }

    private static String rootMessage(Throwable t) {
      while (t.getCause() != null && t.getCause() != t) {
        t = t.getCause();
      }
      return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
  }
}
