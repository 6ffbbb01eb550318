package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Locale;

/**
 * A rate and burst in the integer arithmetic the Lua script uses: time in <em>units</em> of
 * {@code 1 / scale} microseconds, in which the emission interval ({@code interval}) and the burst
 * tolerance ({@code tau = burst × interval}) are whole numbers.
 *
 * <p>Redis's {@code TIME} has microsecond resolution, and Lua numbers in Redis are IEEE doubles,
 * exact for integers below 2^53. A theoretical arrival time is kept in Redis as a whole number of
 * microseconds plus a remainder in units, so no quantity the script multiplies ever exceeds the
 * debt bound {@link #horizon}: at most 2^52 units. Exactness therefore holds for every rate, at
 * Redis's microsecond tick: for 10 per second the unit is one microsecond, for 3 per second it is
 * a third of one (the interval is 333,333⅓ µs, never rounded).
 *
 * <p>Immutable.
 */
final class RedisRate {

  /** The largest burst tolerance, in units: 2^50 (35 years at one unit per microsecond). */
  static final long MAX_TAU = 1L << 50;
  /** The largest scale (units per microsecond): 2^40. */
  static final long MAX_SCALE = 1L << 40;
  /** The largest debt, in units, any state may carry: 2^52, leaving a factor 2 below 2^53. */
  static final long MAX_DEBT = 1L << 52;
  /** Reservations may always queue one hour ahead (more if one refill takes longer). */
  static final long MIN_RESERVATION_MICROS = 3_600_000_000L;

  /** The configured permits per period, as given (for the local fallback). */
  final long permits;
  /** The configured period, as given (for the local fallback). */
  final Duration period;
  /** The emission interval in units. */
  final long interval;
  /** Units per microsecond. */
  final long scale;
  /** The burst. */
  final int burst;
  /** The burst tolerance in units: {@code burst × interval}. */
  final long tau;
  /** The longest wait a reservation may be granted, in microseconds. */
  final long maxReservationMicros;

  private RedisRate(long permits, Duration period, long interval, long scale, int burst) {
    this.permits = permits;
    this.period = period;
    this.interval = interval;
    this.scale = scale;
    this.burst = burst;
    this.tau = burst * interval;
    long refillMicros = ceilDiv(tau, scale);
    // Debt never exceeds maxReservation * scale + tau (a granted wait, then its cost); see the script.
    long room = (MAX_DEBT - 2 * tau) / scale;
    this.maxReservationMicros = Math.min(Math.max(refillMicros, MIN_RESERVATION_MICROS), room);
  }

  /**
   * Validates a rate alone (for builder setters), so a bad rate fails where it is set.
   *
   * @throws IllegalArgumentException if {@code permits <= 0}, {@code period} is not positive or
   *     longer than about 292 years, the rate exceeds one permit per nanosecond, or it needs a
   *     unit finer than 2^-40 µs
   * @throws NullPointerException if {@code period} is null
   */
  static void checkRate(long permits, Duration period) {
    units(permits, period);
  }

  /**
   * Returns {@code permits} per {@code period} with a capacity of {@code burst}, in units.
   *
   * @throws IllegalArgumentException see {@link #checkRate}, or if {@code burst < 1} or its refill
   *     time exceeds 2^50 units
   */
  static RedisRate of(long permits, Duration period, int burst) {
    long[] ns = units(permits, period);
    Checks.atLeast(burst, 1, "burst");
    long maxBurst = MAX_TAU / ns[0];
    if (burst > maxBurst) {
      throw Checks.invalid(
          "burst",
          String.format(Locale.ROOT, "at most %d at %d per %s (the refill time must stay below 2^50 units of 1/%d µs)",
              maxBurst, permits, period, ns[1]),
          burst);
    }
    return new RedisRate(permits, period, ns[0], ns[1], burst);
  }

  /** Returns {interval, scale}: the interval {@code period / permits} as interval/scale µs, in lowest terms. */
  private static long[] units(long permits, Duration period) {
    Checks.positive(permits, "permits");
    Checks.positive(period, "period");
    long periodNanos = Durations.toNanosSaturated(period);
    Checks.check(periodNanos < Long.MAX_VALUE, "period", "at most " + Duration.ofNanos(Long.MAX_VALUE - 1), period);
    if (permits > periodNanos) {
      throw Checks.invalid("rate", "at most one permit per nanosecond (10^9 per second)", permits + " per " + period);
    }
    long g = gcd(permits, periodNanos);
    long p = permits / g;
    long t = periodNanos / g;
    // interval = t / (1000 p) microseconds; remove what t and 1000 share.
    long g2 = gcd(t, 1000);
    long interval = t / g2;
    long scaleFactor = 1000 / g2;
    if (p > MAX_SCALE / scaleFactor) {
      throw Checks.invalid("rate", "expressible in units of at least 2^-40 µs", permits + " per " + period);
    }
    return new long[] {interval, p * scaleFactor};
  }

  /** Returns the permits a request may ask for at most: the burst. */
  int maxPermits() {
    return burst;
  }

  static long ceilDiv(long x, long y) {
    long q = x / y;
    return q * y == x ? q : q + 1;
  }

  static long gcd(long a, long b) {
    while (b != 0) {
      long r = a % b;
      a = b;
      b = r;
    }
    return a;
  }

  @Override
  public String toString() {
    return permits + " per " + period + ", burst " + burst;
  }
}
