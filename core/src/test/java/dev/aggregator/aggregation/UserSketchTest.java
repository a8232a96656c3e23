package dev.aggregator.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.event.Hashing;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.TgtHllType;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class UserSketchTest {
  private static final double RSE = UserSketch.relativeStandardError();

  @Test
  void heapBytesGrowWithTheUsersInEveryMode() {
    UserSketch s = new UserSketch();
    long empty = s.heapBytes();
    s.add(1);
    long exact = s.heapBytes();
    for (int i = 0; i < 5_000; i++) {
      s.add(Hashing.hash64("u" + i)); // past EXACT_LIMIT: sketch mode
    }
    long sketch = s.heapBytes();
    UserSketch merged = new UserSketch();
    merged.merge(s);
    merged.merge(s); // a union
    assertThat(empty).isLessThan(exact);
    assertThat(exact).isLessThan(sketch);
    assertThat(sketch).isBetween(4_096L, 20_000L); // 4,096 one-byte registers
    assertThat(merged.heapBytes()).isGreaterThanOrEqualTo(4_096L);
  }

  @Test
  void countsDistinctUsersExactlyWhileSmall() {
    UserSketch users = new UserSketch();
    for (int repeat = 0; repeat < 3; repeat++) {
      for (int i = 0; i < 20; i++) {
        users.add(Hashing.hash64("user-" + i));
      }
    }

    assertThat(users.isExact()).isTrue();
    assertThat(users.estimate()).withFailMessage("got %s, want 20", users.estimate()).isEqualTo(20);
    assertThat(users.lowerBound(3)).isEqualTo(20);
    assertThat(users.upperBound(3)).isEqualTo(20);
  }

  @Test
  void anEmptySketchCountsNobody() {
    UserSketch users = new UserSketch();

    assertThat(users.isExact()).isTrue();
    assertThat(users.estimate()).isZero();
    assertThat(roundTrip(users).estimate()).isZero();
  }

  @Test
  void switchesToTheSketchAtTheThirtyThirdDistinctUser() {
    UserSketch users = new UserSketch();
    for (int i = 0; i < UserSketch.EXACT_LIMIT; i++) {
      users.add(hash(i));
      users.add(hash(i)); // a repeat never moves the switch
    }
    assertThat(users.isExact()).as("32 distinct").isTrue();
    assertThat(users.estimate()).isEqualTo(32);

    users.add(hash(32));

    assertThat(users.isExact()).as("33 distinct").isFalse();
    assertThat(users.estimate())
        .withFailMessage("got %s, want 33 within 3 RSE", users.estimate())
        .isCloseTo(33, withinRse(33));
    assertThat(users.lowerBound(3)).isLessThanOrEqualTo(33);
    assertThat(users.upperBound(3)).isGreaterThanOrEqualTo(33);
  }

  @Test
  void theDocumentedErrorIsDataSketchesRseForLgK12() {
    assertThat(RSE).isEqualTo(HllSketch.getRelErr(true, true, 12, 1)).isBetween(0.015, 0.017);
    assertThatThrownBy(() -> new UserSketch().upperBound(4))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new UserSketch().lowerBound(0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aLargeSketchIsWithinItsErrorAndBounds() {
    int n = 100_000;
    UserSketch users = new UserSketch();
    for (int i = 0; i < n; i++) {
      users.add(hash(i));
    }

    assertThat(users.estimate())
        .withFailMessage("got %s, want %d within 3 RSE", users.estimate(), n)
        .isCloseTo(n, withinRse(n));
    assertThat(users.lowerBound(1)).isLessThan(users.estimate());
    assertThat(users.upperBound(1)).isGreaterThan(users.estimate());
    assertThat(users.lowerBound(3)).isLessThan(users.lowerBound(1));
  }

  @Provide
  Arbitrary<List<Long>> fewHashes() {
    // a pool of 48 users: lists repeat users and their union may pass the switch
    return Arbitraries.integers().between(0, 47).map(UserSketchTest::hash).list().ofMaxSize(80);
  }

  /** Exact while the union fits in 32 (also when it goes past 32 only through a merge). */
  @Property(tries = 100)
  void mergingAnySplitInAnyOrderCountsExactlyWhileSmall(
      @ForAll("fewHashes") List<Long> hashes,
      @ForAll @IntRange(min = 1, max = 6) int parts,
      @ForAll Random random) {
    int distinct = new HashSet<>(hashes).size();

    UserSketch merged = mergeInRandomOrder(split(hashes, parts, random), random);

    UserSketch single = new UserSketch();
    hashes.forEach(single::add);
    if (distinct <= UserSketch.EXACT_LIMIT) {
      assertThat(merged.isExact()).as("%d distinct", distinct).isTrue();
      assertThat(merged.estimate())
          .withFailMessage("got %s, want %d", merged.estimate(), distinct)
          .isEqualTo(distinct)
          .isEqualTo(single.estimate());
    } else {
      assertThat(merged.isExact()).as("%d distinct", distinct).isFalse();
      assertThat(merged.estimate())
          .withFailMessage("got %s, want %d within 3 RSE", merged.estimate(), distinct)
          .isCloseTo(distinct, withinRse(distinct));
    }
  }

  /**
   * Up to 200,000 distinct users in up to 16 parts. A fixed seed: by design about 1 merged estimate
   * in 450 falls outside 3 RSE (measured: 9 of 4,000 over 1,000–200,000 users), so random seeds
   * would fail about one run in 15. The parts, their order and the users still vary try by try.
   */
  @Property(tries = 40, seed = "20240115")
  void mergingAnySplitInAnyOrderEstimatesWithin3RseWhenLarge(
      @ForAll @IntRange(min = 0, max = 200_000) int distinct,
      @ForAll @IntRange(min = 0, max = 100) int duplicatePercent,
      @ForAll @IntRange(min = 1, max = 16) int parts,
      @ForAll Random random) {
    List<Long> hashes = new ArrayList<>();
    for (int i = 0; i < distinct; i++) {
      long h = random.nextLong();
      hashes.add(h);
      if (random.nextInt(100) < duplicatePercent) {
        hashes.add(h);
      }
    }
    int trueCount = new HashSet<>(hashes).size();

    UserSketch merged = mergeInRandomOrder(split(hashes, parts, random), random);

    UserSketch single = new UserSketch();
    hashes.forEach(single::add);
    assertThat(merged.estimate())
        .withFailMessage(
            "merged %d parts: got %s, want %d within 3 RSE (one sketch: %s)",
            parts, merged.estimate(), trueCount, single.estimate())
        .isCloseTo(trueCount, withinRse(trueCount));
    assertThat(single.estimate())
        .withFailMessage("one sketch: got %s, want %d", single.estimate(), trueCount)
        .isCloseTo(trueCount, withinRse(trueCount));
  }

  @Test
  void mergingDoesNotChangeTheArgumentInAnyMode() {
    for (UserSketch argument : everyMode(1)) {
      for (UserSketch receiver : everyMode(1_000_000)) {
        byte[] before = bytes(argument);
        double estimate = argument.estimate();

        receiver.merge(argument);
        for (int i = 0; i < 10_000; i++) {
          receiver.add(
              hash(5_000_000 + i)); // would show if the receiver shared the argument's state
        }
        receiver.merge(argument);

        assertThat(bytes(argument)).as("argument's bytes").isEqualTo(before);
        assertThat(argument.estimate()).as("argument's estimate").isEqualTo(estimate);
      }
    }
  }

  @Test
  void mergingASketchWithItselfKeepsItsCount() {
    for (UserSketch s : everyMode(0)) {
      double before = s.estimate();

      s.merge(s);

      assertThat(s.estimate())
          .withFailMessage("got %s, want %s", s.estimate(), before)
          .isCloseTo(before, withinRse(before));
    }
  }

  @Test
  void mergesWithEveryModeOnEitherSide() {
    int[] sizes = {0, 5, 32, 33, 500, 20_000};
    for (int a : sizes) {
      for (int b : sizes) {
        for (boolean unionFirst : new boolean[] {false, true}) {
          UserSketch left = users(0, a);
          UserSketch right = users(a / 2, b); // overlaps the left half of its users
          if (unionFirst) {
            // Sketches that have been merged into hold a union: merge in users they already have.
            if (a > UserSketch.EXACT_LIMIT) {
              left.merge(users(0, 33));
            }
            if (b > UserSketch.EXACT_LIMIT) {
              right.merge(users(a / 2, 33));
            }
          }
          int want = Math.max(a, a / 2 + b);

          left.merge(right);

          assertThat(left.estimate())
              .withFailMessage("%d + %d: got %s, want %d", a, b, left.estimate(), want)
              .isCloseTo(want, withinRse(want));
          assertThat(left.isExact()).isEqualTo(want <= UserSketch.EXACT_LIMIT);
        }
      }
    }
  }

  @Test
  void roundTripsThroughBytesInEveryModeAndKeepsMerging() {
    for (UserSketch s : everyMode(0)) {
      UserSketch copy = roundTrip(s);

      assertThat(copy.estimate()).as("estimate of %s", s.estimate()).isEqualTo(s.estimate());
      assertThat(copy.isExact()).isEqualTo(s.isExact());
      assertThat(copy.upperBound(2)).isEqualTo(s.upperBound(2));

      UserSketch more = users(3_000_000, 700);
      s.merge(more);
      copy.merge(more);
      assertThat(copy.estimate())
          .withFailMessage("after a merge: got %s, want %s", copy.estimate(), s.estimate())
          .isCloseTo(s.estimate(), withinRse(s.estimate()));
    }
  }

  @Test
  void readsExactlyWhatItWroteFromASharedBuffer() {
    List<UserSketch> all = everyMode(0);
    int total = all.stream().mapToInt(UserSketch::serializedSize).sum();
    ByteBuffer buffer = ByteBuffer.allocate(total + 3);
    buffer.put((byte) 7);
    for (UserSketch s : all) {
      int at = buffer.position();
      s.writeTo(buffer);
      assertThat(buffer.position() - at).as("bytes written").isEqualTo(s.serializedSize());
    }
    buffer.put((byte) 9);
    buffer.flip();

    assertThat(buffer.get()).isEqualTo((byte) 7);
    for (UserSketch s : all) {
      assertThat(UserSketch.readFrom(buffer).estimate()).isEqualTo(s.estimate());
    }
    assertThat(buffer.get()).as("the byte after the last sketch").isEqualTo((byte) 9);
  }

  @Test
  void anExactSketchTakesTwoBytesPlusEightPerUser() {
    assertThat(users(0, 0).serializedSize()).isEqualTo(2);
    assertThat(users(0, 32).serializedSize()).isEqualTo(2 + 32 * 8);
    assertThat(users(0, 1_000_000).serializedSize()).isLessThanOrEqualTo(4_139);
  }

  @Test
  void refusesBytesItDidNotWrite() {
    assertThatThrownBy(() -> UserSketch.readFrom(ByteBuffer.wrap(new byte[] {2, 0})))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown user sketch mode 2");
    assertThatThrownBy(() -> UserSketch.readFrom(ByteBuffer.wrap(new byte[] {0, 33})))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most 32");
    ByteBuffer unsorted = ByteBuffer.allocate(18).put((byte) 0).put((byte) 2).putLong(5).putLong(4);
    assertThatThrownBy(() -> UserSketch.readFrom(unsorted.flip()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not ascending");
    ByteBuffer truncated = ByteBuffer.wrap(bytes(users(0, 5_000)), 0, 100);
    assertThatThrownBy(() -> UserSketch.readFrom(truncated))
        .isInstanceOf(IllegalArgumentException.class);
    HllSketch otherK = new HllSketch(10, TgtHllType.HLL_8);
    otherK.update(1L);
    byte[] image = otherK.toCompactByteArray();
    ByteBuffer wrongK = ByteBuffer.allocate(2 + image.length).put((byte) 1);
    wrongK.put((byte) image.length).put(image).flip();
    assertThatThrownBy(() -> UserSketch.readFrom(wrongK))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lgK 10");
    byte[] garbage = new byte[40];
    new Random(1).nextBytes(garbage);
    garbage[0] = 1;
    garbage[1] = 38;
    assertThatThrownBy(() -> UserSketch.readFrom(ByteBuffer.wrap(garbage)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** A sketch in each state: exact (empty, 1, 32), HLL (33, 5,000, 100,000) and merged (union). */
  private static List<UserSketch> everyMode(long offset) {
    UserSketch union = users(offset, 3_000);
    union.merge(users(offset + 1_000, 3_000));
    return List.of(
        users(offset, 0),
        users(offset, 1),
        users(offset, 32),
        users(offset, 33),
        users(offset, 5_000),
        users(offset, 100_000),
        union);
  }

  private static UserSketch users(long first, int count) {
    UserSketch s = new UserSketch();
    for (int i = 0; i < count; i++) {
      s.add(hash(first + i));
    }
    return s;
  }

  private static List<UserSketch> split(List<Long> hashes, int parts, Random random) {
    List<UserSketch> sketches = new ArrayList<>();
    for (int p = 0; p < parts; p++) {
      sketches.add(new UserSketch());
    }
    for (long h : hashes) {
      sketches.get(random.nextInt(parts)).add(h);
    }
    return sketches;
  }

  /** Merges random pairs until one is left: any tree shape, either side the receiver. */
  private static UserSketch mergeInRandomOrder(List<UserSketch> sketches, Random random) {
    List<UserSketch> left = new ArrayList<>(sketches);
    while (left.size() > 1) {
      UserSketch into = left.remove(random.nextInt(left.size()));
      UserSketch from = left.remove(random.nextInt(left.size()));
      into.merge(from);
      left.add(into);
    }
    return left.get(0);
  }

  private static UserSketch roundTrip(UserSketch s) {
    ByteBuffer buffer = ByteBuffer.wrap(bytes(s));
    UserSketch copy = UserSketch.readFrom(buffer);
    assertThat(buffer.remaining()).as("bytes left unread").isZero();
    return copy;
  }

  private static byte[] bytes(UserSketch s) {
    ByteBuffer buffer = ByteBuffer.allocate(s.serializedSize());
    s.writeTo(buffer);
    assertThat(buffer.remaining()).as("serializedSize() - bytes written").isZero();
    return buffer.array();
  }

  /** A 64-bit hash of user {@code i}: MurmurHash3's fmix64, cheaper than hashing a string. */
  private static long hash(long i) {
    long k = i * 0x9E3779B97F4A7C15L + 1;
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }

  private static Offset<Double> withinRse(double n) {
    return Offset.offset(3 * RSE * n);
  }
}
