package dev.aggregator.alerting;

import static dev.aggregator.alerting.AlertStatus.ACKNOWLEDGED;
import static dev.aggregator.alerting.AlertStatus.ACTIVE;
import static dev.aggregator.alerting.AlertStatus.EVALUATING;
import static dev.aggregator.alerting.AlertStatus.NORMAL;
import static dev.aggregator.alerting.AlertStatus.RESOLVED;
import static dev.aggregator.alerting.AlertStatus.TRIGGERED;
import static dev.aggregator.alerting.Verdict.BREACHED;
import static dev.aggregator.alerting.Verdict.HOLDING;
import static dev.aggregator.alerting.Verdict.RECOVERED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class AlertStateMachineTest {
  private static final long T0 = 1_764_504_000_000L; // 2025-11-30T12:00:00Z
  private static final long SECOND = 1_000;
  private static final long MINUTE = 60 * SECOND;
  private static final long HOUR = 60 * MINUTE;

  // --- AlertStatus ---

  @Test
  void wireIsTheLowercaseNameAndParseAcceptsItInAnyCase() {
    assertThat(ACKNOWLEDGED.wire()).isEqualTo("acknowledged");
    for (AlertStatus s : AlertStatus.values()) {
      assertThat(AlertStatus.parse(s.wire())).isEqualTo(s);
    }
    assertThat(AlertStatus.parse("Triggered")).isEqualTo(TRIGGERED);
    assertThat(AlertStatus.parse("RESOLVED")).isEqualTo(RESOLVED);
  }

  @Test
  void parseRefusesUnknownNamesAndNamesTheAcceptedOnes() {
    for (String bad : new String[] {"firing", "", " active", null}) {
      assertThatThrownBy(() -> AlertStatus.parse(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(
              "expected one of: active, evaluating, triggered, normal, acknowledged, resolved");
    }
  }

  @Test
  void nextIsExactlyTheSeedLifecycleGraph() {
    List<List<AlertStatus>> edges = new ArrayList<>();
    for (AlertStatus from : AlertStatus.values()) {
      for (AlertStatus to : from.next()) {
        edges.add(List.of(from, to));
      }
    }
    assertThat(edges)
        .containsExactlyInAnyOrder(
            List.of(ACTIVE, EVALUATING),
            List.of(EVALUATING, TRIGGERED),
            List.of(EVALUATING, NORMAL),
            List.of(NORMAL, ACTIVE),
            List.of(TRIGGERED, ACKNOWLEDGED),
            List.of(TRIGGERED, RESOLVED),
            List.of(ACKNOWLEDGED, RESOLVED),
            List.of(ACKNOWLEDGED, TRIGGERED),
            List.of(RESOLVED, ACTIVE));
    assertThatThrownBy(() -> ACTIVE.next().add(NORMAL))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void onlyTriggeredAndAcknowledgedAreFiring() {
    EnumSet<AlertStatus> firing = EnumSet.noneOf(AlertStatus.class);
    for (AlertStatus s : AlertStatus.values()) {
      if (s.isFiring()) {
        firing.add(s);
      }
    }
    assertThat(firing).containsExactly(TRIGGERED, ACKNOWLEDGED);
  }

  @Test
  void aNewAlertIsActiveWithNothingPending() {
    assertThat(AlertState.created(T0)).isEqualTo(new AlertState(ACTIVE, T0, -1, false, -1));
  }

  // --- evaluate: active and evaluating ---

  @Test
  void withoutForTheFirstBreachTriggersAtOnce() {
    var step = AlertStateMachine.evaluate(AlertState.created(T0), BREACHED, 42.0, T0 + 5, 0);

    assertThat(step.transitions())
        .extracting(
            Transition::from, Transition::to, Transition::at, Transition::value, Transition::actor)
        .containsExactly(
            tuple(ACTIVE, EVALUATING, T0 + 5, 42.0, "evaluator"),
            tuple(EVALUATING, TRIGGERED, T0 + 5, 42.0, "evaluator"));
    assertThat(step.transitions()).extracting(Transition::comment).containsOnlyNulls();
    assertThat(step.transitions()).extracting(Transition::reason).doesNotContainNull();
    assertThat(step.state()).isEqualTo(new AlertState(TRIGGERED, T0 + 5, T0 + 5, false, -1));
  }

  @Test
  void withForTheBreachIsPendingAndTriggersOnlyOnceItHasLastedThatLong() {
    long forMillis = 2 * MINUTE;
    var pending = AlertStateMachine.evaluate(AlertState.created(T0), BREACHED, 1.0, T0, forMillis);
    assertThat(pending.transitions()).extracting(Transition::to).containsExactly(EVALUATING);
    assertThat(pending.transitions().get(0).reason()).isEqualTo("condition breached");
    assertThat(pending.state()).isEqualTo(new AlertState(EVALUATING, T0, T0, false, -1));

    var stillPending =
        AlertStateMachine.evaluate(pending.state(), BREACHED, 2.0, T0 + 2 * MINUTE - 1, forMillis);
    assertThat(stillPending.transitions()).isEmpty();
    assertThat(stillPending.state()).isEqualTo(pending.state());

    var fired =
        AlertStateMachine.evaluate(stillPending.state(), BREACHED, 3.0, T0 + 2 * MINUTE, forMillis);
    assertThat(fired.transitions())
        .extracting(Transition::from, Transition::to, Transition::reason, Transition::value)
        .containsExactly(tuple(EVALUATING, TRIGGERED, "breached for 2m", 3.0));
    assertThat(fired.state()).isEqualTo(new AlertState(TRIGGERED, T0 + 2 * MINUTE, T0, false, -1));
  }

  @Test
  void aBlipShorterThanForGoesNormal() {
    var pending = AlertStateMachine.evaluate(AlertState.created(T0), BREACHED, 9.0, T0, MINUTE);
    for (Verdict notBreached : new Verdict[] {HOLDING, RECOVERED}) {
      var step =
          AlertStateMachine.evaluate(pending.state(), notBreached, 1.0, T0 + 30 * SECOND, MINUTE);
      assertThat(step.transitions())
          .extracting(Transition::from, Transition::to, Transition::reason)
          .containsExactly(tuple(EVALUATING, NORMAL, "condition no longer breached"));
      assertThat(step.state()).isEqualTo(new AlertState(NORMAL, T0 + 30 * SECOND, -1, false, -1));
    }
  }

  @Test
  void aFirstEvaluationThatIsNotBreachedGoesThroughEvaluatingToNormal() {
    for (Verdict notBreached : new Verdict[] {HOLDING, RECOVERED}) {
      var step = AlertStateMachine.evaluate(AlertState.created(T0), notBreached, 0.5, T0 + 1, 0);
      assertThat(step.transitions())
          .extracting(Transition::from, Transition::to)
          .containsExactly(tuple(ACTIVE, EVALUATING), tuple(EVALUATING, NORMAL));
      assertThat(step.state()).isEqualTo(new AlertState(NORMAL, T0 + 1, -1, false, -1));
    }
  }

  // --- evaluate: normal ---

  @Test
  void aBreachFromNormalReArmsAndTriggersAtOnceWithoutFor() {
    var normal = new AlertState(NORMAL, T0, -1, false, -1);
    var step = AlertStateMachine.evaluate(normal, BREACHED, 7.0, T0 + MINUTE, 0);
    assertThat(step.transitions())
        .extracting(Transition::from, Transition::to, Transition::reason)
        .containsExactly(
            tuple(NORMAL, ACTIVE, "re-armed"),
            tuple(ACTIVE, EVALUATING, "condition breached"),
            tuple(EVALUATING, TRIGGERED, "condition breached"));
    assertThat(step.state())
        .isEqualTo(new AlertState(TRIGGERED, T0 + MINUTE, T0 + MINUTE, false, -1));
  }

  @Test
  void aBreachFromNormalWithForStopsAtEvaluating() {
    var normal = new AlertState(NORMAL, T0, -1, false, -1);
    var step = AlertStateMachine.evaluate(normal, BREACHED, 7.0, T0 + MINUTE, 30 * SECOND);
    assertThat(step.transitions()).extracting(Transition::to).containsExactly(ACTIVE, EVALUATING);
    assertThat(step.state())
        .isEqualTo(new AlertState(EVALUATING, T0 + MINUTE, T0 + MINUTE, false, -1));
  }

  @Test
  void normalStaysNormalWhileNotBreached() {
    var normal = new AlertState(NORMAL, T0, -1, false, -1);
    for (Verdict notBreached : new Verdict[] {HOLDING, RECOVERED}) {
      var step = AlertStateMachine.evaluate(normal, notBreached, 0.0, T0 + HOUR, 0);
      assertThat(step.transitions()).isEmpty();
      assertThat(step.state()).isEqualTo(normal);
    }
  }

  // --- evaluate: triggered and acknowledged ---

  @Test
  void hysteresisHoldingKeepsATriggeredAlertFiringUntilItRecovers() {
    var triggered = new AlertState(TRIGGERED, T0, T0, false, -1);
    for (Verdict stillFiring : new Verdict[] {HOLDING, BREACHED}) {
      var step = AlertStateMachine.evaluate(triggered, stillFiring, 5.0, T0 + HOUR, 0);
      assertThat(step.transitions()).isEmpty();
      assertThat(step.state()).isEqualTo(triggered);
    }

    var resolved = AlertStateMachine.evaluate(triggered, RECOVERED, 1.0, T0 + HOUR, 0);
    assertThat(resolved.transitions())
        .extracting(Transition::from, Transition::to, Transition::reason, Transition::value)
        .containsExactly(tuple(TRIGGERED, RESOLVED, "recovered", 1.0));
    assertThat(resolved.state()).isEqualTo(new AlertState(RESOLVED, T0 + HOUR, -1, false, -1));
  }

  @Test
  void anExpiredAcknowledgementFiresAgain() {
    var triggered = new AlertState(TRIGGERED, T0, T0, false, -1);
    var acked =
        AlertStateMachine.request(
            triggered, ACKNOWLEDGED, "ana", "on it", T0 + MINUTE, 10 * MINUTE);
    assertThat(acked.state().ackUntil()).isEqualTo(T0 + 11 * MINUTE);

    for (Verdict stillFiring : new Verdict[] {HOLDING, BREACHED}) {
      var before =
          AlertStateMachine.evaluate(acked.state(), stillFiring, 5.0, T0 + 11 * MINUTE - 1, 0);
      assertThat(before.transitions()).isEmpty();
      assertThat(before.state()).isEqualTo(acked.state());

      var expired =
          AlertStateMachine.evaluate(acked.state(), stillFiring, 5.0, T0 + 11 * MINUTE, 0);
      assertThat(expired.transitions())
          .extracting(Transition::from, Transition::to, Transition::reason, Transition::actor)
          .containsExactly(tuple(ACKNOWLEDGED, TRIGGERED, "acknowledgement expired", "evaluator"));
      assertThat(expired.state())
          .isEqualTo(new AlertState(TRIGGERED, T0 + 11 * MINUTE, T0, false, -1));
    }
  }

  @Test
  void anAcknowledgementWithoutExpiryLastsUntilRecovery() {
    var acked = new AlertState(ACKNOWLEDGED, T0, T0, false, -1);
    var muchLater = AlertStateMachine.evaluate(acked, BREACHED, 5.0, T0 + 1000 * HOUR, 0);
    assertThat(muchLater.transitions()).isEmpty();

    var recovered = AlertStateMachine.evaluate(acked, RECOVERED, 0.0, T0 + 1000 * HOUR, 0);
    assertThat(recovered.transitions())
        .extracting(Transition::from, Transition::to, Transition::reason)
        .containsExactly(tuple(ACKNOWLEDGED, RESOLVED, "recovered"));
    assertThat(recovered.state())
        .isEqualTo(new AlertState(RESOLVED, T0 + 1000 * HOUR, -1, false, -1));
  }

  @Test
  void recoveryWinsOverAnExpiredAcknowledgement() {
    var acked = new AlertState(ACKNOWLEDGED, T0, T0, false, T0 + MINUTE);
    var step = AlertStateMachine.evaluate(acked, RECOVERED, 0.0, T0 + HOUR, 0);
    assertThat(step.transitions()).extracting(Transition::to).containsExactly(RESOLVED);
    assertThat(step.state().ackUntil()).isEqualTo(-1);
  }

  // --- evaluate: resolved ---

  @Test
  void aHandResolvedAlertDoesNotReFireUntilItsConditionHasRecovered() {
    var triggered = new AlertState(TRIGGERED, T0, T0, false, -1);
    var resolved = AlertStateMachine.request(triggered, RESOLVED, "ana", "known issue", T0 + 1, -1);
    assertThat(resolved.transitions())
        .extracting(
            Transition::from,
            Transition::to,
            Transition::reason,
            Transition::actor,
            Transition::comment,
            Transition::value)
        .containsExactly(
            tuple(TRIGGERED, RESOLVED, "resolved by hand", "ana", "known issue", null));
    assertThat(resolved.state()).isEqualTo(new AlertState(RESOLVED, T0 + 1, -1, true, -1));

    AlertState s = resolved.state();
    for (Verdict notRecovered : new Verdict[] {BREACHED, HOLDING, BREACHED}) {
      var step = AlertStateMachine.evaluate(s, notRecovered, 5.0, T0 + MINUTE, 0);
      assertThat(step.transitions()).isEmpty();
      assertThat(step.state()).isEqualTo(s);
    }

    var recovered = AlertStateMachine.evaluate(s, RECOVERED, 0.0, T0 + 2 * MINUTE, 0);
    assertThat(recovered.transitions()).isEmpty();
    assertThat(recovered.state()).isEqualTo(new AlertState(RESOLVED, T0 + 1, -1, false, -1));

    var refired = AlertStateMachine.evaluate(recovered.state(), BREACHED, 6.0, T0 + 3 * MINUTE, 0);
    assertThat(refired.transitions())
        .extracting(Transition::from, Transition::to, Transition::reason)
        .containsExactly(
            tuple(RESOLVED, ACTIVE, "re-armed"),
            tuple(ACTIVE, EVALUATING, "condition breached"),
            tuple(EVALUATING, TRIGGERED, "condition breached"));
    assertThat(refired.state())
        .isEqualTo(new AlertState(TRIGGERED, T0 + 3 * MINUTE, T0 + 3 * MINUTE, false, -1));
  }

  @Test
  void anAlertResolvedByRecoveryReArmsOnTheNextBreach() {
    var resolved = new AlertState(RESOLVED, T0, -1, false, -1);
    for (Verdict notBreached : new Verdict[] {HOLDING, RECOVERED}) {
      var step = AlertStateMachine.evaluate(resolved, notBreached, 0.0, T0 + MINUTE, 0);
      assertThat(step.transitions()).isEmpty();
      assertThat(step.state()).isEqualTo(resolved);
    }

    var step = AlertStateMachine.evaluate(resolved, BREACHED, 3.0, T0 + MINUTE, 2 * MINUTE);
    assertThat(step.transitions())
        .extracting(Transition::from, Transition::to)
        .containsExactly(tuple(RESOLVED, ACTIVE), tuple(ACTIVE, EVALUATING));
    assertThat(step.state())
        .isEqualTo(new AlertState(EVALUATING, T0 + MINUTE, T0 + MINUTE, false, -1));
  }

  @Test
  void sinceChangesOnlyWithTheStatus() {
    var pending = new AlertState(EVALUATING, T0, T0, false, -1);
    var same = AlertStateMachine.evaluate(pending, BREACHED, 1.0, T0 + MINUTE, 2 * MINUTE);
    assertThat(same.state().since()).isEqualTo(T0);
    var moved = AlertStateMachine.evaluate(pending, BREACHED, 1.0, T0 + 3 * MINUTE, 2 * MINUTE);
    assertThat(moved.state().since()).isEqualTo(T0 + 3 * MINUTE);
    assertThat(moved.transitions().get(0).reason()).isEqualTo("breached for 3m");
  }

  @Test
  void aNegativeForIsRefused() {
    assertThatThrownBy(
            () -> AlertStateMachine.evaluate(AlertState.created(T0), BREACHED, 1.0, T0, -1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // --- request ---

  @Test
  void acknowledgeOnlyFromTriggeredWithOrWithoutExpiry() {
    var triggered = new AlertState(TRIGGERED, T0, T0, false, -1);
    var forever = AlertStateMachine.request(triggered, ACKNOWLEDGED, "bo", null, T0 + 5, -1);
    assertThat(forever.transitions())
        .extracting(
            Transition::from, Transition::to, Transition::actor, Transition::value, Transition::at)
        .containsExactly(tuple(TRIGGERED, ACKNOWLEDGED, "bo", null, T0 + 5));
    assertThat(forever.transitions().get(0).reason()).startsWith("acknowledged");
    assertThat(forever.state()).isEqualTo(new AlertState(ACKNOWLEDGED, T0 + 5, T0, false, -1));

    var anHour = AlertStateMachine.request(triggered, ACKNOWLEDGED, "bo", null, T0 + 5, HOUR);
    assertThat(anHour.state().ackUntil()).isEqualTo(T0 + 5 + HOUR);

    for (AlertStatus other : EnumSet.complementOf(EnumSet.of(TRIGGERED))) {
      var s = new AlertState(other, T0, -1, false, -1);
      assertThatThrownBy(() -> AlertStateMachine.request(s, ACKNOWLEDGED, "bo", null, T0, -1))
          .isInstanceOf(IllegalTransitionException.class);
    }
  }

  @Test
  void resolveByHandFromTriggeredOrAcknowledged() {
    var acked = new AlertState(ACKNOWLEDGED, T0, T0, false, T0 + HOUR);
    var step = AlertStateMachine.request(acked, RESOLVED, "cy", "fixed", T0 + MINUTE, -1);
    assertThat(step.transitions())
        .extracting(Transition::from, Transition::to, Transition::reason, Transition::comment)
        .containsExactly(tuple(ACKNOWLEDGED, RESOLVED, "resolved by hand", "fixed"));
    assertThat(step.state()).isEqualTo(new AlertState(RESOLVED, T0 + MINUTE, -1, true, -1));
  }

  @Test
  void reopenOnlyFromAcknowledged() {
    var acked = new AlertState(ACKNOWLEDGED, T0, T0, false, T0 + HOUR);
    var step = AlertStateMachine.request(acked, TRIGGERED, "cy", null, T0 + MINUTE, -1);
    assertThat(step.transitions())
        .extracting(Transition::from, Transition::to, Transition::reason)
        .containsExactly(tuple(ACKNOWLEDGED, TRIGGERED, "reopened"));
    assertThat(step.state()).isEqualTo(new AlertState(TRIGGERED, T0 + MINUTE, T0, false, -1));
  }

  @Test
  void reArmByHandFromResolvedOrNormal() {
    var handResolved = new AlertState(RESOLVED, T0, -1, true, -1);
    var step = AlertStateMachine.request(handResolved, ACTIVE, "cy", null, T0 + MINUTE, -1);
    assertThat(step.transitions())
        .extracting(Transition::from, Transition::to, Transition::reason)
        .containsExactly(tuple(RESOLVED, ACTIVE, "re-armed by hand"));
    assertThat(step.state()).isEqualTo(new AlertState(ACTIVE, T0 + MINUTE, -1, false, -1));

    var normal = new AlertState(NORMAL, T0, -1, false, -1);
    assertThat(AlertStateMachine.request(normal, ACTIVE, "cy", null, T0 + 1, -1).state())
        .isEqualTo(new AlertState(ACTIVE, T0 + 1, -1, false, -1));
  }

  @Test
  void requestableNeverOffersTheEvaluatorsStatuses() {
    assertThat(AlertStateMachine.requestable(ACTIVE)).isEmpty();
    assertThat(AlertStateMachine.requestable(EVALUATING)).isEmpty();
    assertThat(AlertStateMachine.requestable(TRIGGERED)).containsExactly(ACKNOWLEDGED, RESOLVED);
    assertThat(AlertStateMachine.requestable(NORMAL)).containsExactly(ACTIVE);
    assertThat(AlertStateMachine.requestable(ACKNOWLEDGED)).containsExactly(TRIGGERED, RESOLVED);
    assertThat(AlertStateMachine.requestable(RESOLVED)).containsExactly(ACTIVE);
    for (AlertStatus from : AlertStatus.values()) {
      var s = new AlertState(from, T0, -1, false, -1);
      for (AlertStatus evaluatorOwned : new AlertStatus[] {EVALUATING, NORMAL}) {
        assertThatThrownBy(() -> AlertStateMachine.request(s, evaluatorOwned, "x", null, T0, -1))
            .isInstanceOf(IllegalTransitionException.class);
      }
      assertThat(from.next()).containsAll(AlertStateMachine.requestable(from));
    }
  }

  @Test
  void aRefusedRequestSaysWhatIsAllowedInstead() {
    var normal = new AlertState(NORMAL, T0, -1, false, -1);
    assertThatThrownBy(() -> AlertStateMachine.request(normal, ACKNOWLEDGED, "x", null, T0, -1))
        .isInstanceOfSatisfying(
            IllegalTransitionException.class,
            e -> {
              assertThat(e.from()).isEqualTo(NORMAL);
              assertThat(e.to()).isEqualTo(ACKNOWLEDGED);
              assertThat(e.allowed()).containsExactly(ACTIVE);
              assertThat(e.getMessage())
                  .isEqualTo(
                      "cannot move an alert from normal to acknowledged; allowed from normal: active");
            });

    var triggered = new AlertState(TRIGGERED, T0, T0, false, -1);
    assertThatThrownBy(() -> AlertStateMachine.request(triggered, TRIGGERED, "x", null, T0, -1))
        .isInstanceOf(IllegalTransitionException.class)
        .hasMessage(
            "cannot move an alert from triggered to triggered;"
                + " allowed from triggered: acknowledged, resolved");

    var evaluating = new AlertState(EVALUATING, T0, T0, false, -1);
    assertThatThrownBy(() -> AlertStateMachine.request(evaluating, RESOLVED, "x", null, T0, -1))
        .isInstanceOfSatisfying(
            IllegalTransitionException.class,
            e -> {
              assertThat(e.allowed()).isEmpty();
              assertThat(e.getMessage())
                  .isEqualTo(
                      "cannot move an alert from evaluating to resolved;"
                          + " nothing can be requested from evaluating");
            });
  }

  @Test
  void durationsInReasonsAreShort() {
    assertThat(AlertStateMachine.formatMillis(0)).isEqualTo("0s");
    assertThat(AlertStateMachine.formatMillis(90 * SECOND)).isEqualTo("90s");
    assertThat(AlertStateMachine.formatMillis(2 * MINUTE)).isEqualTo("2m");
    assertThat(AlertStateMachine.formatMillis(HOUR)).isEqualTo("1h");
    assertThat(AlertStateMachine.formatMillis(90 * MINUTE)).isEqualTo("90m");
    assertThat(AlertStateMachine.formatMillis(1500)).isEqualTo("1500ms");
  }
}
