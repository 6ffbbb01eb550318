package dev.shepherd.backoff;

import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/** {@link Backoff#linear}: {@code min(cap, base + (n - 1) * step)}, exact in nanoseconds. */
record LinearBackoff(long baseNanos, long stepNanos, long capNanos) implements BuiltInBackoff {

  /** The delay before retry {@code attempt}, in O(1) and saturating instead of overflowing. */
  long delayNanos(int attempt) {
    long grown = Durations.saturatedMultiply(attempt - 1L, stepNanos);
    return Math.min(capNanos, Durations.saturatedAdd(baseNanos, grown));
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new LinearSchedule(baseNanos, stepNanos, capNanos);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new LinearSchedule(delayNanos(attempt), stepNanos, capNanos);
  }

  @Override
  public String toString() {
    return "Backoff.linear(base=" + Duration.ofNanos(baseNanos) + ", step=" + Duration.ofNanos(stepNanos)
        + ", cap=" + Duration.ofNanos(capNanos) + ")";
  }

  private static final class LinearSchedule implements Schedule {
    private final long stepNanos;
    private final long capNanos;
    private long next; // invariant: base <= next <= cap

    LinearSchedule(long first, long stepNanos, long capNanos) {
      this.next = first;
      this.stepNanos = stepNanos;
      this.capNanos = capNanos;
    }

    @Override
    public long nextDelayNanos() {
      long delay = next;
      if (delay < capNanos) {
        // Stop growing at the cap; written as a comparison so it can never overflow.
        next = stepNanos >= capNanos - delay ? capNanos : delay + stepNanos;
      }
      return delay;
    }
  }
}
