package dev.shepherd.backoff;

import java.util.Arrays;

/**
 * The two fleet-spread checks, with thresholds derived here from a false-failure probability.
 *
 * <p>Setting: N clients each draw one delay, independently, uniformly from the integers of
 * {@code [0, W]}. The window is cut into {@code slices} slices of equal width; {@code W + 1} is a
 * multiple of {@code slices}, so each slice holds exactly {@code (W + 1) / slices} integers and a
 * client lands in a given slice with probability exactly {@code p = 1 / slices}.
 *
 * <ol>
 *   <li><b>Slice counts.</b> The count of one slice is Binomial(N, p). {@link #sliceBound} returns
 *       the smallest b with {@code P(Binomial(N, p) > b) <= alpha / slices}, computed from the exact
 *       binomial law (pmf by the recurrence {@code pmf(k + 1) = pmf(k) (N - k) p / ((k + 1)(1 - p))},
 *       tail summed from the top). By the union bound over the slices, a correct implementation
 *       has some slice above b with probability at most alpha. The Chernoff bound
 *       {@code P(X >= a) <= exp(-N KL(a/N || p))} is computed beside it as a cross-check.
 *   <li><b>Kolmogorov–Smirnov.</b> With {@code D = sup |F_N(x) - x|} for the sample scaled to
 *       [0, 1), the Dvoretzky–Kiefer–Wolfowitz inequality with Massart's constant gives
 *       {@code P(sqrt(N) D > x) <= 2 exp(-2 x^2)} for any distribution, so
 *       {@code x = sqrt(ln(2 / alpha) / 2)} has false-failure probability at most alpha. The
 *       sample is discrete (steps of {@code 1 / (W + 1)}), so its true CDF differs from the
 *       continuous uniform one by at most {@code 1 / (W + 1)}, which is added to the threshold.
 * </ol>
 *
 * <p>For N = 10,000, 50 slices (p = 1/50, mean 200 per slice, standard deviation 14):
 * <ul>
 *   <li>alpha = 1e-9: b = 299, with {@code P(X > 299) = 1.62e-11}, so {@code 50 P(X > 299) = 8.1e-10
 *       < 1e-9}; b = 298 would give {@code 50 P(X > 298) = 1.23e-9}, too much. Chernoff alone would
 *       give 306. So no slice may receive more than 299 clients, 1.495 times the ideal N/50.
 *   <li>alpha = 5e-10 for KS (strictly below 1e-9): {@code x = 3.3249}, threshold
 *       {@code D <= 0.033249 + 1/(W+1)}.
 * </ul>
 */
final class FleetStatistics {

  private FleetStatistics() {}

  /** Smallest b with {@code P(Binomial(n, 1/slices) > b) <= alpha / slices}, from the exact law. */
  static int sliceBound(int n, int slices, double alpha) {
    double[] tail = binomialUpperTails(n, 1.0 / slices);
    double target = alpha / slices;
    for (int b = 0; b <= n; b++) {
      if (tail[b + 1] <= target) {
        return b;
      }
    }
    return n;
  }

  /** {@code tail[k] = P(Binomial(n, p) >= k)}, for k in [0, n + 1]. */
  static double[] binomialUpperTails(int n, double p) {
    double[] pmf = new double[n + 1];
    pmf[0] = Math.exp(n * Math.log1p(-p)); // 0.98^10000 = 1e-88: still a normal double
    for (int k = 0; k < n; k++) {
      pmf[k + 1] = pmf[k] * (n - k) / (k + 1) * p / (1 - p);
    }
    double[] tail = new double[n + 2];
    for (int k = n; k >= 0; k--) {
      tail[k] = tail[k + 1] + pmf[k]; // from the top: no cancellation
    }
    return tail;
  }

  /** Smallest a with the Chernoff bound {@code exp(-n KL(a/n || p)) <= alpha / slices}. */
  static int chernoffSliceBound(int n, int slices, double alpha) {
    double p = 1.0 / slices;
    double target = Math.log(alpha / slices);
    for (int a = (int) Math.ceil(n * p) + 1; a < n; a++) {
      double q = (double) a / n;
      double kl = q * Math.log(q / p) + (1 - q) * Math.log((1 - q) / (1 - p));
      if (-n * kl <= target) {
        return a;
      }
    }
    return n;
  }

  /** The DKW–Massart threshold on D: {@code sqrt(ln(2 / alpha) / 2) / sqrt(n)}. */
  static double ksThreshold(int n, double alpha) {
    return Math.sqrt(Math.log(2 / alpha) / 2) / Math.sqrt(n);
  }

  /** The largest number of samples in one of {@code slices} equal slices of {@code [0, window]}. */
  static int maxSliceCount(long[] samples, long window, int slices) {
    long width = checkedSliceWidth(window, slices);
    int[] counts = new int[slices];
    for (long s : samples) {
      if (s < 0 || s > window) {
        throw new AssertionError("sample outside [0, " + window + "]: " + s);
      }
      counts[(int) (s / width)]++;
    }
    return Arrays.stream(counts).max().orElse(0);
  }

  /** The Kolmogorov–Smirnov distance between the sample scaled by {@code 1/(window+1)} and U[0, 1). */
  static double ksDistance(long[] samples, long window) {
    double[] u = new double[samples.length];
    for (int i = 0; i < samples.length; i++) {
      u[i] = samples[i] / (window + 1.0);
    }
    Arrays.sort(u);
    int n = u.length;
    double d = 0;
    for (int i = 0; i < n; i++) {
      d = Math.max(d, Math.max((i + 1.0) / n - u[i], u[i] - (double) i / n));
    }
    return d;
  }

  /** Whether a fleet's delays pass both checks at false-failure probability alpha each. */
  static boolean slicesPass(long[] samples, long window, int slices, double alpha) {
    return maxSliceCount(samples, window, slices) <= sliceBound(samples.length, slices, alpha);
  }

  /** Whether the fleet's delays pass the KS test against the uniform law on [0, window]. */
  static boolean ksPasses(long[] samples, long window, double alpha) {
    return ksDistance(samples, window) <= ksThreshold(samples.length, alpha) + 1 / (window + 1.0);
  }

  private static long checkedSliceWidth(long window, int slices) {
    if ((window + 1) % slices != 0) {
      throw new IllegalArgumentException("window + 1 must be a multiple of slices: " + window);
    }
    return (window + 1) / slices;
  }
}
