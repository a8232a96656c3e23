package dev.aggregator.alerting;

import static dev.aggregator.alerting.AlertStatus.ACKNOWLEDGED;
import static dev.aggregator.alerting.AlertStatus.ACTIVE;
import static dev.aggregator.alerting.AlertStatus.EVALUATING;
import static dev.aggregator.alerting.AlertStatus.NORMAL;
import static dev.aggregator.alerting.AlertStatus.RESOLVED;
import static dev.aggregator.alerting.AlertStatus.TRIGGERED;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Any sequence of evaluations and requests gives the same result from {@link AlertStateMachine} as
 * from {@link Model}, a plain rewrite of the lifecycle rules that shares no code with it; and every
 * step walks edges of the lifecycle graph, chained from the status it started in.
 */
class AlertStateMachinePropertyTest {
  private static final long T0 = 1_764_504_000_000L;
  private static final long MINUTE = 60_000;

  /**
   * Every (from, to) pair and refusal seen across all tries, to prove the generators reach them.
   */
  private static final Set<String> SEEN = ConcurrentHashMap.newKeySet();

  sealed interface Action permits Evaluate, Request {
    long advance();
  }

  record Evaluate(long advance, Verdict verdict, Double value) implements Action {}

  record Request(long advance, AlertStatus target, long ackFor, String actor, String comment)
      implements Action {}

  @Provide
  Arbitrary<Long> forMillis() {
    return Arbitraries.of(0L, 30_000L, 2 * MINUTE);
  }

  @Provide
  Arbitrary<List<Action>> actions() {
    Arbitrary<Long> advance =
        Arbitraries.oneOf(
            Arbitraries.longs().between(0, 5 * MINUTE),
            Arbitraries.of(0L, 1L, 29_999L, 30_000L, MINUTE, 2 * MINUTE - 1, 2 * MINUTE));
    Arbitrary<Action> evaluate =
        Combinators.combine(
                advance,
                Arbitraries.of(Verdict.class),
                Arbitraries.doubles().between(-100, 100).injectNull(0.1))
            .as(Evaluate::new);
    Arbitrary<Long> ackFor =
        Arbitraries.oneOf(
            Arbitraries.of(-1L, 0L, 30_000L, 2 * MINUTE),
            Arbitraries.longs().between(0, 10 * MINUTE));
    Arbitrary<Action> request =
        Combinators.combine(
                advance,
                Arbitraries.of(AlertStatus.class),
                ackFor,
                Arbitraries.of("ana", "bo"),
                Arbitraries.of("looking", "").injectNull(0.5))
            .as(Request::new);
    return Arbitraries.frequencyOf(Tuple.of(3, evaluate), Tuple.of(2, request))
        .list()
        .ofMinSize(1)
        .ofMaxSize(60);
  }

  @Property(tries = 1000)
  void theMachineAgreesWithTheModel(
      @ForAll("forMillis") long forMillis, @ForAll("actions") List<Action> actions) {
    AlertState state = AlertState.created(T0);
    Model model = new Model(T0);
    long now = T0;
    for (Action action : actions) {
      now += action.advance();
      AlertState before = state;
      List<List<AlertStatus>> expected;
      List<Transition> actual;
      if (action instanceof Evaluate e) {
        expected = model.evaluate(e.verdict(), now, forMillis);
        AlertStateMachine.Step step =
            AlertStateMachine.evaluate(state, e.verdict(), e.value(), now, forMillis);
        actual = step.transitions();
        state = step.state();
        for (Transition t : actual) {
          assertThat(t.actor()).isEqualTo("evaluator");
          assertThat(t.value()).isEqualTo(e.value());
          assertThat(t.comment()).isNull();
        }
      } else {
        Request r = (Request) action;
        List<AlertStatus> allowed = model.requestable();
        expected = model.request(r.target(), now, r.ackFor());
        AlertStateMachine.Step step;
        try {
          step =
              AlertStateMachine.request(state, r.target(), r.actor(), r.comment(), now, r.ackFor());
        } catch (IllegalTransitionException refused) {
          SEEN.add("refused");
          assertThat(expected).as("%s refused from %s", r.target(), before.status()).isNull();
          assertThat(refused.from()).isEqualTo(before.status());
          assertThat(refused.to()).isEqualTo(r.target());
          assertThat(refused.allowed()).isEqualTo(allowed);
          assertThat(AlertStateMachine.requestable(before.status())).isEqualTo(allowed);
          assertThat(model.state()).isEqualTo(before);
          continue;
        }
        assertThat(expected).as("%s accepted from %s", r.target(), before.status()).isNotNull();
        actual = step.transitions();
        state = step.state();
        for (Transition t : actual) {
          assertThat(t.actor()).isEqualTo(r.actor());
          assertThat(t.comment()).isEqualTo(r.comment());
          assertThat(t.value()).isNull();
        }
      }

      List<List<AlertStatus>> pairs = new ArrayList<>();
      AlertStatus at = before.status();
      for (Transition t : actual) {
        pairs.add(List.of(t.from(), t.to()));
        SEEN.add(t.from() + "->" + t.to());
        assertThat(t.from()).as("transitions chain").isEqualTo(at);
        assertThat(t.from().next()).as("an edge of the graph").contains(t.to());
        assertThat(t.at()).isEqualTo(now);
        assertThat(t.reason()).isNotBlank();
        at = t.to();
      }
      assertThat(state.status()).as("the last transition ends at the status").isEqualTo(at);
      assertThat(pairs).as("%s after %s", action, before).isEqualTo(expected);
      assertThat(state).as("%s after %s", action, before).isEqualTo(model.state());

      if (actual.isEmpty()) {
        assertThat(state.since()).as("since without a status change").isEqualTo(before.since());
      } else {
        assertThat(state.since()).as("since with a status change").isEqualTo(now);
      }
      assertThat(state.pendingSince() >= 0)
          .as("a breach is pending exactly while evaluating or firing: %s", state)
          .isEqualTo(state.status() == EVALUATING || state.status().isFiring());
      if (state.rearmAfterRecovery()) {
        assertThat(state.status())
            .as("only a resolved alert waits for recovery")
            .isEqualTo(RESOLVED);
      }
    }
  }

