package dev.shepherd.backoff;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * How a client honours a server's retry-after hint: never earlier than asked, and spread above it,
 * so a fleet told "come back in 30 s" does not come back in one instant.
 *
 * <p>A hint {@code h}, first clamped to {@code [0, max]}, becomes a wait drawn uniformly from the
 * integers {@code [h, h + width]} (nanoseconds), with {@code width = max(h·spread, minJitter)}. The
 * {@code minJitter} term spreads a fleet told "come back now" ({@code h = 0}) too. Arithmetic
 * saturates at {@link Long#MAX_VALUE}; nothing overflows.
 *
 * <p>{@link Retry} and {@link Reconnector} apply this rule to every hint they see (their builders set
 * its three parameters); use it directly in a client that reads hints itself. Immutable and
 * thread-safe; the random generator passed to {@link #waitNanos(long, RandomGenerator)} belongs to
 * the caller.
 */
public final class RetryAfterJitter {

  private final double spread;
  private final long minJitterNanos;
  private final long maxNanos;

  private RetryAfterJitter(double spread, long minJitterNanos, long maxNanos) {
    this.spread = spread;
    this.minJitterNanos = minJitterNanos;
    this.maxNanos = maxNanos;
  }

  /**
   * Returns the rule with the given parameters.
   *
   * @param spread the jitter above a hint as a fraction of it, zero or more and finite (0.2 adds up
   *     to 20 %)
   * @param minJitter the least jitter width, zero or more
   * @param max the largest hint honoured; longer hints are clamped to it
   * @return the rule
   * @throws IllegalArgumentException if {@code spread} is negative, NaN or infinite, or a duration
   *     is negative
   * @throws NullPointerException if a duration is null
   */
  public static RetryAfterJitter of(double spread, Duration minJitter, Duration max) {
    Checks.check(spread >= 0 && spread != Double.POSITIVE_INFINITY, "spread", "zero or positive and finite", spread);
    return new RetryAfterJitter(spread,
        Durations.toNanosSaturated(Checks.nonNegative(minJitter, "minJitter")),
        Durations.toNanosSaturated(Checks.nonNegative(max, "max")));
  }

  /**
   * Returns {@code hintNanos} clamped to {@code [0, max]}.
   *
   * @param hintNanos a hint in nanoseconds
   * @return the hint this rule honours
   */
  public long clampNanos(long hintNanos) {
    return Math.min(Math.max(hintNanos, 0L), maxNanos);
  }

  /**
   * Returns the jitter width above a clamped hint: {@code max(h·spread, minJitter)}, saturated.
   *
   * @param hintNanos the hint in nanoseconds; clamped first
   * @return the width in nanoseconds
   */
  public long widthNanos(long hintNanos) {
    double scaled = clampNanos(hintNanos) * spread;
    long width = scaled >= 0x1p63 ? Long.MAX_VALUE : (long) scaled;
    return Math.max(width, minJitterNanos);
  }

  /**
   * Draws the wait for a hint: uniform on {@code [h, h + width(h)]} after clamping {@code h}.
   *
   * @param hintNanos the server's hint in nanoseconds
   * @param random the jitter source
   * @return the wait in nanoseconds, at least the clamped hint
   * @throws NullPointerException if {@code random} is null
   */
  public long waitNanos(long hintNanos, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    long h = clampNanos(hintNanos);
    long width = widthNanos(h);
    long jitter = width == 0 ? 0 : width == Long.MAX_VALUE ? random.nextLong(width) : random.nextLong(width + 1);
    return Durations.saturatedAdd(h, jitter);
  }

  /**
   * Draws the wait for a hint given as a duration.
   *
   * @param hint the server's hint
   * @param random the jitter source
   * @return the wait, at least the clamped hint
   * @throws NullPointerException if an argument is null
   */
  public Duration wait(Duration hint, RandomGenerator random) {
    return Duration.ofNanos(waitNanos(Durations.toNanosSaturated(Objects.requireNonNull(hint, "hint")), random));
  }

  @Override
  public String toString() {
    return "RetryAfterJitter{spread=" + spread + ", minJitter=" + Duration.ofNanos(minJitterNanos)
        + ", max=" + Duration.ofNanos(maxNanos) + "}";
  }
}
