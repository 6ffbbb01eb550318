package dev.shepherd.ratelimit;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * A rate in lowest terms, held as the fixed-point arithmetic of every bucket in this package needs
 * it: the emission interval (nanoseconds per permit) is {@code intervalUnits / scale} nanoseconds,
 * where both are positive integers with no common factor.
 *
 * <p>Time is counted in <em>units</em> of {@code 1 / scale} nanoseconds. In units, both a ticker
 * reading ({@code nanos * scale}) and the emission interval ({@code intervalUnits}) are integers, so
 * a theoretical arrival time, which is always "an integer nanosecond plus a whole number of
 * intervals", is an integer too: no rounding ever happens, so nothing drifts. {@code scale} is the
 * smallest unit count that achieves this: for 10 per second it is 1 (the interval is 100 ms), for 3
 * per second it is 3 (the interval is 10^9 / 3 ns).
 *
 * <p>Immutable.
 */
final class Rate {

  /** The fastest rate accepted: one permit per nanosecond, 10^9 per second. */
  static final double MAX_PER_SECOND = 1e9;
  /**
   * The largest debt (theoretical arrival time minus now) any bucket may carry, in units. Each
   * bucket uses a tighter bound of its own, {@link #horizon(long)}.
   */
  static final long HORIZON = 1L << 61;
  /** Reservations may always queue this far ahead (more when one refill takes longer): 1 hour. */
  static final long MIN_RESERVATION_NANOS = 3_600_000_000_000L;
  /** The largest burst tolerance, in units: 2^60 units, 36 years when {@code scale == 1}. */
  static final long MAX_TAU = 1L << 60;

  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  private static final BigInteger BILLION = BigInteger.valueOf(NANOS_PER_SECOND);
  /** The largest scale a rate given as a {@code double} may use: 2^20 units per nanosecond. */
  private static final BigInteger MAX_DOUBLE_SCALE = BigInteger.ONE.shiftLeft(20);

  /** Units per nanosecond, at least 1. */
  final long scale;
  /** The emission interval in units, at least {@code scale} (at most one permit per nanosecond). */
  final long intervalUnits;

  private Rate(long scale, long intervalUnits) {
    this.scale = scale;
    this.intervalUnits = intervalUnits;
  }

  /**
   * Returns {@code permits} per {@code period}, reduced to lowest terms.
   *
   * @throws IllegalArgumentException if either is not positive, the period is longer than about 292
   *     years, or the rate is faster than one permit per nanosecond or slower than one per 2^60 ns
   *     (36 years)
   */
  static Rate of(long permits, Duration period) {
    Checks.positive(permits, "permits");
    Checks.positive(period, "period");
    long periodNanos = Durations.toNanosSaturated(period);
    Checks.check(periodNanos < Long.MAX_VALUE, "period", "at most " + Duration.ofNanos(Long.MAX_VALUE - 1), period);
    if (permits > periodNanos) {
      throw Checks.invalid(
          "rate",
          "at most one permit per nanosecond (10^9 per second)",
          permits + " per " + period);
    }
    long g = gcd(permits, periodNanos);
    if (periodNanos / g > MAX_TAU) {
      throw Checks.invalid("rate", "at least one permit per " + Duration.ofNanos(MAX_TAU), permits + " per " + period);
    }
    return new Rate(permits / g, periodNanos / g);
  }

