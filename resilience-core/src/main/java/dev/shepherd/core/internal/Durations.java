package dev.shepherd.core.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * Conversions between {@link Duration} and the {@code long} nanoseconds that Shepherd computes with.
 *
 * <p>{@link Duration#toNanos()} throws past about 292 years; Shepherd's arithmetic must never throw
 * or wrap, so these conversions saturate at {@link Long#MAX_VALUE} instead. A saturated value is
 * "forever" for every practical purpose. Static, stateless, thread-safe.
 */
public final class Durations {

  private Durations() {}

  /**
   * Returns {@code duration} in nanoseconds, saturated to {@code [Long.MIN_VALUE, Long.MAX_VALUE]}.
   *
   * @param duration the duration
   * @return its length in nanoseconds, never wrapped
   * @throws NullPointerException if {@code duration} is null
   */
  public static long toNanosSaturated(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    try {
      return duration.toNanos();
    } catch (ArithmeticException overflow) {
      // Only reachable for durations beyond about 292 years: rare enough that the throw is cheap.
      return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  /**
   * Adds two {@code long} values, saturating instead of overflowing.
   *
   * @param a a value
   * @param b another value
   * @return {@code a + b}, or {@link Long#MAX_VALUE} / {@link Long#MIN_VALUE} when the sum overflows
   */
  public static long saturatedAdd(long a, long b) {
    long sum = a + b;
    // Overflow happened iff both operands have the sign opposite to the sum's.
    if (((a ^ sum) & (b ^ sum)) < 0) {
      return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
    return sum;
  }

  /**
   * Multiplies two {@code long} values, saturating instead of overflowing.
   *
   * @param a a value
   * @param b another value
   * @return {@code a * b}, or {@link Long#MAX_VALUE} / {@link Long#MIN_VALUE} when it overflows
   */
  public static long saturatedMultiply(long a, long b) {
    long high = Math.multiplyHigh(a, b);
    long low = a * b;
    if ((high == 0 && low >= 0) || (high == -1 && low < 0)) {
      return low;
    }
    return (a ^ b) < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
  }
}
