package dev.shepherd.backoff;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * {@link Backoff#withJitter(double)}: each delay d of the wrapped policy becomes uniform on
 * {@code [ceil(d * (1 - f)), min(cap, floor(d * (1 + f)))]}, cap being the wrapped policy's cap.
 * A capped delay therefore spreads over {@code [cap * (1 - f), cap]}, never above the cap.
 */
record Jitter(Backoff inner, double factor, long capNanos) implements BuiltInBackoff {

  Jitter(Backoff inner, double factor) {
    this(inner, factor, inner instanceof BuiltInBackoff b ? b.capNanos() : Long.MAX_VALUE);
  }

  /** {@code ceil(d * (1 - f))}, never above d (so the interval is never empty). */
  static long lower(long d, double f) {
    return Math.min(d, (long) Math.ceil(d * (1 - f)));
  }

  /** {@code floor(d * (1 + f))}, never below d; the cast saturates at {@link Long#MAX_VALUE}. */
  static long upper(long d, double f) {
    return Math.max(d, (long) Math.floor(d * (1 + f)));
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new JitterSchedule(inner.start(random), factor, capNanos, random);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    Schedule positioned;
    if (inner instanceof BuiltInBackoff b) {
      positioned = b.startAt(attempt, random);
    } else {
      // A foreign policy can only be advanced; tests use built-in policies only.
      positioned = inner.start(random);
      for (int i = 1; i < attempt; i++) {
        positioned.nextDelayNanos();
      }
    }
    return new JitterSchedule(positioned, factor, capNanos, random);
  }

  @Override
  public String toString() {
    return inner + ".withJitter(" + factor + ")";
  }

  private static final class JitterSchedule implements Schedule {
    private final Schedule inner;
    private final double factor;
    private final long capNanos;
    private final RandomGenerator random;

    JitterSchedule(Schedule inner, double factor, long capNanos, RandomGenerator random) {
      this.inner = inner;
      this.factor = factor;
      this.capNanos = capNanos;
      this.random = random;
    }

    @Override
    public long nextDelayNanos() {
      // A foreign schedule breaking the "never negative" contract is treated as 0.
      long d = Math.min(capNanos, Math.max(0, inner.nextDelayNanos()));
      return Randoms.uniform(random, lower(d, factor), Math.min(capNanos, upper(d, factor)));
    }
  }
}
