package dev.shepherd.backoff;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/** {@link Backoff#constant(Duration)}: the same delay before every retry. */
record ConstantBackoff(long delayNanos) implements BuiltInBackoff {

  @Override
  public long capNanos() {
    return Long.MAX_VALUE; // no cap: a proportional jitter spreads on both sides of the delay
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new ConstantSchedule(delayNanos);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    return start(random);
  }

  @Override
  public String toString() {
    return "Backoff.constant(" + Duration.ofNanos(delayNanos) + ")";
  }

  private static final class ConstantSchedule implements Schedule {
    private final long delayNanos;

    ConstantSchedule(long delayNanos) {
      this.delayNanos = delayNanos;
    }

    @Override
    public long nextDelayNanos() {
      return delayNanos;
    }
  }
}
