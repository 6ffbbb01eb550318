package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.ratelimit.Rate;
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
 * debt bound {@link #MAX_DEBT}: 2^52 units. Exactness therefore holds for every rate accepted, at
 * Redis's microsecond tick: for 10 per second the unit is one microsecond, for 3 per second it is
 * a third of one (the interval is 333,333⅓ µs, never rounded). A rate is accepted when its unit is
 * at least 2^-40 µs: always when it has at most {@link #MAX_PERMITS} permits per period in lowest
 * terms. The debt bound also limits how far reservations may queue: {@link #maxReservationMicros}
 * is {@code max(1 hour, refill time)}, but never more than {@code (2^52 - 2 tau) / scale} µs.
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
  /** Reservations may queue one hour ahead (more if one refill takes longer), room permitting. */
  static final long MIN_RESERVATION_MICROS = 3_600_000_000L;
  /** Every rate with at most this many permits per period, in lowest terms, fits: 2^40 / 1000. */
  static final long MAX_PERMITS = MAX_SCALE / 1000;

  /** The rate, as configured (for the local fallback and messages). */
  final Rate rate;
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

  private RedisRate(Rate rate, long interval, long scale, int burst) {
    this.rate = rate;
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
   * @throws IllegalArgumentException if the rate needs a unit finer than 2^-40 µs
   * @throws NullPointerException if {@code rate} is null
   */
  static void checkRate(Rate rate) {
    units(rate);
  }

  /** {@code of(Rate.of(permits, period), burst)}. */
  static RedisRate of(long permits, Duration period, int burst) {
    return of(Rate.of(permits, period), burst);
  }

  /**
   * Returns {@code rate} with a capacity of {@code burst}, in units.
   *
   * @throws IllegalArgumentException see {@link #checkRate}, or if {@code burst < 1} or its refill
   *     time exceeds 2^50 units
   */
  static RedisRate of(Rate rate, int burst) {
    long[] ns = units(rate);
    Checks.atLeast(burst, 1, "burst");
    long maxBurst = MAX_TAU / ns[0];
    if (burst > maxBurst) {
      throw Checks.invalid(
          "burst",
          String.format(Locale.ROOT, "at most %d at %s (the refill time must stay below 2^50 units of 1/%d µs)",
              maxBurst, rate, ns[1]),
          burst);
    }
    return new RedisRate(rate, ns[0], ns[1], burst);
  }

  /**
   * Returns {interval, scale}: the interval {@code period / permits} as interval/scale µs, in
   * lowest terms. The scale is {@code p × 1000 / gcd(t, 1000)} for the rate {@code p} per
   * {@code t} ns in lowest terms, so it is at most 2^40 whenever {@code p} is at most
   * {@link #MAX_PERMITS}.
   */
  private static long[] units(Rate rate) {
    long permits = rate.permits();
    long periodNanos = rate.period().toNanos(); // < 2^63: checked by Rate
    long g = gcd(permits, periodNanos);
    long p = permits / g;
    long t = periodNanos / g;
    // interval = t / (1000 p) microseconds; remove what t and 1000 share.
    long g2 = gcd(t, 1000);
    long interval = t / g2;
    long scaleFactor = 1000 / g2;
    if (p > MAX_SCALE / scaleFactor) {
      throw Checks.invalid("rate", "at most " + MAX_PERMITS + " permits per period in lowest terms (more need a"
          + " time unit finer than the script's 2^-40 µs)", rate);
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
    return rate + ", burst " + burst;
  }
}