  @AfterContainer
  static void theGeneratorsReachedEveryEdgeAndARefusal() {
    for (AlertStatus from : AlertStatus.values()) {
      for (AlertStatus to : from.next()) {
        assertThat(SEEN).contains(from + "->" + to);
      }
    }
    assertThat(SEEN).contains("refused");
  }

  /**
   * The lifecycle rules, rewritten as plainly as possible from the specification: each method walks
   * the statuses one at a time and records the (from, to) pairs.
   */
  static final class Model {
    AlertStatus status = ACTIVE;
    long since;
    long pendingSince = -1;
    boolean rearm = false;
    long ackUntil = -1;
    long now;
    List<List<AlertStatus>> path;

    Model(long created) {
      since = created;
    }

    AlertState state() {
      return new AlertState(status, since, pendingSince, rearm, ackUntil);
    }

    private void go(AlertStatus to) {
      path.add(List.of(status, to));
      status = to;
      since = now;
    }

    List<List<AlertStatus>> evaluate(Verdict v, long now, long forMillis) {
      this.now = now;
      path = new ArrayList<>();
      boolean breached = v == Verdict.BREACHED;
      boolean recovered = v == Verdict.RECOVERED;
      switch (status) {
        case ACTIVE:
          go(EVALUATING);
          if (breached) {
            pendingSince = now;
            if (now - pendingSince >= forMillis) {
              go(TRIGGERED);
            }
          } else {
            go(NORMAL);
            pendingSince = -1;
          }
          break;
        case EVALUATING:
          if (!breached) {
            go(NORMAL);
            pendingSince = -1;
          } else if (now - pendingSince >= forMillis) {
            go(TRIGGERED);
          }
          break;
        case NORMAL:
          if (breached) {
            go(ACTIVE);
            go(EVALUATING);
            pendingSince = now;
            if (forMillis == 0) {
              go(TRIGGERED);
            }
          }
          break;
        case TRIGGERED:
          if (recovered) {
            go(RESOLVED);
            rearm = false;
            pendingSince = -1;
          }
          break;
        case ACKNOWLEDGED:
          if (recovered) {
            go(RESOLVED);
            rearm = false;
            ackUntil = -1;
            pendingSince = -1; // the breach is over
          } else if (ackUntil != -1 && now >= ackUntil) {
            go(TRIGGERED);
            ackUntil = -1;
          }
          break;
        case RESOLVED:
          if (rearm) {
            if (recovered) {
              rearm = false;
            }
          } else if (breached) {
            go(ACTIVE);
            go(EVALUATING);
            pendingSince = now;
            if (forMillis == 0) {
              go(TRIGGERED);
            }
          }
          break;
      }
      return path;
    }

    /** The targets a request may ask for, in enum order. */
    List<AlertStatus> requestable() {
      List<AlertStatus> out = new ArrayList<>();
      for (AlertStatus target : AlertStatus.values()) {
        if (accepts(target)) {
          out.add(target);
        }
      }
      return out;
    }

    private boolean accepts(AlertStatus target) {
      Map<AlertStatus, Set<AlertStatus>> fromWhere =
          Map.of(
              ACKNOWLEDGED, Set.of(TRIGGERED),
              RESOLVED, Set.of(TRIGGERED, ACKNOWLEDGED),
              TRIGGERED, Set.of(ACKNOWLEDGED),
              ACTIVE, Set.of(RESOLVED, NORMAL));
      return fromWhere.getOrDefault(target, Set.of()).contains(status);
    }

    /** The pairs walked, or null if the request is refused (and nothing changes). */
    List<List<AlertStatus>> request(AlertStatus target, long now, long ackFor) {
      if (!accepts(target)) {
        return null;
      }
      this.now = now;
      path = new ArrayList<>();
      go(target);
      switch (target) {
        case ACKNOWLEDGED -> ackUntil = ackFor < 0 ? -1 : now + ackFor;
        case RESOLVED -> {
          rearm = true;
          ackUntil = -1;
          pendingSince = -1;
        }
        case TRIGGERED -> ackUntil = -1;
        case ACTIVE -> {
          rearm = false;
          pendingSince = -1;
        }
        default -> throw new AssertionError(target);
      }
      return path;
    }
  }
}
