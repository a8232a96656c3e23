package dev.aggregator.processing;

import dev.aggregator.aggregation.RollupEngine;
import dev.aggregator.aggregation.RollupEngine.Outcome;
import dev.aggregator.event.Event;
import dev.aggregator.event.EventJson;
import dev.aggregator.storage.DeadLetter;
import dev.aggregator.storage.DeadLetterLog;
import dev.aggregator.storage.LoggedEvent;
import dev.aggregator.storage.ParquetEventStore;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregation thread: applies durable events to the rollups in log order and dead-letters the
 * expired and failed ones.
 *
 * <p>Its queue has no bound of its own: everything in it holds in-flight permits of the {@link
 * dev.aggregator.ingestion.IngestPipeline}, which answers 429 before the queue can grow further.
 */
public final class AggregationRunner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AggregationRunner.class);

  /**
   * Events now in the log, to aggregate.
   *
   * @param events in log order
   * @param firstSequence the log sequence number of the first
   * @param done run once they are aggregated (releases their in-flight permits)
   */
  public record Batch(List<Event> events, long firstSequence, Runnable done) {}

  private record Queued(Batch batch, long queuedAtNanos) {}

  private final RollupEngine engine;
  private final ParquetEventStore rawEvents;
  private final Lifecycle lifecycle;
  private final DeadLetterLog deadLetters;
  private final LongSupplier nowMillis;
  private final BlockingQueue<Queued> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private volatile boolean closed;
  private volatile long appliedUpTo = -1;
  private final List<Consumer<Set<String>>> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public AggregationRunner(
      RollupEngine engine, Lifecycle lifecycle, DeadLetterLog deadLetters, LongSupplier nowMillis) {
    this(engine, lifecycle, deadLetters, nowMillis, null);
  }

  /**
   * @param rawEvents where every event also goes, in log order, once aggregated (the columnar event
   *     store), or null
   */
  public AggregationRunner(
      RollupEngine engine,
      Lifecycle lifecycle,
      DeadLetterLog deadLetters,
      LongSupplier nowMillis,
      ParquetEventStore rawEvents) {
    this.rawEvents = rawEvents;
    this.engine = engine;
    this.lifecycle = lifecycle;
    this.deadLetters = deadLetters;
    this.nowMillis = nowMillis;
    this.thread = new Thread(this::run, "aggregator");
    this.thread.setDaemon(true);
  }

  /**
   * Hears, once a batch is aggregated (visible to queries), which event types it changed — worked
   * out once per batch for every listener (the alert evaluator, the live subscriptions). Called on
   * the aggregation thread: a listener notes the types and returns. Not called for replays.
   */
  public void addListener(Consumer<Set<String>> listener) {
    listeners.add(listener);
  }

  /** Starts the thread; call after {@link #replay} is done. */
  public void start() {
    thread.start();
  }

  /** Queues a durable batch; its events count as queued until the thread takes them. */
  public void submit(Batch batch) {
    queue.add(new Queued(batch, System.nanoTime()));
  }

  /** How long the oldest waiting batch has waited since it became durable, in ms. */
  public long lagMillis() {
    Queued head = queue.peek();
    return head == null ? 0 : (System.nanoTime() - head.queuedAtNanos()) / 1_000_000;
  }

  /** The sequence number of the last event applied (or dead-lettered), -1 before any. */
  public long appliedUpTo() {
    return appliedUpTo;
  }

  /**
   * Re-applies events read back from the log at start, synchronously. Dead letters are re-derived
   * only for events newer than those the dead-letter log already holds.
   */
  public void replay(List<LoggedEvent> logged) {
    if (logged.isEmpty()) {
      return;
    }
    List<Event> events = new ArrayList<>(logged.size());
    for (LoggedEvent l : logged) {
      events.add(l.event());
    }
    long first = logged.get(0).sequence();
    long alreadyPersisted = deadLetters.persistedUpTo();
    long now = nowMillis.getAsLong();
    engine.apply(
        events,
        first,
        now,
        (i, e, outcome) -> {
          if (first + i > alreadyPersisted) {
            deadLetter(first + i, e, outcome, now);
          }
        });
    lifecycle.replayed(events.size());
    toRawEvents(events, first);
    appliedUpTo = logged.get(logged.size() - 1).sequence();
  }

  private void run() {
    while (!closed || !queue.isEmpty()) {
      try {
        Queued q = queue.poll(100, TimeUnit.MILLISECONDS);
        if (q != null) {
          try {
            process(q.batch());
          } catch (RuntimeException e) {
            abandon(q.batch(), e);
          }
        }
      } catch (InterruptedException e) {
        // close() is waiting; keep draining
      } catch (RuntimeException e) {
        LOG.error("aggregation failed", e);
      }
    }
  }

  private void process(Batch b) {
    int n = b.events().size();
    lifecycle.processing(n);
    long now = nowMillis.getAsLong();
    int[] counts = new int[Outcome.values().length];
    engine.apply(
        b.events(),
        b.firstSequence(),
        now,
        (i, e, outcome) -> {
          counts[outcome.ordinal()]++;
          deadLetter(b.firstSequence() + i, e, outcome, now);
        });
    // The permits are released once the event store has staged the batch: a store that falls
    // behind holds ingestion back (429), never aggregation. Counts, then the position: whoever
    // sees one may rely on those before it.
    toRawEvents(b.events(), b.firstSequence(), b.done());
    int late = counts[Outcome.LATE.ordinal()];
    lifecycle.aggregated(counts[Outcome.AGGREGATED.ordinal()] + late, late);
    lifecycle.expired(counts[Outcome.EXPIRED.ordinal()]);
    lifecycle.failed(counts[Outcome.FAILED.ordinal()]);
    appliedUpTo = b.firstSequence() + n - 1;
    if (!listeners.isEmpty()) {
      Set<String> types = eventTypes(b.events());
      for (Consumer<Set<String>> listener : listeners) {
        listener.accept(types);
      }
    }
  }

  /**
   * Hands log records to the event store (which skips those its files already hold) and runs {@code
   * staged} once it has them. It blocks while the store's queue is full, never drops.
   */
  public void toRawEvents(List<Event> events, long firstSequence, Runnable staged) {
    if (rawEvents == null || events.isEmpty()) {
      staged.run();
      return;
    }
    try {
      rawEvents.append(events, firstSequence, staged);
    } catch (InterruptedException e) {
      // close() interrupts; the log still holds them and the next start stores them
      Thread.currentThread().interrupt();
      staged.run();
    } catch (RuntimeException e) {
      // A failed store refuses appends; the log keeps the events and the next start stores them.
      LOG.error("the event store refused a batch", e);
      staged.run();
    }
  }

  /** As {@link #toRawEvents(List, long, Runnable)} with nothing to run (replay). */
  public void toRawEvents(List<Event> events, long firstSequence) {
    toRawEvents(events, firstSequence, () -> {});
  }

  /** The distinct event types of a batch (runs of one type, common in batches, cost one add). */
  private static Set<String> eventTypes(List<Event> events) {
    Set<String> types = new HashSet<>();
    String last = null;
    for (Event e : events) {
      if (e.eventType() != last) {
        last = e.eventType();
        types.add(last);
      }
    }
    return types;
  }

  /**
   * A batch whose aggregation failed as a whole (a bug: single events' failures are caught per
   * event): each event is dead-lettered as failed, so that health and the dead letters say so, and
   * the batch's permits come back — otherwise every such batch shrank the in-flight budget until
   * ingestion answered 429 for good.
   */
  private void abandon(Batch b, RuntimeException e) {
    LOG.error("aggregating a batch of {} events failed", b.events().size(), e);
    long now = nowMillis.getAsLong();
    for (int i = 0; i < b.events().size(); i++) {
      deadLetters.add(
          new DeadLetter(
              now,
              DeadLetter.FAILED,
              b.firstSequence() + i,
              List.of(
                  new DeadLetter.Problem(
                      null, "aggregation failed (logged as a bug); not in the rollups")),
              EventJson.toJson(b.events().get(i))));
    }
    lifecycle.failed(b.events().size());
    toRawEvents(b.events(), b.firstSequence(), b.done());
    appliedUpTo = b.firstSequence() + b.events().size() - 1;
  }

  private void deadLetter(long sequence, Event e, Outcome outcome, long now) {
    String message =
        switch (outcome) {
          case EXPIRED -> "older than the retention of every rollup tier";
          case FAILED ->
              "a memory bound was reached (maxMemoryRows without a store, or maxEventTypes)";
          default -> null;
        };
    if (message == null) {
      return;
    }
    String reason = outcome == Outcome.EXPIRED ? DeadLetter.EXPIRED : DeadLetter.FAILED;
    deadLetters.add(
        new DeadLetter(
            now,
            reason,
            sequence,
            List.of(
                new DeadLetter.Problem(outcome == Outcome.EXPIRED ? "timestamp" : null, message)),
            EventJson.toJson(e)));
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
