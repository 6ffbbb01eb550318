package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** The bounded uniform draw under every jittered policy. */
class RandomsTest {

  /** A generator that returns the given longs in turn. */
  private static RandomGenerator sequence(long... values) {
    int[] next = {0};
    return () -> values[next[0]++ % values.length];
  }

  @Test
  void drawsTheBottomAndTheTopOfTheInterval() {
    assertEquals(10, Randoms.uniform(sequence(0L), 10, 10)); // single value: no draw at all
    assertEquals(17, Randoms.uniform(sequence(-1L), 10, 17)); // r = 2^63 - 1 maps to the top
    assertEquals(10, Randoms.uniform(sequence(2L), 10, 17)); // r = 1: bottom, not rejected
    assertEquals(Long.MAX_VALUE, Randoms.uniform(sequence(-1L), 0, Long.MAX_VALUE));
    assertEquals(0, Randoms.uniform(sequence(1L), 0, Long.MAX_VALUE));
    assertEquals(Long.MAX_VALUE, Randoms.uniform(sequence(-1L), 1, Long.MAX_VALUE));
  }

  @Test
  void rejectsTheFewValuesThatWouldBiasTheDraw() {
    // bound 3: 2^63 mod 3 = 2, so the values r with (3 r mod 2^63) < 2 are rejected: r = 0 is one.
    assertEquals(2, Randoms.uniform(sequence(0L, -1L), 0, 2)); // r = 0 rejected, then r = max: the top
  }

  @Test
  void everyValueOfASmallIntervalIsEquallyLikely() {
    // 7 values, 700,000 draws: each count is Binomial(700000, 1/7), mean 100,000, variance 85,714.
    // Bernstein: P(|X - mean| > t) <= 2 exp(-t^2 / (2 (variance + t / 3))); t = 2,500 gives
    // 2 exp(-6.25e6 / 173,094) = 2 exp(-36.1) = 4.2e-16 per value, 3e-15 for all 7: far below 1e-9.
    // The mutant without the low bit of the product (values 100..105 only) fails it at once.
    RandomGenerator random = new SplittableRandom(2026);
    int[] counts = new int[7];
    for (int i = 0; i < 700_000; i++) {
      counts[(int) (Randoms.uniform(random, 100, 106) - 100)]++;
    }
    for (int count : counts) {
      assertTrue(Math.abs(count - 100_000) <= 2_500, "count " + count);
    }
  }

  @Test
  void staysInsideHugeIntervals() {
    RandomGenerator random = new SplittableRandom(11);
    long lo = 1L << 61;
    long hi = Long.MAX_VALUE - 5;
    for (int i = 0; i < 100_000; i++) {
      long v = Randoms.uniform(random, lo, hi);
      assertTrue(v >= lo && v <= hi, Long.toString(v));
    }
  }
}
