package dev.shepherd.backoff;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * {@link Backoff#decorrelatedJitter}: uniform on {@code [base, min(cap, 3 * previous)]}, previous
 * starting at base. Drawing below the cap, instead of clamping a draw to it, keeps capped delays
 * spread over {@code [base, cap]}.
 */
record DecorrelatedJitterBackoff(long baseNanos, long capNanos) implements BuiltInBackoff {

  /** {@code min(cap, base * 3^(attempt - 1))}: the largest previous delay reachable at {@code attempt}. */
  static long widestPrevious(long baseNanos, long capNanos, int attempt) {
    long previous = baseNanos;
    // At most 40 steps (3^40 > 2^63), independent of attempt: O(1).
    for (int i = 1; i < attempt && previous < capNanos; i++) {
      previous = previous > capNanos / 3 ? capNanos : previous * 3;
    }
    return previous;
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new DecorrelatedSchedule(baseNanos, capNanos, baseNanos, random);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new DecorrelatedSchedule(baseNanos, capNanos, widestPrevious(baseNanos, capNanos, attempt), random);
  }

  @Override
  public String toString() {
    return "Backoff.decorrelatedJitter(base=" + Duration.ofNanos(baseNanos)
        + ", cap=" + Duration.ofNanos(capNanos) + ")";
  }

  private static final class DecorrelatedSchedule implements Schedule {
    private final long baseNanos;
    private final long capNanos;
    private final long capThird; // 3 * previous > cap  <=>  previous > floor(cap / 3)
    private final RandomGenerator random;
    private long previous; // invariant: base <= previous <= cap

    DecorrelatedSchedule(long baseNanos, long capNanos, long previous, RandomGenerator random) {
      this.baseNanos = baseNanos;
      this.capNanos = capNanos;
      this.capThird = capNanos / 3;
      this.previous = previous;
      this.random = random;
    }

    @Override
    public long nextDelayNanos() {
      long p = previous;
      long hi = p > capThird ? capNanos : p * 3;
      long delay = Randoms.uniform(random, baseNanos, hi);
      previous = delay;
      return delay;
    }
  }
}
