package dev.shepherd.ratelimit;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.time.Duration;
import java.util.Locale;

/**
 * A rate: {@code permits} per {@code period}, an exact rational number of permits per nanosecond.
 *
 * <pre>{@code
 * Rate connect = Rate.of(100, Duration.ofSeconds(1));   // "100 per 1 s"
 * Rate.of(3, Duration.ofSeconds(1)).equals(Rate.of(6, Duration.ofSeconds(2)))   // true
 * Rate.perSecond(0.1)                                   // "1 per 10 s", exactly
 * }</pre>
 *
 * <p>Every limiter of this package and of {@code ratelimit-redis} takes its rate as a {@code Rate}
 * and never rounds it: 3 per second admits exactly three permits in every second, for ever.
 *
 * <ul>
 *   <li><b>Range.</b> From one permit per 2^60 ns (36 years) to one permit per nanosecond
 *       (10^9 per second).
 *   <li><b>Equality</b> is by the stream of permits admitted, not by how the rate was written:
 *       {@code 3 per 1 s} equals {@code 6 per 2 s}; {@link #hashCode()} agrees.
 *   <li><b>{@link #toString()}</b> reads back what was written, with the period in its largest
 *       whole unit: {@code "100 per 1 s"}, {@code "6 per 1 min"}, {@code "5 per 1500 ms"}.
 *   <li><b>From a {@code double}</b> ({@link #perSecond(double)}): see there for exactly which
 *       values are read exactly.
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class Rate {

  /*
   * Arithmetic. In lowest terms the rate is `scale` permits per `intervalUnits` nanoseconds, so the
   * emission interval is intervalUnits / scale ns. The limiters count time in units of 1 / scale
   * ns: a ticker reading (nanos * scale) and the interval (intervalUnits) are then integers, and so
   * is every theoretical arrival time; nothing is ever rounded. For 10 per second scale is 1 (the
   * interval is 100 ms); for 3 per second it is 3 (the interval is 10^9 / 3 ns).
   */

  /** The largest burst tolerance, in units: 2^60 units, 36 years when {@code scale == 1}. */
  static final long MAX_TAU = 1L << 60;
  /**
   * The largest debt (theoretical arrival time minus now) any bucket may carry, in units. Each
   * bucket uses a tighter bound of its own, {@link #horizon(long)}.
   */
  static final long HORIZON = 1L << 61;
  /** Reservations may queue this far ahead (more when one refill takes longer): 1 hour. */
  static final long MIN_RESERVATION_NANOS = 3_600_000_000_000L;

  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  private static final BigInteger BILLION = BigInteger.valueOf(NANOS_PER_SECOND);
  private static final BigInteger BIG_MAX_TAU = BigInteger.valueOf(MAX_TAU);

  /** Units per nanosecond, at least 1: the numerator in lowest terms. */
  final long scale;
  /** The emission interval in units, at least {@code scale}: the denominator, in nanoseconds. */
  final long intervalUnits;
  /** The permits as written. */
  private final long permits;
  /** The period as written. */
  private final Duration period;

  private Rate(long permits, Duration period, long scale, long intervalUnits) {
    this.permits = permits;
    this.period = period;
    this.scale = scale;
    this.intervalUnits = intervalUnits;
  }

  /**
   * Returns {@code permits} per {@code period}, exactly.
   *
   * @param permits the permits per period, at least 1
   * @param period the period, positive and shorter than about 292 years
   * @return the rate
   * @throws IllegalArgumentException if either is not positive, the period is too long, or the
   *     rate is faster than one permit per nanosecond or slower than one per 2^60 ns (36 years)
   * @throws NullPointerException if {@code period} is null
   */
  public static Rate of(long permits, Duration period) {
    Checks.positive(permits, "permits");
    Checks.positive(period, "period");
    long periodNanos = Durations.toNanosSaturated(period);
    Checks.check(periodNanos < Long.MAX_VALUE, "period", "at most " + Duration.ofNanos(Long.MAX_VALUE - 1), period);
    String written = permits + " per " + formatPeriod(period);
    if (permits > periodNanos) {
      throw Checks.invalid("rate", "at most one permit per nanosecond (10^9 per second)", written);
    }
    long g = gcd(permits, periodNanos);
    if (periodNanos / g > MAX_TAU) {
      throw Checks.invalid("rate", "at least one permit per " + Duration.ofNanos(MAX_TAU), written);
    }
    return new Rate(permits, period, permits / g, periodNanos / g);
  }

  /**
   * Returns the rate meant by {@code permitsPerSecond}, read exactly whenever it can be.
   *
   * <p>The {@code double} is read as the simplest fraction {@code p / q} (smallest {@code q}, then
   * {@code p}) that rounds to it, that is {@code p} permits per {@code q} seconds, and that fraction
   * is used exactly whenever its emission interval, in lowest terms, fits 2^60 time units (always
   * when {@code q} is at most 1,152,921,504). What the caller wrote is therefore read exactly for:
   * <ul>
   *   <li>every integer from 1 to 10^9: {@code 999_999_937.0} is 999,999,937 per second, not one
   *       per nanosecond;
   *   <li>every fraction {@code p / q} with {@code q} below 2,048, evaluated in {@code double}:
   *       {@code 1.0 / 3} is one per 3 s, {@code 2.5} five per 2 s; so every decimal with at most
   *       three digits after the point ({@code 0.1} is one per 10 s).
   * </ul>
   * Other doubles (the result of arithmetic, such as {@code 0.1 + 0.2}, or a decimal with many
   * places) are read as the simplest fraction that rounds to them when that fits, so the rate
   * still rounds back to the same {@code double}; otherwise as the last continued-fraction
   * convergent of the double's exact value whose interval fits 2^60 units, within a relative
   * 2^-59 of it.
   *
   * @param permitsPerSecond the rate, positive, finite and at most 10^9
   * @return the rate, written {@code p per q s} (or {@code p per q ns} when approximated)
   * @throws IllegalArgumentException if the rate is not positive and finite, is above 10^9 per
   *     second, or is slower than one permit per 2^60 ns
   */
  public static Rate perSecond(double permitsPerSecond) {
    Checks.positiveFinite(permitsPerSecond, "permitsPerSecond");
    Checks.check(permitsPerSecond <= 1e9, "permitsPerSecond", "at most 1e9 (one per nanosecond)", permitsPerSecond);
    // The open interval of reals that round to this double.
    BigDecimal value = new BigDecimal(permitsPerSecond);
    BigDecimal lo = value.add(new BigDecimal(Math.nextDown(permitsPerSecond))).divide(BigDecimal.valueOf(2));
    BigDecimal hi = value.add(new BigDecimal(Math.nextUp(permitsPerSecond))).divide(BigDecimal.valueOf(2));
    BigInteger[] pq = simplestBetween(fraction(lo), fraction(hi));
    // p/q permits per second is q * 10^9 / p nanoseconds per permit.
    BigInteger num = pq[1].multiply(BILLION);
    BigInteger g = num.gcd(pq[0]);
    if (num.divide(g).compareTo(BIG_MAX_TAU) <= 0) {
      long p = pq[0].longValueExact();
      long q = pq[1].longValueExact(); // q * 10^9 / g <= 2^60, g <= p <= 10^9 q: q < 2^60
      return new Rate(p, Duration.ofSeconds(q), p / g.longValueExact(), num.divide(g).longValueExact());
    }
    // Too complex: the last continued-fraction convergent h / k of the exact interval 10^9 / r ns
    // with h <= 2^60. Its error is below 1 / (k * k'), k' the next convergent's denominator.
    BigInteger[] exact = fraction(value);
    BigInteger in = exact[1].multiply(BILLION);
    BigInteger id = exact[0];
    BigInteger h0 = BigInteger.ONE;
    BigInteger h1 = BigInteger.ZERO;
    BigInteger k0 = BigInteger.ZERO;
    BigInteger k1 = BigInteger.ONE;
    while (id.signum() != 0) {
      BigInteger a = in.divide(id);
      BigInteger h = a.multiply(h0).add(h1);
      BigInteger k = a.multiply(k0).add(k1);
      if (h.compareTo(BIG_MAX_TAU) > 0) {
        break;
      }
      h1 = h0;
      h0 = h;
      k1 = k0;
      k0 = k;
      BigInteger rest = in.subtract(a.multiply(id));
      in = id;
      id = rest;
    }
    if (k0.signum() == 0) {
      throw Checks.invalid(
          "permitsPerSecond", "at least one permit per " + Duration.ofNanos(MAX_TAU), permitsPerSecond);
    }
    long k = k0.longValueExact();
    long h = h0.longValueExact();
    return new Rate(k, Duration.ofNanos(h), k, h);
  }

  /**
   * Returns the permits per {@link #period()}, as written.
   *
   * @return the permits, at least 1
   */
  public long permits() {
    return permits;
  }

  /**
   * Returns the period of {@link #permits()} permits, as written.
   *
   * @return the period, positive
   */
  public Duration period() {
    return period;
  }

  /**
   * Returns the rate in permits per second, rounded to the nearest {@code double}: for display and
   * for arithmetic that tolerates rounding; the limiters never use it.
   *
   * @return permits per second, positive
   */
  public double permitsPerSecond() {
    return new BigDecimal(scale).multiply(BigDecimal.valueOf(NANOS_PER_SECOND))
        .divide(new BigDecimal(intervalUnits), MathContext.DECIMAL128).doubleValue();
  }

  /**
   * Returns whether {@code o} is a rate that admits the same stream of permits: the same
   * permits per nanosecond, whatever the period it was written with.
   *
   * @param o another object
   * @return {@code true} when both are the same rational number of permits per nanosecond
   */
  @Override
  public boolean equals(Object o) {
    return o instanceof Rate && ((Rate) o).scale == scale && ((Rate) o).intervalUnits == intervalUnits;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(scale) * 31 + Long.hashCode(intervalUnits);
  }

  /**
   * Returns the rate as written, for example {@code "100 per 1 s"}, {@code "6 per 1 min"} or
   * {@code "5 per 1500 ms"}: the period in the largest unit (d, h, min, s, ms, µs, ns) that
   * measures it exactly.
   *
   * @return the rate as written
   */
  @Override
  public String toString() {
    return permits + " per " + formatPeriod(period);
  }

  // ---- package-private arithmetic ----

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

  /** Returns the emission interval in nanoseconds, rounded up to a whole nanosecond. */
  long intervalNanosCeil() {
    return toNanosCeil(intervalUnits);
  }

  static long gcd(long a, long b) {
    while (b != 0) {
      long t = a % b;
      a = b;
      b = t;
    }
    return a;
  }

  /** Formats a period in the largest unit that measures it exactly: "1 s", "1500 ms", "3 h". */
  static String formatPeriod(Duration period) {
    long nanos = Durations.toNanosSaturated(period);
    long[] sizes = {86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, NANOS_PER_SECOND, 1_000_000L, 1_000L};
    String[] names = {"d", "h", "min", "s", "ms", "µs"};
    if (nanos == Long.MAX_VALUE) {
      return period.toString(); // beyond 292 years: rare, and no unit is exact anyway
    }
    for (int i = 0; i < sizes.length; i++) {
      if (nanos % sizes[i] == 0) {
        return nanos / sizes[i] + " " + names[i];
      }
    }
    return nanos + " ns";
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
