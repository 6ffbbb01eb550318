package dev.shepherd.backoff;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * {@link Backoff#exponential}: {@code min(cap, base * multiplier^(n - 1))}, never below base.
 *
 * <p>The growing term is a {@code double}; once it reaches the cap the schedule stops multiplying,
 * so it never becomes infinite or NaN however long the schedule runs.
 */
record ExponentialBackoff(long baseNanos, double multiplier, long capNanos) implements BuiltInBackoff {

  /**
   * The unjittered exponential delay before retry {@code attempt}: {@code base * multiplier^(attempt
   * - 1)} in double precision, truncated to nanoseconds and kept within {@code [base, cap]}. O(1);
   * {@link Math#pow} saturates to infinity, which the cap absorbs.
   */
  static long delayNanos(long baseNanos, double multiplier, long capNanos, int attempt) {
    return clamp(baseNanos * Math.pow(multiplier, attempt - 1.0), baseNanos, capNanos);
  }

  /** {@code term} truncated to nanoseconds within {@code [base, cap]}; the cast saturates. */
  static long clamp(double term, long baseNanos, long capNanos) {
    return Math.max(baseNanos, Math.min(capNanos, (long) term));
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new ExponentialSchedule(baseNanos, multiplier, capNanos, baseNanos);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new ExponentialSchedule(
        baseNanos, multiplier, capNanos, baseNanos * Math.pow(multiplier, attempt - 1.0));
  }

  @Override
  public String toString() {
    return "Backoff.exponential(base=" + Duration.ofNanos(baseNanos) + ", multiplier=" + multiplier
        + ", cap=" + Duration.ofNanos(capNanos) + ")";
  }

  /** The growing term of an exponential schedule, shared by the plain and the gRPC policy. */
  static final class Growth {
    private final long baseNanos;
    private final double multiplier;
    private final long capNanos;
    private final double capAsDouble;
    private double term; // base * multiplier^(n - 1); multiplied only while below the cap

    Growth(long baseNanos, double multiplier, long capNanos, double term) {
      this.baseNanos = baseNanos;
      this.multiplier = multiplier;
      this.capNanos = capNanos;
      this.capAsDouble = capNanos;
      this.term = term;
    }

    /** Returns the current term within {@code [base, cap]} and moves to the next one. */
    long next() {
      double current = term;
      if (current >= capAsDouble) {
        return capNanos; // capped: stop multiplying, so the term never overflows to infinity
      }
      term = current * multiplier; // multiplier >= 1 keeps the sequence non-decreasing
      return clamp(current, baseNanos, capNanos);
    }
  }

  private static final class ExponentialSchedule implements Schedule {
    private final Growth growth;

    ExponentialSchedule(long baseNanos, double multiplier, long capNanos, double term) {
      this.growth = new Growth(baseNanos, multiplier, capNanos, term);
    }

    @Override
    public long nextDelayNanos() {
      return growth.next();
    }
  }
}