  /**
   * Returns the rate meant by {@code permitsPerSecond}: the simplest fraction (smallest denominator,
   * then numerator) that rounds to the given {@code double}. So 3.0 is exactly 3 per second, 0.1
   * exactly one per 10 s and {@code 1.0 / 3} exactly one per 3 s, although none of those rates is an
   * exact binary fraction. When that fraction needs a scale above 2^20, the rate is instead the
   * closest continued-fraction convergent of the interval with a denominator of at most 2^20.
   *
   * @throws IllegalArgumentException if the rate is not positive and finite, is above 10^9 per
   *     second, or is too slow to represent
   */
  static Rate perSecond(double permitsPerSecond) {
    Checks.positiveFinite(permitsPerSecond, "permitsPerSecond");
    Checks.check(permitsPerSecond <= MAX_PER_SECOND,
        "permitsPerSecond", "at most 1e9 (one per nanosecond)", permitsPerSecond);
    // The open interval of reals that round to this double.
    BigDecimal value = new BigDecimal(permitsPerSecond);
    BigDecimal lo = value.add(new BigDecimal(Math.nextDown(permitsPerSecond))).divide(BigDecimal.valueOf(2));
    BigDecimal hi = value.add(new BigDecimal(Math.nextUp(permitsPerSecond))).divide(BigDecimal.valueOf(2));
    BigInteger[] pq = simplestBetween(fraction(lo), fraction(hi));
    // p/q permits per second is q * 10^9 / p nanoseconds per permit.
    BigInteger num = pq[1].multiply(BILLION);
    BigInteger den = pq[0];
    BigInteger g = num.gcd(den);
    num = num.divide(g);
    den = den.divide(g);
    if (den.compareTo(MAX_DOUBLE_SCALE) <= 0 && num.compareTo(BigInteger.valueOf(MAX_TAU)) <= 0) {
      return new Rate(den.longValueExact(), num.longValueExact());
    }
    // Not a simple fraction (the result of arithmetic, say): take the last continued-fraction
    // convergent of the exact interval 10^9 / r ns whose denominator is at most 2^20. It lies within
    // 2^-20 ns of the double's interval.
    BigInteger[] exact = fraction(value);
    BigInteger in = exact[1].multiply(BILLION);
    BigInteger id = exact[0];
    BigInteger h0 = BigInteger.ONE;
    BigInteger h1 = BigInteger.ZERO;
    BigInteger k0 = BigInteger.ZERO;
    BigInteger k1 = BigInteger.ONE;
    long bestScale = 0;
    long bestInterval = 0;
    while (id.signum() != 0) {
      BigInteger a = in.divide(id);
      BigInteger h = a.multiply(h0).add(h1);
      BigInteger k = a.multiply(k0).add(k1);
      if (k.compareTo(MAX_DOUBLE_SCALE) > 0 || h.compareTo(BigInteger.valueOf(MAX_TAU)) > 0) {
        break;
      }
      bestScale = k.longValueExact();
      bestInterval = h.longValueExact();
      h1 = h0;
      h0 = h;
      k1 = k0;
      k0 = k;
      BigInteger rest = in.subtract(a.multiply(id));
      in = id;
      id = rest;
    }
    if (bestScale == 0) {
      throw Checks.invalid(
          "permitsPerSecond", "at least one permit per " + Duration.ofNanos(MAX_TAU), permitsPerSecond);
    }
    return new Rate(bestScale, bestInterval);
  }

  /**
   * Returns the burst tolerance, in units, of a bucket holding {@code burst} permits.
   *
   * @throws IllegalArgumentException if {@code burst < 1} or the burst would take longer than
   *     {@link #MAX_TAU} units to refill
   */
  long tauForBurst(int burst) {
    Checks.atLeast(burst, 1, "burst");
    long maxBurst = MAX_TAU / intervalUnits;
    if (burst > maxBurst) {
      throw Checks.invalid(
          "burst",
          String.format(Locale.ROOT, "at most %d at %s (refill time at most 2^60 units)", maxBurst, this),
          burst);
    }
    return burst * intervalUnits;
  }

  /**
   * Returns the largest debt, in units, a bucket with burst tolerance {@code tau} may carry: tau
   * itself plus reservations queued up to {@code max(tau, 1 hour)} ahead, at most {@link #HORIZON}.
   * A debt read above it can only be an ancient state whose distance wrapped (read as "full"); the
   * tighter it is, the rarer and smaller a phantom debt after an over-long idle period.
   */
  long horizon(long tau) {
    return Math.min(HORIZON, Durations.saturatedAdd(tau, Math.max(tau, toUnits(MIN_RESERVATION_NANOS))));
  }

  /**
   * Returns how stale a bucket's write stamp may be, in nanoseconds, before it is refreshed: one
   * second, or less when the horizon is shorter, so that (with {@link #staleAfterNanos}) every idle
   * gap that could wrap into a phantom debt is recognised. At least 1.
   */
  long stampSlackNanos(long horizon) {
    return Math.max(1, Math.min(NANOS_PER_SECOND, toNanosCeil(horizon)));
  }

  /**
   * Returns the idle time, in nanoseconds, after which no debt can be real: a state written at
   * reading t_w carries a debt of at most {@code horizon} units, gone by t_w + horizon / scale, and
   * the write stamp is at most {@code slack} older than t_w.
   */
  long staleAfterNanos(long horizon) {
    return Durations.saturatedAdd(toNanosCeil(horizon), stampSlackNanos(horizon));
  }

  /** Returns {@code nanos} nanoseconds in units, saturated at {@link Long#MAX_VALUE}. */
  long toUnits(long nanos) {
    return Durations.saturatedMultiply(nanos, scale);
  }

