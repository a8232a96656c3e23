package dev.aggregator.ingestion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.event.Hashing;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class DeduplicatorTest {
  private static final Duration WINDOW = Duration.ofMinutes(10);
  private static final long W = WINDOW.toMillis();

  /** A quarter of the window: how much longer than the window an id may be remembered. */
  private static final long QUARTER = W / 4;

  private static final long T0 = 1_705_314_600_000L;
  private static final long MANY = 1_000_000;

  @Test
  void aRepeatedIdWithinTheWindowIsADuplicate() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    long id = Hashing.hash64("evt-1");

    assertThat(dedup.markIfNew(id, T0)).as("first arrival is new").isTrue();
    assertThat(dedup.markIfNew(id, T0)).as("same millisecond").isFalse();
    assertThat(dedup.markIfNew(id, T0 + 1)).as("1 ms later").isFalse();
    assertThat(dedup.markIfNew(id, T0 + W)).as("exactly one window later").isFalse();
    assertThat(dedup.contains(id)).isTrue();
    assertThat(dedup.size()).withFailMessage("got size %d, want 1", dedup.size()).isEqualTo(1);
  }

  @Test
  void differentIdsAreEachNewOnce() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    for (int i = 0; i < 1000; i++) {
      assertThat(dedup.markIfNew(Hashing.hash64("id-" + i), T0 + i)).as("id-%d", i).isTrue();
    }
    for (int i = 0; i < 1000; i++) {
      assertThat(dedup.markIfNew(Hashing.hash64("id-" + i), T0 + 1000 + i))
          .as("id-%d again", i)
          .isFalse();
    }
    assertThat(dedup.size()).isEqualTo(1000);
  }

  @Test
  void anIdIsNewAgainOnceTheWindowHasPassedEvenWithNoTrafficInBetween() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    long id = Hashing.hash64("evt-1");
    dedup.markIfNew(id, T0);

    boolean got = dedup.markIfNew(id, T0 + 2 * W);

    assertThat(got).withFailMessage("a retry two windows later: got duplicate, want new").isTrue();
    assertThat(dedup.markIfNew(id, T0 + 2 * W + 1)).as("and remembered again").isFalse();
    assertThat(dedup.size()).isEqualTo(1);
  }

  @Test
  void anIdIsNewAgainOnceOtherTrafficHasMovedPastTheWindow() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    long id = Hashing.hash64("evt-1");
    dedup.markIfNew(id, T0);
    for (long t = T0; t <= T0 + W + QUARTER; t += QUARTER / 3) {
      dedup.markIfNew(Hashing.hash64("other-" + t), t);
    }

    assertThat(dedup.contains(id)).as("remembered after a window and a quarter").isFalse();
    assertThat(dedup.markIfNew(id, T0 + W + QUARTER)).isTrue();
  }

  @Property(tries = 500)
  void anIdIsRememberedForAtLeastTheWindow(
      @ForAll @LongRange(min = 4, max = 100_000) long windowMillis,
      @ForAll @LongRange(min = -1_000_000_000_000L, max = 4_000_000_000_000L) long first,
      @ForAll @IntRange(min = 0, max = 1000) int offsetPerMille,
      @ForAll @Size(max = 20) List<@IntRange(min = 0, max = 1000) Integer> trafficPerMille) {
    Deduplicator dedup = new Deduplicator(Duration.ofMillis(windowMillis), MANY);
    long id = 42;
    long second = first + windowMillis * offsetPerMille / 1000;
    assertThat(dedup.markIfNew(id, first)).isTrue();
    // Other ids arrive anywhere up to a whole window after the first: they drive expiry.
    for (int i = 0; i < trafficPerMille.size(); i++) {
      long t = first + windowMillis * trafficPerMille.get(i) / 1000;
      dedup.markIfNew(1000 + i, t);
    }

    boolean got = dedup.markIfNew(id, second);

    assertThat(got)
        .withFailMessage(
            "window %d ms, first at %d, again %d ms later, traffic at %s per mille: "
                + "got new, want duplicate",
            windowMillis, first, second - first, trafficPerMille)
        .isFalse();
  }

  @Property(tries = 300)
  void anIdIsForgottenOnceAWindowAndAQuarterHavePassed(
      @ForAll("windows") long windowMillis,
      @ForAll @LongRange(min = -1_000_000_000_000L, max = 4_000_000_000_000L) long first,
      @ForAll @LongRange(min = 0, max = 10_000_000) long extra,
      @ForAll boolean trafficFirst) {
    Deduplicator dedup = new Deduplicator(Duration.ofMillis(windowMillis), MANY);
    long id = 42;
    long second = first + windowMillis + windowMillis / 4 + extra;
    dedup.markIfNew(id, first);
    if (trafficFirst) {
      dedup.markIfNew(7, second);
    }

    boolean got = dedup.markIfNew(id, second);

    assertThat(got)
        .withFailMessage(
            "window %d ms, again %d ms later: got duplicate, want new",
            windowMillis, second - first)
        .isTrue();
  }

  /** Windows that split into four whole generations, as every whole-second window does. */
  @Provide
  Arbitrary<Long> windows() {
    return Arbitraries.longs().between(1, 25_000).map(quarter -> quarter * 4);
  }

  @Test
  void forgetUndoesMarkIfNew() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    long kept = Hashing.hash64("kept");
    long failed = Hashing.hash64("failed");
    dedup.markIfNew(kept, T0);
    assertThat(dedup.markIfNew(failed, T0 + 1)).isTrue();

    dedup.forget(failed);

    assertThat(dedup.contains(failed)).as("forgotten id is remembered").isFalse();
    assertThat(dedup.size()).withFailMessage("got size %d, want 1", dedup.size()).isEqualTo(1);
    assertThat(dedup.markIfNew(failed, T0 + 2)).as("a retry of the forgotten id is new").isTrue();
    assertThat(dedup.contains(kept)).as("the other id is still remembered").isTrue();
  }

  @Test
  void forgettingAnUnknownIdChangesNothing() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    dedup.markIfNew(1, T0);

    dedup.forget(2);
    dedup.forget(2);

    assertThat(dedup.size()).isEqualTo(1);
    assertThat(dedup.contains(1)).isTrue();
  }

  @Test
  void forgetFindsAnIdInAnOlderGeneration() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    dedup.markIfNew(1, T0);
    dedup.markIfNew(2, T0 + 2 * QUARTER);

    dedup.forget(1);

    assertThat(dedup.contains(1)).isFalse();
    assertThat(dedup.size()).isEqualTo(1);
    assertThat(dedup.markIfNew(1, T0 + 2 * QUARTER + 1)).isTrue();
  }

  @Test
  void pastMaxIdsTheOldestGenerationGoesEarlyAndIsCounted() {
    int maxIds = 10;
    Deduplicator dedup = new Deduplicator(Duration.ofHours(1), maxIds);
    long quarter = Duration.ofHours(1).toMillis() / 4;
    // 10 ids in each of four generations, all within one window: nothing expires by time.
    int accepted = 0;
    for (int g = 0; g < 4; g++) {
      for (int i = 0; i < 10; i++) {
        assertThat(dedup.markIfNew(g * 100 + i, T0 + g * quarter + i)).isTrue();
        accepted++;
        assertThat(dedup.size())
            .withFailMessage(
                "got size %d, want at most %d + one generation (10)", dedup.size(), maxIds)
            .isLessThanOrEqualTo(maxIds + 10);
      }
    }

    assertThat(dedup.evictedEarly()).as("evicted early").isPositive();
    assertThat(dedup.size() + dedup.evictedEarly())
        .withFailMessage(
            "got size %d + evictedEarly %d, want %d accepted",
            dedup.size(), dedup.evictedEarly(), accepted)
        .isEqualTo(accepted);
    assertThat(dedup.contains(0)).as("an id of the evicted first generation").isFalse();
    assertThat(dedup.markIfNew(0, T0 + 3 * quarter + 20))
        .as("an evicted id is new again: the window was shortened")
        .isTrue();
    assertThat(dedup.contains(309)).as("the newest id").isTrue();
  }

  @Property(tries = 200)
  void sizeNeverExceedsMaxIdsPlusOneGeneration(
      @ForAll @IntRange(min = 1, max = 30) int maxIds,
      @ForAll @Size(max = 300) List<@IntRange(min = 0, max = 60) Integer> ids,
      @ForAll @Size(max = 300) List<@IntRange(min = 0, max = 200) Integer> steps) {
    long window = 1000;
    long quarter = window / 4;
    Deduplicator dedup = new Deduplicator(Duration.ofMillis(window), maxIds);
    Map<Long, Integer> newPerGeneration = new HashMap<>();
    long t = T0;
    for (int i = 0; i < ids.size(); i++) {
      t += i < steps.size() ? steps.get(i) : 0;
      if (dedup.markIfNew(ids.get(i), t)) {
        newPerGeneration.merge(Math.floorDiv(t, quarter), 1, Integer::sum);
      }
      int largestGeneration = Collections.max(newPerGeneration.values());
      assertThat(dedup.size())
          .withFailMessage(
              "after %d arrivals: got size %d, want at most maxIds %d + one generation (%d)",
              i + 1, dedup.size(), maxIds, largestGeneration)
          .isLessThanOrEqualTo(maxIds + largestGeneration);
    }
  }

  @Test
  void anArrivalOlderThanTheWindowIsNotRemembered() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    long newest = T0 + 10 * W;
    dedup.markIfNew(1, newest);
    long old = newest - W - QUARTER - 1;

    assertThat(dedup.markIfNew(2, old)).as("an old arrival is not a duplicate").isTrue();

    assertThat(dedup.contains(2))
        .withFailMessage(
            "an arrival %d ms before the newest: got remembered, want not", newest - old)
        .isFalse();
    assertThat(dedup.size()).isEqualTo(1);
    assertThat(dedup.markIfNew(2, old)).as("so its retry is new too").isTrue();
  }

  @Property(tries = 300)
  void arrivalsOlderThanTheWindowRelativeToTheNewestAreNotRemembered(
      @ForAll("windows") long windowMillis,
      @ForAll @LongRange(min = -1_000_000_000_000L, max = 4_000_000_000_000L) long newest,
      @ForAll @LongRange(min = 0, max = 10_000_000) long extra) {
    Deduplicator dedup = new Deduplicator(Duration.ofMillis(windowMillis), MANY);
    dedup.markIfNew(1, newest);
    long old = newest - windowMillis - windowMillis / 4 - extra;

    dedup.markIfNew(2, old);

    assertThat(dedup.contains(2))
        .withFailMessage(
            "window %d ms, an arrival %d ms before the newest: got remembered, want not",
            windowMillis, newest - old)
        .isFalse();
    assertThat(dedup.size()).isEqualTo(1);
  }

  @Test
  void aSlightlyOlderArrivalWithinTheWindowIsRemembered() {
    Deduplicator dedup = new Deduplicator(WINDOW, MANY);
    dedup.markIfNew(1, T0 + W / 2);

    assertThat(dedup.markIfNew(2, T0)).isTrue(); // e.g. the clock stepped back

    assertThat(dedup.contains(2)).isTrue();
    assertThat(dedup.markIfNew(2, T0 + W / 2 + 1)).as("its retry").isFalse();
  }

  @Test
  void aWindowShorterThanFourMillisecondsOrNoCapacityIsRejected() {
    assertThatThrownBy(() -> new Deduplicator(Duration.ofMillis(3), 10))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Deduplicator(WINDOW, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void staysWithinMaxIdsEvenWhenOneGenerationOverflows() {
    Deduplicator d = new Deduplicator(Duration.ofHours(24), 1_000);
    for (long id = 0; id < 100_000; id++) {
      d.markIfNew(id, 0); // every id arrives in the same instant: one time slice
      assertThat(d.size()).as("after %d ids", id + 1).isLessThanOrEqualTo(1_000);
    }
    assertThat(d.evictedEarly()).isGreaterThanOrEqualTo(99_000);
    assertThat(d.contains(99_999)).as("the newest ids are remembered").isTrue();
  }
}
