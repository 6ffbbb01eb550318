package dev.shepherd.backoff;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * {@link Backoff#fullJitter}: uniform on {@code [0, m]}, {@code m = min(cap, base * 2^(n - 1))}.
 *
 * <p>The ceiling {@code m} is exact {@code long} arithmetic: it doubles until the next doubling
 * would pass the cap, then stays at the cap; no multiplication is ever done past that point.
 */
record FullJitterBackoff(long baseNanos, long capNanos) implements BuiltInBackoff {

  /** {@code min(cap, base * 2^(attempt - 1))}, exact, in O(1). */
  static long ceilingNanos(long baseNanos, long capNanos, int attempt) {
    int shift = attempt - 1;
    if (shift >= Long.SIZE - 1) {
      return capNanos; // base >= 1, so base * 2^63 is past any long cap
    }
    // base * 2^shift <= cap  <=>  base <= floor(cap / 2^shift), for non-negative integers
    return baseNanos <= (capNanos >> shift) ? baseNanos << shift : capNanos;
  }

  /** The ceiling after {@code ceiling}: doubled, or the cap once doubling would pass it. */
  static long nextCeiling(long ceiling, long capNanos) {
    return ceiling >= capNanos - ceiling ? capNanos : ceiling << 1;
  }

  @Override
  public Schedule start(RandomGenerator random) {
    return startAt(1, random);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new FullJitterSchedule(ceilingNanos(baseNanos, capNanos, attempt), capNanos, random);
  }

  @Override
  public String toString() {
    return "Backoff.fullJitter(base=" + Duration.ofNanos(baseNanos) + ", cap=" + Duration.ofNanos(capNanos) + ")";
  }

  private static final class FullJitterSchedule implements Schedule {
    private final long capNanos;
    private final RandomGenerator random;
    private long ceiling; // invariant: 1 <= ceiling <= cap

    FullJitterSchedule(long ceiling, long capNanos, RandomGenerator random) {
      this.ceiling = ceiling;
      this.capNanos = capNanos;
      this.random = random;
    }

    @Override
    public long nextDelayNanos() {
      long m = ceiling;
      ceiling = nextCeiling(m, capNanos);
      return Randoms.uniform(random, 0, m);
    }
  }
}