  /** Returns the nanoseconds needed to cover {@code units} (positive), rounded up. */
  long toNanosCeil(long units) {
    if (scale == 1) { // a whole-nanosecond interval, the common case: no division
      return units;
    }
    long q = units / scale;
    return q * scale == units ? q : q + 1;
  }

  /** Returns the permits per period in lowest terms: the numerator. */
  long permits() {
    return scale;
  }

  /** Returns the period, in lowest terms, of {@link #permits()} permits. */
  Duration period() {
    return Duration.ofNanos(intervalUnits);
  }

  /** Returns the emission interval in nanoseconds, rounded up to a whole nanosecond. */
  long intervalNanosCeil() {
    return toNanosCeil(intervalUnits);
  }

  /** Returns the rate as a {@code double}, for display. */
  double perSecond() {
    return (double) scale * NANOS_PER_SECOND / intervalUnits;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Rate && ((Rate) o).scale == scale && ((Rate) o).intervalUnits == intervalUnits;
  }

  @Override
  public int hashCode() {
    return Objects.hash(scale, intervalUnits);
  }

  @Override
  public String toString() {
    return scale + " per " + period();
  }

  static long gcd(long a, long b) {
    while (b != 0) {
      long t = a % b;
      a = b;
      b = t;
    }
    return a;
  }

  private static BigInteger[] fraction(BigDecimal d) {
    BigInteger num = d.unscaledValue();
    BigInteger den = BigInteger.ONE;
    if (d.scale() > 0) {
      den = BigInteger.TEN.pow(d.scale());
    } else {
      num = num.multiply(BigInteger.TEN.pow(-d.scale()));
    }
    return new BigInteger[] {num, den};
  }

  /**
   * The simplest fraction strictly between two positive fractions {@code lo < hi} (continued
   * fractions: the classic algorithm that also underlies Stern-Brocot search).
   *
   * @return {numerator, denominator}
   */
  static BigInteger[] simplestBetween(BigInteger[] lo, BigInteger[] hi) {
    // Represent the answer as a continued fraction; h/k are the convergents' numerator/denominator.
    BigInteger h0 = BigInteger.ONE;
    BigInteger h1 = BigInteger.ZERO;
    BigInteger k0 = BigInteger.ZERO;
    BigInteger k1 = BigInteger.ONE;
    BigInteger ln = lo[0];
    BigInteger ld = lo[1];
    BigInteger hn = hi[0];
    BigInteger hd = hi[1];
    boolean hiInfinite = false;
    for (;;) {
      BigInteger a = ln.divide(ld); // floor(lo), lo >= 0
      BigInteger term;
      boolean done;
      if (hiInfinite || a.add(BigInteger.ONE).multiply(hd).compareTo(hn) < 0) {
        term = a.add(BigInteger.ONE); // a + 1 lies strictly inside (lo, hi)
        done = true;
      } else if (a.multiply(ld).equals(ln)) {
        // lo is the integer a and hi <= a + 1: the answer is a + 1/x with x > 1/(hi - a).
        BigInteger[] inv = {hd, hn.subtract(a.multiply(hd))};
        BigInteger x = inv[0].divide(inv[1]).add(BigInteger.ONE);
        BigInteger[] next = step(a, h0, h1, k0, k1);
        BigInteger[] fin = step(x, next[0], next[1], next[2], next[3]);
        return new BigInteger[] {fin[0], fin[2]};
      } else {
        term = a;
        done = false;
      }
      BigInteger[] next = step(term, h0, h1, k0, k1);
      h1 = next[1];
      h0 = next[0];
      k1 = next[3];
      k0 = next[2];
      if (done) {
        return new BigInteger[] {h0, k0};
      }
      // Recurse on (1/(hi - a), 1/(lo - a)); hi - a may be >= 1 only when the branch above fired.
      BigInteger nln = hd;
      BigInteger nld = hn.subtract(a.multiply(hd));
      BigInteger nhn = ld;
      BigInteger nhd = ln.subtract(a.multiply(ld));
      ln = nln;
      ld = nld;
      hn = nhn;
      hd = nhd;
      hiInfinite = nhd.signum() == 0;
    }
  }

  private static BigInteger[] step(BigInteger a, BigInteger h0, BigInteger h1, BigInteger k0, BigInteger k1) {
    return new BigInteger[] {a.multiply(h0).add(h1), h0, a.multiply(k0).add(k1), k0};
  }
}
