package dev.shepherd.backoff;

import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * Random draws shared by the jittered schedules: allocation-free and exact.
 *
 * <p>{@link #uniform(RandomGenerator, long, long)} is Lemire's "nearly divisionless" bounded draw
 * ("Fast Random Integer Generation in an Interval", 2019) on 63 random bits: one multiply on the
 * fast path, a division only when a rejection is possible (probability below bound / 2^63). Every
 * integer of the interval is exactly equally likely, which the JDK's {@code nextLong(bound)} also
 * guarantees but with a 64-bit division on every call.
 */
final class Randoms {

  private Randoms() {}

  /**
   * Draws an integer uniformly from the closed interval {@code [lo, hi]}.
   *
   * @param random the generator; consumes no value when {@code lo == hi}
   * @param lo the smallest value, {@code >= 0}
   * @param hi the largest value, {@code >= lo}
   * @return a value in {@code [lo, hi]}
   */
  static long uniform(RandomGenerator random, long lo, long hi) {
    long span = hi - lo; // no overflow: 0 <= lo <= hi
    if (span == 0) {
      return lo;
    }
    if (span == Long.MAX_VALUE) { // [0, Long.MAX_VALUE]: exactly the 63 high bits
      return random.nextLong() >>> 1;
    }
    long bound = span + 1; // in [2, 2^63 - 1]
    // r is uniform on [0, 2^63); the 126-bit product r * bound, split at bit 63, gives the draw
    // floor(r * bound / 2^63) in its high part and the rejection test in its low part.
    long r = random.nextLong() >>> 1;
    long low = r * bound;
    long low63 = low & Long.MAX_VALUE;
    if (low63 < bound) {
      long threshold = Long.remainderUnsigned(Long.MIN_VALUE, bound); // 2^63 mod bound
      while (low63 < threshold) {
        r = random.nextLong() >>> 1;
        low = r * bound;
        low63 = low & Long.MAX_VALUE;
      }
    }
    long high = Math.multiplyHigh(r, bound); // r, bound >= 0: the signed high word is exact
    return lo + ((high << 1) | (low >>> 63));
  }

  /**
   * A generator that draws every value from {@link ThreadLocalRandom#current()} at the moment of the
   * draw, so a schedule using it may move between threads without ever sharing a generator.
   */
  static final class CurrentThread implements RandomGenerator {

    static final CurrentThread INSTANCE = new CurrentThread();

    private CurrentThread() {}

    @Override
    public long nextLong() {
      return ThreadLocalRandom.current().nextLong();
    }

    @Override
    public double nextDouble() {
      return ThreadLocalRandom.current().nextDouble();
    }

    @Override
    public int nextInt() {
      return ThreadLocalRandom.current().nextInt();
    }

    @Override
    public String toString() {
      return "ThreadLocalRandom.current()";
    }
  }
}
