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
 * with {@link Math#scalb}, which saturates to infinity, so the result is a finite number, or
 * infinity, which counts as "above the cap"; never NaN. The schedule's state is the previous
 * uniform, not the previous value of {@code g}, so nothing grows with n. The factor {@code F >= 0}
 * because {@code t_n >= n - 1 > t_(n-1)} and {@code pow}, {@code sqrt} and {@code tanh} are
 * semi-monotonic in Java; a defensive {@code max(0, ...)} remains.
 *
 * <p>For {@code t >= 92}, {@code tanh(sqrt(4t))} is 1 in double precision (its distance to 1 is
 * below 5e-17) and is taken as exactly 1. Then {@code F >= 2 - 2^U_(n-1) >= (1 - U_(n-1)) ln 2},
 * so when {@code 2^(n-2) * scale * (1 - U_(n-1)) / 2} already reaches the cap, the delay is capped
 * without computing F: the common case of a long-capped schedule costs two draws and no {@code pow}.
 * This shortcut never changes a result: it only skips a computation whose outcome it has proven.
 */
record DecorrelatedJitterV2Backoff(long medianFirstDelayNanos, long capNanos) implements BuiltInBackoff {

  /** Polly's pFactor: smooths the first delays. */
  private static final double P_FACTOR = 4.0;
  /** Polly's rpScalingFactor: puts median delays near median * 1, 2, 4, ... */
  private static final double SCALING = 1 / 1.4;
  /** From here on tanh(sqrt(4t)) is 1 in double precision. */
  private static final int TANH_SATURATED = 92;

  /**
   * The delay before retry {@code attempt}, given the uniforms behind it.
   *
   * @param attempt n, {@code >= 1}
   * @param previousU U_(n-1); ignored when {@code attempt == 1} (then g(t_0) = 0)
   * @param u U_n
   * @param scale {@code median / 1.4} in nanoseconds
   * @param capNanos the cap
   * @param random draws the spread when the formula reaches the cap
   */
  static long delayNanos(int attempt, double previousU, double u, double scale, long capNanos, RandomGenerator random) {
    double capAsDouble = capNanos;
    int k = attempt - 2; // the common power of two, 2^(n-2); -1 for the first retry
    double f;
    if (k < TANH_SATURATED) {
      double next = 2 * Math.pow(2, u) * Math.tanh(Math.sqrt(P_FACTOR * (attempt - 1 + u)));
      double prev = attempt == 1 ? 0 : Math.pow(2, previousU) * Math.tanh(Math.sqrt(P_FACTOR * (k + previousU)));
      f = next - prev;
    } else {
      if (Math.scalb(scale * (1 - previousU) * 0.5, k) >= capAsDouble) {
        return spreadBelowCap(capNanos, random);
      }
      f = 2 * Math.pow(2, u) - Math.pow(2, previousU);
    }
    double raw = Math.scalb(scale * Math.max(0, f), k);
    if (!(raw < capAsDouble)) {
      return spreadBelowCap(capNanos, random);
    }
    return Math.min(capNanos, (long) raw);
  }

  /** A capped delay: uniform on {@code [ceil(cap/2), cap]}, never the cap for everyone. */
  static long spreadBelowCap(long capNanos, RandomGenerator random) {
    return capNanos - Randoms.uniform(random, 0, capNanos >>> 1);
  }

  double scale() {
    return medianFirstDelayNanos * SCALING;
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new V2Schedule(1, 0, scale(), capNanos, random);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    // U_(n-1) is a fresh uniform, so the positioned schedule has exactly the right distribution.
    double previousU = attempt == 1 ? 0 : random.nextDouble();
    return new V2Schedule(attempt, previousU, scale(), capNanos, random);
  }

  @Override
  public String toString() {
    return "Backoff.decorrelatedJitterV2(medianFirstDelay=" + Duration.ofNanos(medianFirstDelayNanos)
        + ", cap=" + Duration.ofNanos(capNanos) + ")";
  }

  private static final class V2Schedule implements Schedule {
    private final double scale;
    private final long capNanos;
    private final RandomGenerator random;
    private int attempt; // saturates at Integer.MAX_VALUE, where every delay is long capped anyway
    private double previousU;

    V2Schedule(int attempt, double previousU, double scale, long capNanos, RandomGenerator random) {
      this.attempt = attempt;
      this.previousU = previousU;
      this.scale = scale;
      this.capNanos = capNanos;
      this.random = random;
    }

    @Override
    public long nextDelayNanos() {
      int n = attempt;
      if (n != Integer.MAX_VALUE) {
        attempt = n + 1;
      }
      double u = random.nextDouble();
      double p = previousU;
      previousU = u;
      return delayNanos(n, p, u, scale, capNanos, random);
    }
  }
}
