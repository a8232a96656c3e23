package dev.aggregator.alerting;

import io.prometheus.metrics.core.metrics.Histogram;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Which rules the evaluator should look at next, and in what order.
 *
 * <p>A rule is pending <i>for data</i> once events of its type have been aggregated (the
 * aggregation thread only notes the types; matching them to rules happens here, on the evaluator,
 * through an index by type), or pending <i>for the sweep</i> that visits every rule once a second
 * (windows slide, {@code for} elapses, {@code absent} fires on no data) and right after it is
 * created or edited.
 *
 * <p>Under a steady load every rule on a busy event type has new data all the time, and one round
 * over all of them can take longer than an alert should wait. So a rule pending for data is ranked
 * by when it was last evaluated for data: a rule whose events are rare (a source's errors, a failed
 * payment) goes ahead of the rules on busy types, which the evaluator cycles through as fast as it
 * can. Rules pending for the sweep are ranked by when they were last evaluated at all, so they
 * cannot starve.
 */
final class EvaluationQueue {
  private final Supplier<Collection<Alert>> rules;
  private final Function<String, Alert> lookup;

  private final Set<String> changedTypes = ConcurrentHashMap.newKeySet();
  private final Set<String> changedRules = ConcurrentHashMap.newKeySet();
  private final Set<String> forSweep = ConcurrentHashMap.newKeySet();
  private final Set<String> forData = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> waitingForDataSince = new ConcurrentHashMap<>();
  private final Map<String, Long> lastForData = new ConcurrentHashMap<>();
  private final Map<String, Long> lastEvaluated = new ConcurrentHashMap<>();
  private final Map<String, List<String>> watchersByType = new ConcurrentHashMap<>();
  private final Object signal = new Object();

  final Histogram dataDelay =
      Histogram.builder()
          .name("aggregator_alert_data_delay_seconds")
          .help(
              "From the aggregation of events a rule watches (as the evaluator noted it) to the"
                  + " rule's evaluation")
          .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
          .build();

  /**
   * @param rules a copy of the current rules, taken consistently (the index by type is built from
   *     it)
   * @param lookup the current rule of an id, or null once deleted
   */
  EvaluationQueue(Supplier<Collection<Alert>> rules, Function<String, Alert> lookup) {
    this.rules = rules;
    this.lookup = lookup;
  }

  /** Events of these types were aggregated; runs on the aggregation thread. */
  void typesChanged(Set<String> types) {
    changedTypes.addAll(types);
    wake();
  }

  /** A rule was created or edited (or moved through the API): evaluate it soon. */
  void ruleChanged(String id) {
    watchersByType.clear();
    changedRules.add(id);
    wake();
  }

  void ruleDeleted(String id) {
    watchersByType.clear();
    forSweep.remove(id);
    forData.remove(id);
    waitingForDataSince.remove(id);
    lastForData.remove(id);
    lastEvaluated.remove(id);
  }

  /** Every rule, for the once-a-second sweep. */
  void sweep(Collection<String> ids) {
    forSweep.addAll(ids);
  }

  /** Waits until there is work, at most {@code millis}. */
  void await(long millis) throws InterruptedException {
    synchronized (signal) {
      if (forSweep.isEmpty()
          && forData.isEmpty()
          && changedTypes.isEmpty()
          && changedRules.isEmpty()
          && millis > 0) {
        signal.wait(millis);
      }
    }
  }

  void wake() {
    synchronized (signal) {
      signal.notifyAll();
    }
  }

  /** Notes that {@code id} is being evaluated now (any reason). */
  void evaluating(String id) {
    lastEvaluated.put(id, System.nanoTime());
  }

  /**
   * The pending rules, most overdue first, handed out as long as {@code deadline} (nanoTime)
   * allows: the first always, then while time remains. Taking one clears its pending marks.
   */
  Iterable<Alert> nextSlice(long deadline) {
    collectChanges();
    Set<String> ids = new HashSet<>(forSweep);
    ids.addAll(forData);
    List<Alert> candidates = new ArrayList<>(ids.size());
    List<Long> rank = new ArrayList<>(ids.size());
    for (String id : ids) {
      Alert a = lookup.apply(id);
      if (a == null) {
        ruleDeleted(id);
        continue;
      }
      long key = Long.MAX_VALUE;
      if (forData.contains(id)) {
        key = lastForData.getOrDefault(id, Long.MIN_VALUE);
      }
      if (forSweep.contains(id)) {
        key = Math.min(key, lastEvaluated.getOrDefault(id, Long.MIN_VALUE));
      }
      candidates.add(a);
      rank.add(key);
    }
    Integer[] byRank = new Integer[candidates.size()];
    Arrays.setAll(byRank, i -> i);
    Arrays.sort(byRank, Comparator.comparingLong(rank::get));
    return () ->
        new Iterator<>() {
          private int next;

          @Override
          public boolean hasNext() {
            return next < byRank.length && (next == 0 || System.nanoTime() - deadline < 0);
          }

          @Override
          public Alert next() {
            Alert a = candidates.get(byRank[next++]);
            take(a.id());
            return a;
          }
        };
  }

  private void take(String id) {
    forSweep.remove(id);
    if (forData.remove(id)) {
      long now = System.nanoTime();
      lastForData.put(id, now);
      Long since = waitingForDataSince.remove(id);
      if (since != null) {
        dataDelay.observe((now - since) / 1e9);
      }
    }
  }

  /** Turns the types and rules noted since the last slice into pending rules. */
  private void collectChanges() {
    forSweep.addAll(drain(changedRules));
    long now = System.nanoTime();
    for (String type : drain(changedTypes)) {
      for (String id : watchers(type)) {
        forData.add(id);
        waitingForDataSince.putIfAbsent(id, now);
      }
    }
  }

  /** The ids of the rules that watch {@code type}, worked out once per change of the rules. */
  private List<String> watchers(String type) {
    List<String> ids = watchersByType.get(type);
    if (ids == null) {
      ids = new ArrayList<>();
      for (Alert a : rules.get()) {
        if (a.rule().watches(type)) {
          ids.add(a.id());
        }
      }
      watchersByType.put(type, ids);
    }
    return ids;
  }

  private static Set<String> drain(Set<String> set) {
    Set<String> out = new HashSet<>();
    for (Iterator<String> it = set.iterator(); it.hasNext(); ) {
      out.add(it.next());
      it.remove();
    }
    return out;
  }
}
