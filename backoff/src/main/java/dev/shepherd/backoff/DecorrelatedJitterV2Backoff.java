package dev.shepherd.backoff;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * {@link Backoff#decorrelatedJitterV2}: Polly's "decorrelated jitter v2" (formula by George
 * Polevoy, scaling by Dylan Reisenberger), with a cap that keeps capped delays spread.
 *
 * <h2>How it is computed without overflow, in O(1)</h2>
 *
 * <p>The formula is {@code g(t) = 2^t * tanh(sqrt(4t))} with {@code t_n = n - 1 + U_n}; the delay
 * before retry n is {@code (g(t_n) - g(t_(n-1))) * median / 1.4}, with {@code g(t_0) = 0}. Computed
 * literally, {@code 2^t} overflows to infinity near t = 1024 and {@code infinity - infinity} is NaN
 * (Polly's issue 2163). Here the common power of two is factored out:
 *
 * <pre>
 *   g(t_n) - g(t_(n-1)) = 2^(n-2) * F,
 *   F = 2 * 2^U_n * tanh(sqrt(4 t_n)) - 2^U_(n-1) * tanh(sqrt(4 t_(n-1)))
 * </pre>
 *
 * <p>F lies in [0, 4) and is computed from the two uniforms alone; {@code 2^(n-2)} is applied last
 * and saturates to infinity, so the result is a finite number, or
 * infinity, which counts as "above the cap"; never NaN. The schedule's state is the previous
 * uniform (and its term), not the previous value of {@code g}, so nothing grows with n. The factor
 * {@code F >= 0} because {@code 2 * 2^U_n >= 2 >= 2^U_(n-1)} and {@code t_n >= n - 1 > t_(n-1)},
 * and the functions below are non-decreasing ({@link Math#exp} and {@link Math#sqrt} are
 * semi-monotonic); a defensive {@code max(0, ...)} absorbs the last ulp.
 *
 * <h2>Speed</h2>
 *
 * <p>The term {@code 2^U * tanh(sqrt(4 t))} of one retry is the previous-term of the next one, so
 * the schedule keeps it: one exponential-and-tanh evaluation per delay. {@code 2^U} is computed as
 * {@code exp(U ln 2)} and {@code tanh(x)} as {@code (1 - e^(-2x)) / (1 + e^(-2x))}, both on the
 * intrinsic {@link Math#exp} (the JDK's {@code tanh} and {@code pow} are several times slower);
 * both are non-decreasing in their argument, which keeps F non-negative, and their rounding
 * differs from the library functions' by a few ulps, far below a nanosecond of delay.
 *
 * <p>For {@code t >= 92}, {@code tanh(sqrt(4t))} is 1 in double precision (its distance to 1 is
 * below 5e-17) and is taken as exactly 1.
 *
 * <p>From the third retry on ({@code k = n - 2 >= 1}), {@code tanh(sqrt(4 t_(n-1))) >= tanh(2) >
 * 0.96}, so {@code F >= 0.96 (2 - 2^U_(n-1)) >= 0.96 ln 2 (1 - U_(n-1)) > (1 - U_(n-1)) / 2}. When
 * {@code 2^k * scale * (1 - U_(n-1)) / 2} already reaches the cap, the delay is capped without
 * computing F; and from the k where this holds even for the largest {@code U_(n-1) = 1 - 2^-53},
 * no test is needed at all. A capped schedule thus costs one uniform, one bounded draw and a few
 * comparisons. These shortcuts only skip computations whose outcome (for the real-number formula)
 * they have proven. Powers of two are built from their bit pattern: exact, and infinite (never
 * NaN) past 2^1023.
 */
record DecorrelatedJitterV2Backoff(long medianFirstDelayNanos, long capNanos) implements BuiltInBackoff {

  /** Polly's pFactor: smooths the first delays. */
  private static final double P_FACTOR = 4.0;
  /** Polly's rpScalingFactor: puts median delays near median * 1, 2, 4, ... */
  private static final double SCALING = 1 / 1.4;
  /** From here on tanh(sqrt(4t)) is 1 in double precision. */
  private static final int TANH_SATURATED = 92;
  private static final double LN_2 = Math.log(2);

  /** {@code 2^u * tanh(sqrt(4 (whole + u)))}: the term of g(whole + u) left after 2^whole. */
  static double term(int whole, double u) {
    double twoToU = Math.exp(u * LN_2);
    if (whole >= TANH_SATURATED) {
      return twoToU;
    }
    double e = Math.exp(-2 * Math.sqrt(P_FACTOR * (whole + u))); // tanh(x) = (1 - e^-2x) / (1 + e^-2x)
    return twoToU * ((1 - e) / (1 + e));
  }

  /**
   * {@code 2^k} exactly, for {@code k >= -1}; infinity from k = 1024 on. Multiplying by it is what
   * {@link Math#scalb} does, without its general-case cost.
   */
  static double powerOfTwo(int k) {
    return k > Double.MAX_EXPONENT ? Double.POSITIVE_INFINITY : Double.longBitsToDouble((k + 1023L) << 52);
  }

  /** A capped delay: uniform on {@code [ceil(cap/2), cap]}, never the cap for everyone. */
  static long spreadBelowCap(long capNanos, RandomGenerator random) {
    return capNanos - Randoms.uniform(random, 0, capNanos >>> 1);
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new V2Schedule(this, 1, 0, 0, random);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    // U_(n-1) is a fresh uniform, so the positioned schedule has exactly the right distribution.
    double previousU = attempt == 1 ? 0 : random.nextDouble();
    return new V2Schedule(this, attempt, previousU, Double.NaN, random);
  }

  @Override
  public String toString() {
    return "Backoff.decorrelatedJitterV2(medianFirstDelay=" + Duration.ofNanos(medianFirstDelayNanos)
        + ", cap=" + Duration.ofNanos(capNanos) + ")";
  }

  private static final class V2Schedule implements Schedule {
    private final double scale; // median / 1.4, in nanoseconds
    private final double halfScale;
    private final long capNanos;
    private final double capAsDouble;
    /** From this k = n - 2 on, every delay is capped, whatever U_(n-1) (see the class notes). */
    private final int alwaysCapped;
    private final RandomGenerator random;
    private int attempt; // n; saturates at Integer.MAX_VALUE, where every delay is long capped
    private double previousU; // U_(n-1)
    private double previousTerm; // term(n - 2, U_(n-1)), or NaN when not computed yet

    V2Schedule(DecorrelatedJitterV2Backoff backoff, int attempt, double previousU, double previousTerm,
        RandomGenerator random) {
      this.scale = backoff.medianFirstDelayNanos * SCALING;
      this.halfScale = scale * 0.5;
      this.capNanos = backoff.capNanos;
      this.capAsDouble = capNanos;
      // halfScale * 2^-53 * 2^k >= cap once getExponent(halfScale * 2^-53) + k > getExponent(cap).
      this.alwaysCapped = Math.max(1,
          Math.getExponent(capAsDouble) + 1 - Math.getExponent(halfScale * 0x1p-53));
      this.attempt = attempt;
      this.previousU = previousU;
      this.previousTerm = previousTerm;
      this.random = random;
    }

    @Override
    public long nextDelayNanos() {
      int n = attempt;
      if (n != Integer.MAX_VALUE) {
        attempt = n + 1;
      }
      double u = random.nextDouble();
      double pu = previousU;
      previousU = u;
      if (n - 2 >= alwaysCapped) { // the hot path of a long-capped schedule: kept small to inline
        previousTerm = Double.NaN;
        return spreadBelowCap(capNanos, random);
      }
      return formula(n, u, pu);
    }

    private long formula(int n, double u, double pu) {
      int k = n - 2; // the common power of two is 2^(n-2); -1 for the first retry
      double pt = previousTerm;
      previousTerm = Double.NaN;
      if (k >= 1 && halfScale * (1 - pu) * powerOfTwo(k) >= capAsDouble) {
        return spreadBelowCap(capNanos, random);
      }
      double next = term(n - 1, u);
      previousTerm = next;
      double previous = n == 1 ? 0 : Double.isNaN(pt) ? term(k, pu) : pt;
      double raw = scale * Math.max(0, 2 * next - previous) * powerOfTwo(k);
      if (!(raw < capAsDouble)) {
        return spreadBelowCap(capNanos, random);
      }
      return Math.min(capNanos, (long) raw);
    }
  }
}
