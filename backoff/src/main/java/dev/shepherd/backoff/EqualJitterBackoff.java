package dev.shepherd.backoff;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * {@link Backoff#equalJitter}: {@code m/2 + uniform[0, m/2]}, done in integers as
 * {@code m - uniform[0, floor(m/2)]}, which is uniform on {@code [ceil(m/2), m]}.
 */
record EqualJitterBackoff(long baseNanos, long capNanos) implements BuiltInBackoff {

  @Override
  public Schedule start(RandomGenerator random) {
    return startAt(1, random);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new EqualJitterSchedule(FullJitterBackoff.ceilingNanos(baseNanos, capNanos, attempt), capNanos, random);
  }

  @Override
  public String toString() {
    return "Backoff.equalJitter(base=" + Duration.ofNanos(baseNanos) + ", cap=" + Duration.ofNanos(capNanos) + ")";
  }

  private static final class EqualJitterSchedule implements Schedule {
    private final long capNanos;
    private final RandomGenerator random;
    private long ceiling; // invariant: 1 <= ceiling <= cap

    EqualJitterSchedule(long ceiling, long capNanos, RandomGenerator random) {
      this.ceiling = ceiling;
      this.capNanos = capNanos;
      this.random = random;
    }

    @Override
    public long nextDelayNanos() {
      long m = ceiling;
      ceiling = FullJitterBackoff.nextCeiling(m, capNanos);
      return m - Randoms.uniform(random, 0, m >>> 1);
    }
  }
}
